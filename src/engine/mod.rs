//! Running one plan: render its jobs, start the workers (Modal or local), watch them, verify the
//! destination and build the report ([`execute`]); or launch on Modal and record the run
//! ([`detach`]). The engine takes a printer and [`RunOptions`], never a command's context.

mod chunk_bars;
pub mod detach;
mod print_plan;
pub mod watch;

use std::time::Instant;

use tokio::sync::mpsc;

use crate::credentials::Credentials;
use crate::error::{CliError, ExitStatus};
use crate::plan::{JobTuning, Plan};
use crate::printer::Printer;
use crate::render::{self, AppSettings};
use crate::report::{Report, ReportContext, Tracker};
pub use crate::settings::{Backend, ExecuteMode, RunOptions};
use crate::tools;
use crate::verify::destination::{self as verify, VerifySpec};
use crate::workers::{self, Children};
use watch::{watch, WatchOptions, WatchOutcome};

pub use print_plan::{card_lines, print_plan};

/// Environment variables passed through to workers as they are when set (not secrets).
const PASSTHROUGH_ENV: &[&str] = &["HF_HUB_DISABLE_XET"];

/// The Modal backend needs the `modal` CLI and credentials: say so before any preflight request.
pub fn check_backend(t: &RunOptions) -> anyhow::Result<()> {
    if t.backend == Backend::Modal && !t.dry_run {
        tools::modal()?;
        tools::check_modal_credentials()?;
    }
    Ok(())
}

/// The outcome of running a plan.
pub enum Executed {
    Report(Report),
    Interrupted(Report),
    /// Launched and recorded (`interrupted`: Ctrl-C came during the launch, after the app existed).
    Detached {
        interrupted: bool,
    },
}

/// Worker environment: tokens and endpoints from the credentials, plus a few pass-through flags.
pub fn child_env(creds: &Credentials) -> Vec<(String, String)> {
    let mut env = creds.child_env();
    for name in PASSTHROUGH_ENV {
        if let Ok(value) = std::env::var(name) {
            env.push(((*name).to_owned(), value));
        }
    }
    env
}

/// What every report of `plan` says about where it ran, whether a worker ran or not.
fn report_context(
    plan: &Plan,
    t: &RunOptions,
    source: String,
    dest: String,
    started: Instant,
) -> ReportContext {
    ReportContext {
        source,
        dest,
        dest_url: Some(plan.dest_url.clone()),
        duration_s: started.elapsed().as_secs_f64(),
        backend: t.backend.as_str().into(),
        estimate: Some(plan.transfer.estimate.clone()),
        ..Default::default()
    }
}

