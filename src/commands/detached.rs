//! `runs`, `logs RUN [-f]`, `status RUN`, `stop RUN`: everything about detached runs after launch.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Context;
use crate::cli::{LogsArgs, RunArg};
use crate::engine::watch::{watch, WatchOptions};
use crate::error::{CliError, ExitStatus};
use crate::printer::Tone;
use crate::report::{ReportContext, Tracker};
use crate::run_records;
use crate::schemas::{AppState, RunObject, RunProgressObject, RunStatusObject, RunStoppedObject};
use crate::tools;
use crate::verify::destination as verify;
use crate::workers::{self, Children};

pub async fn list(ctx: &Context) -> anyhow::Result<ExitStatus> {
    let mut records = run_records::list(&ctx.state_dir()?)?;
    let p = &ctx.printer;
    refresh_running(ctx, &mut records).await;
    if p.json_mode() {
        for r in &records {
            p.json(&serde_json::to_value(RunObject {
                kind: "run".into(),
                run_id: r.run_id.clone(),
                created_at: r.created_at,
                state: r.state.clone(),
                source: r.source.clone(),
                dest: r.dest.clone(),
                backend: r.backend.clone(),
                app_ids: r.app_ids.clone(),
            })?);
        }
        return Ok(ExitStatus::Success);
    }
    if records.is_empty() {
        p.out("no detached runs recorded (start one with `hubferry migrate … --detach`)");
        return Ok(ExitStatus::Success);
    }
    p.out(&format!(
        "{:<16} {:<9} {:<10} {}",
        "RUN", "AGE", "STATE", "SOURCE → DEST"
    ));
    let now = run_records::now_s();
    for r in &records {
        p.out(&format!(
            "{:<16} {:<9} {:<10} {} → {}",
            r.run_id,
            crate::printer::human_duration((now - r.created_at).max(0.0)),
            r.state,
            r.source,
            r.dest
        ));
    }
    Ok(ExitStatus::Success)
}

pub async fn logs(ctx: &Context, args: LogsArgs) -> anyhow::Result<ExitStatus> {
    let state = &ctx.state_dir()?;
    let mut record = run_records::load(state, &args.run)?;
    let modal = tools::modal()?;
    let p = &ctx.printer;
    if let Ok(creds) = crate::credentials::Credentials::from_env() {
        p.redact(&creds.secrets());
    }
    if !p.json_mode() {
        p.status(&format!(
            "{} {} → {} ({})",
            p.paint(&record.run_id, Tone::Bold),
            record.source,
            record.dest,
            record.app_ids.join(", ")
        ));
    }
    let started = std::time::Instant::now();
    let (tx, rx) = mpsc::unbounded_channel();
    let children = Children::default();
    // The history by time range, then (with -f) the live stream: see log_replay for why.
    let handle = crate::log_replay::start(
        modal.clone(),
        record.app_ids.clone(),
        record.jobs.clone(),
        crate::log_replay::history_start(record.created_at),
        args.follow,
        tx,
        children.clone(),
    );
    let note = format!(
        "the run keeps going on Modal; follow it again with `hubferry logs {} -f`, stop it with `hubferry stop {}`",
        record.run_id, record.run_id
    );
    let outcome = watch(
        p,
        rx,
        &children,
        Tracker::expecting(record.jobs.clone()),
        WatchOptions {
            per_job_bars: record.jobs.len() > 1,
            ended_means_failed: args.follow,
            interrupt_note: Some(note),
            workers_keep_running: true,
            ..Default::default()
        },
    )
    .await;
    let _ = handle.await;
    if outcome.interrupted {
        return Ok(ExitStatus::Interrupted);
    }
    let done = outcome.tracker.all_done();
    if !done && !args.follow {
        let (bytes_done, bytes_total) = outcome.tracker.bytes();
        let finished = outcome
            .tracker
            .jobs
            .values()
            .filter(|j| j.result.is_some())
            .count();
        // A run stopped with `hubferry stop` is not "running", whatever its workers last said.
        let stopped = record.state == "stopped";
        p.json(&serde_json::to_value(RunProgressObject {
            kind: "run_progress".into(),
            run_id: record.run_id.clone(),
            state: if stopped { "stopped" } else { "running" }.into(),
            jobs_done: finished as u64,
            jobs_total: record.jobs.len() as u64,
            bytes_done,
            bytes_total,
        })?);
        let (state_word, next) = if stopped {
            (
                "stopped",
                "by `hubferry stop`; files already committed stay — re-run the migration to finish it".to_owned(),
            )
        } else {
            (
                "running",
                format!("follow with `hubferry logs {} -f`", record.run_id),
            )
        };
        p.out(&format!(
            "{}: {state_word}, {finished}/{} jobs done, {} of {} ({next})",
            record.run_id,
            record.jobs.len(),
            crate::printer::human_bytes(bytes_done),
            crate::printer::human_bytes(bytes_total),
        ));
        return Ok(ExitStatus::Success);
    }
    let verify_started = std::time::Instant::now();
    let verification = if outcome.tracker.jobs.values().any(|j| j.result.is_some()) {
        Some(verify::from_record(&record.verify).await)
    } else {
        None
    };
    let mut errors = outcome.errors;
    if record.state == "stopped" {
        errors.push("the run was stopped with `hubferry stop`".into());
    }
    let report = outcome.tracker.report(
        ReportContext {
            source: record.source.clone(),
            dest: record.dest.clone(),
            dest_url: record.dest_url.clone(),
            duration_s: report_duration(&outcome.tracker, started.elapsed().as_secs_f64()),
            backend: record.backend.clone(),
            run_id: Some(record.run_id.clone()),
            app_ids: record.app_ids.clone(),
            errors,
            interrupted: false,
            skipped_by_plan: record.skipped_by_plan,
            estimate: serde_json::from_value(record.plan["estimate"].clone()).ok(),
        },
        verification,
    );
    let verify_s = verify_started.elapsed().as_secs_f64();
    report.print(p);
    record_throughput(ctx, state, &record, &outcome.tracker, &report, verify_s);
    record.state = report.status.as_str().to_owned();
    record.report = Some(report.clone());
    run_records::save(state, &record)?;
    Ok(report.exit_status())
}

