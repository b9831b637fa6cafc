//! `mcp`: hands stdin/stdout to the MCP server (src/mcp), which runs the other commands as children.

use super::Context;
use crate::error::ExitStatus;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitStatus> {
    crate::mcp::serve(ctx.state_flag.clone(), ctx.printer.clone()).await?;
    Ok(ExitStatus::Success)
}
