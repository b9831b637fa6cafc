//! One module per command and the dispatch between them. A command reads its arguments into
//! settings, calls the engine or the verifier, and prints; it imports no other command.

mod batch;
mod detached;
mod doctor;
mod download;
mod inventory;
mod mcp;
mod migrate;
mod org_apply;
mod org_plan;
mod parse_events;
mod retire;
mod sync;
mod verify;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::error::ExitStatus;
use crate::printer::Printer;

/// Runs the parsed command line.
pub async fn run(cli: Cli, printer: Printer) -> anyhow::Result<ExitStatus> {
    let ctx = Context {
        printer,
        state_flag: cli.global.state_dir.clone(),
    };
    match cli.command {
        Command::Migrate(args) => migrate::run(&ctx, args).await,
        Command::Batch(args) => batch::run(&ctx, args).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
        Command::Runs => detached::list(&ctx).await,
        Command::Logs(args) => detached::logs(&ctx, args).await,
        Command::Status(args) => detached::status(&ctx, args).await,
        Command::Stop(args) => detached::stop(&ctx, args).await,
        Command::Verify(args) => verify::run(&ctx, args).await,
        Command::Sync(args) => sync::run(&ctx, args).await,
        Command::Retire(args) => retire::run(&ctx, args).await,
        Command::Download(args) => download::run(&ctx, args).await,
        Command::Inventory(args) => inventory::run(&ctx, args).await,
        Command::Plan(args) => org_plan::run(&ctx, args).await,
        Command::Apply(args) => org_apply::run(&ctx, args).await,
        Command::Completions(args) => crate::completions::completions(args.shell),
        Command::Man => crate::completions::man(),
        Command::Mcp => mcp::run(&ctx).await,
        Command::ParseEvents(args) => parse_events::run(&ctx, args).await,
    }
}

/// What every command gets.
#[derive(Clone)]
pub struct Context {
    pub printer: Printer,
    /// `--state-dir` / `$HUBFERRY_STATE_DIR`, if given.
    pub state_flag: Option<PathBuf>,
}

impl Context {
    /// The state directory for detached runs (may not exist yet).
    pub fn state_dir(&self) -> anyhow::Result<PathBuf> {
        crate::run_records::state_dir(self.state_flag.clone())
    }
}