/// Adds a detached run that ended ok to the throughput history once (the sample carries the run
/// id, so `logs` run again adds nothing). Its wall time runs from the launch to the last worker's
/// result, plus this verification: what an attached run's wall time covers.
fn record_throughput(
    ctx: &Context,
    state: &Path,
    record: &run_records::RunRecord,
    tracker: &Tracker,
    report: &crate::report::Report,
    verify_s: f64,
) {
    use crate::cost::history;
    let platform = |side: &str| {
        serde_json::from_value::<crate::repo_ref::Platform>(record.plan[side]["platform"].clone())
            .ok()
    };
    let (Some(source), Some(dest)) = (platform("source"), platform("dest")) else {
        return;
    };
    let Some(backend) = crate::settings::Backend::from_name(&record.backend) else {
        return;
    };
    let last_result = tracker
        .jobs
        .values()
        .filter_map(|j| j.result_ts)
        .fold(f64::NEG_INFINITY, f64::max);
    let launched = record.launched_at.unwrap_or(record.created_at);
    let Some(sample) = history::Sample::of_run(history::RunMeasure {
        backend: backend.cost_backend(),
        source,
        dest,
        report,
        slowest_worker_s: tracker.worker_seconds().slowest,
        wall_s: last_result - launched + verify_s,
        run_id: Some(record.run_id.clone()),
    }) else {
        return;
    };
    if let Err(err) = history::record_once(state, &sample) {
        ctx.printer.warn(&format!(
            "the run's throughput was not recorded for later ETAs: {err:#}"
        ));
    }
}

/// Wall time of a detached run as the workers saw it (first start to last result), falling back
/// to how long we watched.
fn report_duration(tracker: &Tracker, watched_s: f64) -> f64 {
    let longest = tracker
        .jobs
        .values()
        .filter_map(|j| j.result.as_ref().map(|r| r.duration_s))
        .fold(0.0_f64, f64::max);
    if longest > 0.0 {
        longest
    } else {
        watched_s
    }
}

/// A record says `running` until someone follows or stops the run: ask Modal (one call for all
/// runs) whether their apps still run, and call the ones that do not `ended`, as `status` does.
/// Without an answer from Modal the recorded states stand, with a note saying so.
async fn refresh_running(ctx: &Context, records: &mut [run_records::RunRecord]) {
    let ids: Vec<String> = records
        .iter()
        .filter(|r| r.state == "running")
        .flat_map(|r| r.app_ids.iter().cloned())
        .collect();
    if ids.is_empty() {
        return;
    }
    let states = match tools::modal() {
        Ok(modal) => app_states(&modal, &ids).await,
        Err(e) => Err(e.into()),
    };
    let states = match states {
        Ok(states) => states,
        Err(e) => {
            ctx.printer.status(&format!(
                "states are as recorded: could not ask Modal which apps still run ({e:#})"
            ));
            return;
        }
    };
    for r in records.iter_mut().filter(|r| r.state == "running") {
        let apps: Vec<(String, String)> = states
            .iter()
            .filter(|(app, _)| r.app_ids.contains(app))
            .cloned()
            .collect();
        r.state = current_state(r, &apps);
    }
}

