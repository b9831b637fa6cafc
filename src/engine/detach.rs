//! `migrate --detach`: start the run on Modal without waiting for it, capture the app id and the
//! first worker event (proof the workers started), and record the run for `logs`/`status`/`stop`.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{Executed, RunOptions};
use crate::engine::watch::{watch, WatchOptions};
use crate::error::{CliError, ExitStatus};
use crate::plan::Plan;
use crate::printer::{Printer, Tone};
use crate::render;
use crate::report::Tracker;
use crate::verify::destination::VerifySpec;
use crate::workers::{self, Children};
use crate::{run_records, tools};

/// How long `modal run --detach` lingers for logs after the entrypoint returned, seconds.
const DETACH_LOGS_TIMEOUT_S: &str = "3";

/// How long a detached launch waits for the first worker event.
const FIRST_EVENT_TIMEOUT: Duration = Duration::from_secs(180);

pub async fn detach(
    p: &Printer,
    opts: &RunOptions,
    plan: &Plan,
    rendered: &render::Rendered,
    env: &[(String, String)],
    spec: VerifySpec,
) -> anyhow::Result<Executed> {
    let state = &run_records::state_dir(opts.state_flag.clone())?;
    let modal = tools::modal()?;
    let launched_at = run_records::now_s();
    // 1. `modal run --detach … --spawn` returns once the coordinating function is spawned.
    let (tx, rx) = mpsc::unbounded_channel();
    let children = Children::default();
    let mut launch = workers::modal_run(
        &modal,
        &rendered.app_file(),
        &rendered.jobs_file,
        &rendered.job_ids,
        env,
        true,
    );
    // After the entrypoint returns, `modal run` keeps streaming the app's logs for up to
    // MODAL_LOGS_TIMEOUT seconds (default 10); a detached launch only needs the first events.
    launch
        .env
        .push(("MODAL_LOGS_TIMEOUT".into(), DETACH_LOGS_TIMEOUT_S.into()));
    let handle = workers::start(vec![launch], 1, tx, children.clone());
    let launched = watch(
        p,
        rx,
        &children,
        Tracker::expecting(rendered.job_ids.clone()),
        WatchOptions {
            interrupt_note: Some(
                "a detached app that was already created keeps running; it is recorded below"
                    .into(),
            ),
            workers_keep_running: true,
            ..Default::default()
        },
    )
    .await;
    let _ = handle.await;
    let code = launched.exits.first().and_then(|(_, c)| *c);
    let Some(app_id) = launched.app_ids.first().cloned() else {
        let mut msg = "`modal run --detach` did not start an app".to_owned();
        if !launched.errors.is_empty() {
            msg.push_str(&format!(": {}", launched.errors.join("; ")));
        }
        return Err(CliError::new(ExitStatus::Failure, msg)
            .with_hint("check Modal credentials and connectivity with `hubferry doctor`")
            .into());
    };
    if code != Some(0) && !launched.interrupted {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "`modal run --detach` failed (exit {}) for app {app_id}: {}",
                code.map_or("signal".into(), |c| c.to_string()),
                launched.errors.join("; ")
            ),
        )
        .with_hint(format!(
            "see `modal app logs {app_id}`; stop it with `modal app stop {app_id} -y`"
        ))
        .into());
    }
    // 2. The first worker event proves the workers started; `modal run` usually streamed it
    // already, else wait for it (bounded) in the app's logs.
    let first_event = match launched.first_event {
        Some(event) => Some(event),
        // Ctrl-C after the app was created: it keeps running (it is detached); record it.
        None if launched.interrupted => None,
        None => first_event_from_logs(p, &modal, &app_id, &rendered.job_ids).await,
    };
    // 3. Record the run (no secrets) and hand back its id.
    let run_id = run_records::new_run_id();
    let record = run_records::RunRecord {
        run_id: run_id.clone(),
        created_at: run_records::now_s(),
        launched_at: Some(launched_at),
        backend: "modal".into(),
        source: plan.source.describe(),
        dest: plan.dest.describe(),
        dest_url: Some(plan.dest_url.clone()),
        app_ids: vec![app_id.clone()],
        jobs: rendered.job_ids.clone(),
        first_event,
        plan: plan_summary(plan),
        verify: serde_json::to_value(&spec)?,
        skipped_by_plan: plan.skipped_outside_jobs(),
        state: "running".into(),
        report: None,
    };
    run_records::save(state, &record)?;
    p.json(&serde_json::to_value(crate::schemas::DetachedObject {
        kind: "detached".into(),
        run_id: run_id.clone(),
        status: "running".into(),
        app_ids: vec![app_id.clone()],
        jobs: rendered.job_ids.clone(),
        source: record.source.clone(),
        dest: record.dest.clone(),
        dest_url: record.dest_url.clone(),
    })?);
    p.out(&format!(
        "{} {run_id} (Modal app {app_id})\n  follow: hubferry logs {run_id} -f\n  status: hubferry status {run_id}\n  stop:   hubferry stop {run_id}",
        p.paint("detached", Tone::Good)
    ));
    if launched.interrupted {
        p.warn(&format!(
            "interrupted while launching: the detached app {app_id} keeps running and is recorded as {run_id}"
        ));
    }
    Ok(Executed::Detached {
        interrupted: launched.interrupted,
    })
}

async fn first_event_from_logs(
    p: &Printer,
    modal: &std::path::Path,
    app_id: &str,
    jobs: &[String],
) -> Option<serde_json::Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    let children = Children::default();
    // From the app's history on: `modal app logs -f` may not replay what came before it.
    let handle = crate::log_replay::start(
        modal.to_path_buf(),
        vec![app_id.to_owned()],
        jobs.to_vec(),
        crate::log_replay::history_start(crate::run_records::now_s()),
        true,
        tx,
        children.clone(),
    );
    let first = tokio::time::timeout(
        FIRST_EVENT_TIMEOUT,
        watch(
            p,
            rx,
            &children,
            Tracker::expecting(jobs.to_vec()),
            WatchOptions {
                until_first_event: true,
                ..Default::default()
            },
        ),
    )
    .await;
    children.terminate();
    let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
    match first {
        Ok(outcome) => outcome.first_event,
        Err(_) => {
            p.warn(&format!(
                "no worker event from {app_id} within {}s; the run is recorded anyway",
                FIRST_EVENT_TIMEOUT.as_secs()
            ));
            None
        }
    }
}

/// The plan object without its per-file lists (the run record keeps the expected manifest once).
fn plan_summary(plan: &Plan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        for key in ["to_move", "to_skip", "to_delete"] {
            map.remove(key);
        }
    }
    value
}
