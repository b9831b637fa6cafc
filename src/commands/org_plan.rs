//! `hubferry plan OWNER --to HUB[:NS]`: one JSON line per repository of the owner saying what
//! `apply` would do (crate::org_plan). A terminal gets the table instead; redirected (or with
//! `--json`) stdout gets the lines and stderr the table.

use std::io::IsTerminal;
use std::sync::Arc;

use super::Context;
use crate::cli::OrgPlanArgs;
use crate::error::ExitStatus;
use crate::org_plan::{plan_org, plan_table};
use crate::settings::{load_credentials, org_request};

pub async fn run(ctx: &Context, args: OrgPlanArgs) -> anyhow::Result<ExitStatus> {
    let p = &ctx.printer;
    let req = org_request(&args, ctx.state_flag.clone())?;
    let creds = Arc::new(load_credentials()?);
    p.redact(&creds.secrets());
    p.status(&format!(
        "planning {}:{} → {}:{}…",
        req.platform.as_str(),
        req.owner,
        req.to.as_str(),
        req.dest_namespace
    ));
    let lines = plan_org(creds, req).await?;
    let table = plan_table(p, &lines);
    if p.json_mode() {
        for line in &lines {
            p.json(&serde_json::to_value(line)?);
        }
    } else if std::io::stdout().is_terminal() {
        p.out(&table);
    } else {
        for line in &lines {
            p.out(&serde_json::to_string(line)?);
        }
        p.status(&table);
    }
    Ok(ExitStatus::Success)
}