/// A run's state now: `running` while any of its apps runs, else what the record says once a
/// report or a stop was recorded, else `ended` (it finished with nobody following it).
fn current_state(record: &run_records::RunRecord, apps: &[(String, String)]) -> String {
    if apps.iter().any(|(_, s)| app_running(s)) {
        "running".to_owned()
    } else if record.report.is_some() || record.state == "stopped" {
        record.state.clone()
    } else {
        "ended".to_owned()
    }
}

/// Asks `modal app list --json` for the state of each app id.
async fn app_states(modal: &Path, app_ids: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(modal)
            .args(["app", "list", "--json"])
            .envs(workers::CHILD_ENV.iter().copied())
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("`modal app list --json` did not answer within 60 s"))?
    .map_err(|e| anyhow::anyhow!("could not run {}: {e}", modal.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(CliError::new(
            ExitStatus::Failure,
            format!("`modal app list` failed: {}", stderr.trim()),
        )
        .with_hint("check Modal credentials with `hubferry doctor`")
        .into());
    }
    let apps: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    Ok(app_ids
        .iter()
        .map(|id| {
            let state = apps
                .iter()
                .find(|a| a["app_id"] == id.as_str())
                .and_then(|a| a["state"].as_str())
                .unwrap_or("unknown")
                .to_owned();
            (id.clone(), state)
        })
        .collect())
}

fn app_running(state: &str) -> bool {
    !(state.starts_with("stopped") || state == "unknown")
}

pub async fn status(ctx: &Context, args: RunArg) -> anyhow::Result<ExitStatus> {
    let state = &ctx.state_dir()?;
    let record = run_records::load(state, &args.run)?;
    let modal = tools::modal()?;
    let apps = app_states(&modal, &record.app_ids).await?;
    let overall = current_state(&record, &apps);
    let p = &ctx.printer;
    p.json(&serde_json::to_value(RunStatusObject {
        kind: "run_status".into(),
        run_id: record.run_id.clone(),
        state: overall.to_string(),
        source: record.source.clone(),
        dest: record.dest.clone(),
        apps: apps
            .iter()
            .map(|(id, s)| AppState {
                app_id: id.to_string(),
                state: s.to_string(),
            })
            .collect(),
        report: record.report.clone(),
    })?);
    p.out(&format!("{}: {overall}", record.run_id));
    p.out(&format!("  {} → {}", record.source, record.dest));
    for (id, s) in &apps {
        p.out(&format!("  app {id}: {s}"));
    }
    if overall == "ended" {
        p.out(&format!(
            "  the run has ended; see its report with `hubferry logs {}`",
            record.run_id
        ));
    }
    Ok(ExitStatus::Success)
}

pub async fn stop(ctx: &Context, args: RunArg) -> anyhow::Result<ExitStatus> {
    let state = &ctx.state_dir()?;
    let mut record = run_records::load(state, &args.run)?;
    let modal = tools::modal()?;
    let p = &ctx.printer;
    let mut failures = Vec::new();
    // Apps that already ended need no stop (Modal refuses it: "App is already stopped").
    let states = app_states(&modal, &record.app_ids)
        .await
        .unwrap_or_default();
    let mut stopped_any = false;
    for id in &record.app_ids {
        if let Some((_, s)) = states
            .iter()
            .find(|(a, s)| a == id && s.starts_with("stopped"))
        {
            p.status(&format!("Modal app {id} has already ended ({s})"));
            continue;
        }
        stopped_any = true;
        let out = tokio::process::Command::new(&modal)
            .args(["app", "stop", id, "-y"])
            .envs(workers::CHILD_ENV.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| anyhow::anyhow!("could not run {}: {e}", modal.display()))?;
        if out.status.success() {
            p.status(&format!("stopped Modal app {id}"));
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            failures.push(format!("{id}: {stderr}"));
        }
    }
    if !failures.is_empty() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "could not stop run {}: {}",
                record.run_id,
                failures.join("; ")
            ),
        )
        .with_hint("check `hubferry status RUN`, or stop the app with `modal app stop ap-… -y`")
        .into());
    }
    if !stopped_any {
        p.json(&run_stopped(&record));
        p.out(&format!(
            "{} is not running (state: {}); nothing to stop",
            record.run_id, record.state
        ));
        return Ok(ExitStatus::Success);
    }
    record.state = "stopped".into();
    run_records::save(state, &record)?;
    p.json(&run_stopped(&record));
    p.out(&format!(
        "{} stopped; files already committed stay at the destination — re-run the migration to finish it",
        record.run_id
    ));
    Ok(ExitStatus::Success)
}

fn run_stopped(record: &run_records::RunRecord) -> serde_json::Value {
    serde_json::to_value(RunStoppedObject {
        kind: "run_stopped".into(),
        run_id: record.run_id.clone(),
        app_ids: record.app_ids.clone(),
    })
    .unwrap_or_default()
}
