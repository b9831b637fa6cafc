//! `hubferry apply PLAN.jsonl [--jobs N]`: carries out a plan file line by line
//! (crate::org_plan), then the summary table; exit status by `batch`'s rule.

use std::sync::Arc;

use super::Context;
use crate::cli::ApplyArgs;
use crate::engine;
use crate::error::ExitStatus;
use crate::org_plan::{apply_all, read_plan};
use crate::repo_outcomes::{overall, print_summary};
use crate::settings::{apply_run_options, load_credentials};

pub async fn run(ctx: &Context, args: ApplyArgs) -> anyhow::Result<ExitStatus> {
    let p = &ctx.printer;
    let opts = apply_run_options(&args, ctx.state_flag.clone())?;
    let lines = read_plan(&args.plan)?;
    engine::check_backend(&opts)?;
    let creds = Arc::new(load_credentials()?);
    p.redact(&creds.secrets());
    let moving = lines.iter().filter(|l| l.action.moves()).count();
    p.status(&format!(
        "apply: {} repositories ({moving} to create or update), {} at a time",
        lines.len(),
        args.jobs
    ));
    let outcomes = apply_all(p, creds, opts, lines, args.jobs).await?;
    let status = overall(&outcomes);
    print_summary(p, "apply_report", &outcomes, status);
    if crate::interrupt::interrupted() {
        return Ok(ExitStatus::Interrupted);
    }
    Ok(status)
}