/// Renders and runs a plan's jobs, watches them, verifies and builds the report.
pub async fn execute(
    p: &Printer,
    plan: &Plan,
    creds: &Credentials,
    t: &RunOptions,
    job_prefix: &str,
) -> anyhow::Result<Executed> {
    let mode = t.mode;
    let started = Instant::now();
    let source = plan.source.describe();
    let dest = plan.dest.describe();
    let spec = VerifySpec::from_plan(plan);
    // Files moved only because the two listings share no content id (a dataset .jsonl in LFS on
    // ModelScope, inline on HF) are checked by content first: a re-run then starts no worker.
    let settled = !plan.is_noop()
        && mode != ExecuteMode::Mirror
        && crate::verify::pair::settled_by_content(creds, plan).await;
    if plan.is_noop() || settled {
        p.status(&if settled {
            format!(
                "{dest} is up to date: the {} listed without a shared id hold the same bytes (checked by download); nothing to move",
                match plan.transfer.to_move.len() {
                    1 => "1 file".to_owned(),
                    n => format!("{n} files"),
                }
            )
        } else {
            format!("{dest} is up to date: nothing to move")
        });
        let verification = verify::destination(creds, &spec).await;
        let skipped_by_plan = if settled {
            plan.settled_skips()
        } else {
            plan.skipped_outside_jobs()
        };
        let report = Tracker::default().report(
            ReportContext {
                skipped_by_plan,
                ..report_context(plan, t, source, dest, started)
            },
            Some(verification),
        );
        return Ok(Executed::Report(report));
    }
    let jobs = plan.job_files(job_prefix, &JobTuning::for_plan(plan));
    let env = child_env(creds);
    let rendered = render::render(&jobs, &AppSettings::for_env(&env))?;
    if t.detach {
        return detach::detach(p, t, plan, &rendered, &env, spec).await;
    }
    let specs = match t.backend {
        Backend::Local => {
            let python = tools::python().await?;
            rendered
                .job_files
                .iter()
                .zip(&rendered.job_ids)
                .map(|(file, id)| workers::local_worker(&python, rendered.root(), file, id, &env))
                .collect()
        }
        Backend::Modal => {
            let modal = tools::modal()?;
            vec![workers::modal_run(
                &modal,
                &rendered.app_file(),
                &rendered.jobs_file,
                &rendered.job_ids,
                &env,
                false,
            )]
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let children = Children::default();
    let handle = workers::start(specs, t.concurrency, tx, children.clone());
    let note = match t.backend {
        Backend::Modal => "the Modal app is being stopped (this run was not detached); files committed so far stay at the destination — run the same command again to move the rest",
        Backend::Local => "the local workers are being stopped; files committed so far stay at the destination — run the same command again to move the rest",
    };
    let outcome: WatchOutcome = watch(
        p,
        rx,
        &children,
        Tracker::expecting(rendered.job_ids.clone()),
        WatchOptions {
            per_job_bars: mode != ExecuteMode::Batch && rendered.job_ids.len() > 1,
            ended_means_failed: true,
            interrupt_note: Some(note.into()),
            expected_bytes: plan.transfer.bytes_to_move,
            across: t.across.clone(),
            ..Default::default()
        },
    )
    .await;
    let _ = handle.await;
    if t.backend == Backend::Modal && outcome.first_event.is_none() && !outcome.errors.is_empty() {
        return Err(modal_start_error(&outcome.errors).into());
    }
    let verification = if outcome.interrupted {
        None
    } else {
        p.status(&format!("verifying {dest} (listing it again)…"));
        Some(verify::destination(creds, &spec).await)
    };
    let report = outcome.tracker.report(
        ReportContext {
            app_ids: outcome.app_ids,
            errors: outcome.errors,
            interrupted: outcome.interrupted,
            skipped_by_plan: plan.skipped_outside_jobs(),
            ..report_context(plan, t, source, dest, started)
        },
        verification,
    );
    if !outcome.interrupted {
        record_throughput(p, t, plan, &outcome.tracker, &report);
    }
    Ok(if outcome.interrupted {
        Executed::Interrupted(report)
    } else {
        Executed::Report(report)
    })
}

/// Adds a finished run's throughput to the state directory's history, which the next plan's ETA
/// and chunk choice use ([`crate::cost::history`]). Only runs that moved bytes and ended ok count.
fn record_throughput(p: &Printer, t: &RunOptions, plan: &Plan, tracker: &Tracker, report: &Report) {
    use crate::cost::history;
    let Some(sample) = history::Sample::of_run(history::RunMeasure {
        backend: t.backend.cost_backend(),
        source: plan.source.platform,
        dest: plan.dest.platform,
        report,
        slowest_worker_s: tracker.worker_seconds().slowest,
        wall_s: report.duration_s,
        run_id: None,
    }) else {
        return;
    };
    let saved = crate::run_records::state_dir(t.state_flag.clone())
        .and_then(|dir| history::record(&dir, &sample));
    if let Err(err) = saved {
        p.warn(&format!(
            "the run's throughput was not recorded for later ETAs: {err:#}"
        ));
    }
}

/// `modal run` failed before any worker ran: an error naming Modal's message, not a report.
fn modal_start_error(errors: &[String]) -> CliError {
    let text = errors.join("; ");
    // Modal's AuthError texts: "Token missing. Could not authenticate client.", "Token ID or
    // secret is invalid", gRPC UNAUTHENTICATED.
    let lower = text.to_lowercase();
    let auth = ["token", "authenticat", "secret is invalid"]
        .iter()
        .any(|w| lower.contains(w));
    let (status, hint) = if auth {
        (
            ExitStatus::Credentials,
            "check Modal credentials: `modal token new`, or MODAL_TOKEN_ID/MODAL_TOKEN_SECRET (`hubferry doctor` checks them)",
        )
    } else {
        (
            ExitStatus::Failure,
            "check connectivity and credentials with `hubferry doctor`, or run on this machine with --backend local",
        )
    };
    CliError::new(status, format!("the run could not start on Modal: {text}")).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_auth_errors_are_credential_errors() {
        for text in [
            "modal: Token ID or secret is invalid",
            "AuthError: Token missing. Could not authenticate client.",
            "grpc UNAUTHENTICATED",
        ] {
            let err = modal_start_error(&[text.to_owned()]);
            assert_eq!(err.status, ExitStatus::Credentials, "{text}");
        }
        let other = modal_start_error(&["connection refused".to_owned()]);
        assert_eq!(other.status, ExitStatus::Failure);
    }
}
