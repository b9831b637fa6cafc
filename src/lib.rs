//! hubferry: moves model and dataset repositories between the Hugging Face Hub and ModelScope.
//!
//! `main` parses the command line, builds the [`printer::Printer`], starts the tokio runtime,
//! dispatches to one command and maps its outcome to an exit code ([`error`]): 0 done and
//! verified, 1 failed or not verified, 2 bad input, 3 credentials/permission, 4 partial,
//! 130 interrupted.

pub mod across_repos;
pub mod cards;
pub mod cli;
mod cli_examples;
pub mod color;
pub mod commands;
pub mod completions;
pub mod consent;
pub mod cookie_jar;
pub mod cost;
pub mod credentials;
pub mod engine;
pub mod error;
pub mod events;
pub mod hub;
pub mod interrupt;
#[cfg(test)]
mod layering;
pub mod leash;
pub mod lock;
pub mod log_replay;
pub mod manifest;
pub mod mcp;
pub mod mirrors_file;
pub mod org_plan;
pub mod plan;
pub mod preflight;
pub mod printer;
pub mod provenance;
pub mod render;
pub mod repo_outcomes;
pub mod repo_ref;
pub mod report;
pub mod revisions;
pub mod run_dirs;
pub mod run_records;
pub mod schemas;
pub mod selection;
pub mod settings;
pub mod summary;
pub mod tls;
pub mod tools;
pub mod totals;
pub mod tty_echo;
pub mod type_check;
pub mod verify;
pub mod workers;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{classify, ExitStatus};
use crate::printer::{OutputMode, Printer};

/// Runs the CLI with `args` (program name first) and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == leash::ARG) {
        return leash::run(&args[2..]);
    }
    leash::enable();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr itself.
            let _ = err.print();
            if !err.use_stderr() {
                return ExitCode::SUCCESS;
            }
            // Scripts and agents reading `--json` get the usage error as the one object on stdout,
            // like every other error (the flags could not be parsed, so look for it by hand).
            if args.iter().any(|a| a == "--json") {
                let detail = err.to_string();
                let message = detail.lines().next().unwrap_or_default();
                let error = schemas::ErrorObject::new(
                    ExitStatus::BadInput.code(),
                    message.trim_start_matches("error: "),
                    vec![],
                    Some("see `hubferry --help` or `hubferry COMMAND --help`".into()),
                );
                Printer::new(OutputMode::Json, true, false, true).json(&error.to_value());
            }
            return ExitCode::from(ExitStatus::BadInput.code());
        }
    };
    color::apply(cli.global.color);
    let mode = if cli.global.json {
        OutputMode::Json
    } else {
        OutputMode::Human
    };
    let printer = Printer::new(
        mode,
        cli.global.quiet,
        cli.global.verbose,
        cli.global.no_progress,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            printer.error(
                &format!("could not start the async runtime: {err}"),
                &[],
                None,
            );
            return ExitCode::from(ExitStatus::Failure.code());
        }
    };
    let outcome = runtime.block_on(async {
        interrupt::install(printer.clone());
        commands::run(cli, printer.clone()).await
    });
    // Children (modal, python) are awaited by the commands; don't wait on stray blocking tasks.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match outcome {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            let (status, hint) = classify(&err);
            let causes: Vec<String> = err.chain().skip(1).map(|c| c.to_string()).collect();
            printer.error(&err.to_string(), &causes, hint.as_deref());
            if printer.json_mode() {
                let error =
                    schemas::ErrorObject::new(status.code(), &err.to_string(), causes, hint);
                printer.json(&error.to_value());
            }
            ExitCode::from(status.code())
        }
    }
}
