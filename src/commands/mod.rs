//! One module per command, the dispatch between them, and how a failure becomes an exit code.

mod batch;
mod doctor;
mod download;
mod inventory;
mod launch;
mod mcp;
mod migrate;
mod parse_events;
mod retire;
mod run_admin;
mod sync;
mod verify;
mod verify_pair;
mod watch;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// Exit codes (design.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done and verified.
    Success,
    /// Failed, or not verified.
    Failure,
    /// Bad input (arguments, ids, files).
    BadInput,
    /// Credentials missing or wrong, or no permission.
    Credentials,
    /// Some repositories or chunks failed.
    Partial,
    /// Interrupted by the user.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::Credentials => 3,
            ExitStatus::Partial => 4,
            ExitStatus::Interrupted => 130,
        }
    }

    /// The status a report's exit code stands for.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::BadInput,
            3 => ExitStatus::Credentials,
            4 => ExitStatus::Partial,
            130 => ExitStatus::Interrupted,
            _ => ExitStatus::Failure,
        }
    }
}

/// An error the user can act on: its exit status and an optional `hint:`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub status: ExitStatus,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            hint: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::BadInput, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Maps an error chain to its exit status and the first hint found along it.
pub fn classify(err: &anyhow::Error) -> (ExitStatus, Option<String>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return (e.status, e.hint.clone());
        }
        if let Some(e) = cause.downcast_ref::<crate::preflight::PreflightError>() {
            use crate::preflight::ErrorKind;
            let status = match e.kind() {
                ErrorKind::BadInput | ErrorKind::NotFound => ExitStatus::BadInput,
                ErrorKind::Credentials | ErrorKind::Permission => ExitStatus::Credentials,
                ErrorKind::Network => ExitStatus::Failure,
            };
            return (status, e.hint().map(str::to_owned));
        }
        if let Some(e) = cause.downcast_ref::<crate::repo_ref::RefError>() {
            return (ExitStatus::BadInput, ref_hint(e));
        }
    }
    (ExitStatus::Failure, None)
}

fn ref_hint(err: &crate::repo_ref::RefError) -> Option<String> {
    Some(err.hint())
}

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
        Command::Runs => run_admin::list(&ctx).await,
        Command::Logs(args) => run_admin::logs(&ctx, args).await,
        Command::Status(args) => run_admin::status(&ctx, args).await,
        Command::Stop(args) => run_admin::stop(&ctx, args).await,
        Command::Verify(args) => verify_pair::run(&ctx, args).await,
        Command::Sync(args) => sync::run(&ctx, args).await,
        Command::Retire(args) => retire::run(&ctx, args).await,
        Command::Download(args) => download::run(&ctx, args).await,
        Command::Inventory(args) => inventory::run(&ctx, args).await,
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
        crate::runs::state_dir(self.state_flag.clone())
    }
}
