//! `hubferry migrate`: arguments → settings → preflight → the plan → the engine (run and watch,
//! or detach) → the report.

use std::io::IsTerminal;

use super::Context;
use crate::cli::MigrateArgs;
use crate::engine::{self, ExecuteMode, Executed, RunOptions};
use crate::error::{CliError, ExitStatus};
use crate::plan::Plan;
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
            crate::revisions::run(p, &creds, &req, &set, &opts, "r0").await?
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
    confirm_deletions(&plan, args.transfer.yes)?;
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

/// Deleting destination files needs a yes: `--yes`, or an answer on a terminal.
fn confirm_deletions(plan: &Plan, yes: bool) -> anyhow::Result<()> {
    let n = plan.transfer.to_delete.len();
    if n == 0 || yes {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint_prompt(&format!(
            "delete {n} file(s) at {} that the source does not have? [y/N] ",
            plan.dest.describe()
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    Err(CliError::bad_input(format!(
        "refusing to delete {n} file(s) at {} without confirmation",
        plan.dest.describe()
    ))
    .with_hint("pass --yes to confirm, or drop --delete")
    .into())
}

#[allow(clippy::print_stderr)]
fn eprint_prompt(text: &str) {
    // A prompt is the one stderr write that must not end with a newline.
    eprint!("{text}");
}
