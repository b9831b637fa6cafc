//! `hubferry migrate`: arguments → settings → preflight → the plan → the engine (run and watch,
//! or detach) → the report.

use super::Context;
use crate::cli::MigrateArgs;
use crate::consent::Consent;
use crate::engine::{self, ExecuteMode, Executed, RunOptions};
use crate::error::ExitStatus;
use crate::preflight::preflight;
use crate::settings::{load_credentials, migrate_request, sizing};

pub async fn run(ctx: &Context, mut args: MigrateArgs) -> anyhow::Result<ExitStatus> {
    (args.transfer.detach, args.transfer.dry_run) = (args.detach, args.dry_run);
    let creds = load_credentials()?;
    ctx.printer.redact(&creds.secrets());
    let mut req = migrate_request(
        &args.source,
        args.to,
        args.dest.as_deref(),
        args.repo_type,
        args.revision.clone(),
        &args.transfer,
    )?;
    let revisions = args
        .revisions
        .as_deref()
        .map(crate::revisions::RevisionSet::parse)
        .transpose()?;
    req.sizing = sizing(&args.transfer, ctx.state_flag.clone(), &req)?;
    let opts = RunOptions::from_args(&args.transfer, ExecuteMode::Single, ctx.state_flag.clone())?;
    engine::check_backend(&opts)?;
    let _lock =
        crate::lock::unless_dry_run(ctx.state_flag.clone(), &ctx.printer, &req, opts.dry_run)
            .await?;
    if let Some(set) = revisions {
        let p = &ctx.printer;
        let (source, dest, run) = if opts.dry_run {
            crate::revisions::dry_run(&creds, &req, &set).await?
        } else {
            let consent = Consent::new(
                args.transfer.yes,
                "pass --yes to confirm (--revisions mirrors each branch and tag exactly: files a ref lacks are deleted at the destination), or look first with --dry-run",
            );
            crate::revisions::run(p, &creds, &req, &set, &consent, &opts, "r0").await?
        };
        p.json(&serde_json::to_value(run.json(&source, &dest)).unwrap_or_default());
        run.print(p, &source, &dest);
        return Ok(run.exit);
    }
    let plan = preflight(&req, &creds).await?;
    if opts.dry_run {
        engine::print_plan(&ctx.printer, &plan, true);
        return Ok(ExitStatus::Success);
    }
    engine::print_plan(&ctx.printer, &plan, false);
    Consent::new(args.transfer.yes, "pass --yes to confirm, or drop --delete")
        .deletions(plan.transfer.to_delete.len(), &plan.dest.describe())?;
    match engine::execute(&ctx.printer, &plan, &creds, &opts, "r0").await? {
        Executed::Report(report) => {
            report.print(&ctx.printer);
            crate::summary::for_migrate(&ctx.printer, args.summary.as_deref(), &report)?;
            Ok(report.exit_status())
        }
        Executed::Interrupted(report) => {
            report.print(&ctx.printer);
            Ok(ExitStatus::Interrupted)
        }
        Executed::Detached { interrupted, .. } => Ok(if interrupted {
            ExitStatus::Interrupted
        } else {
            ExitStatus::Success
        }),
    }
}
