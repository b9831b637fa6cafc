//! Watching a run: runner messages → tracker, progress bars (terminal), plain lines (pipes and CI)
//! or NDJSON (`--json`); Ctrl-C handling.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::chunk_bars::ChunkBars;
use crate::events::{self as ev, Event, EventBody, FileStatus};
use crate::printer::{human_bytes, Printer, Tone};
use crate::report::Tracker;
use crate::workers::{Children, Msg};

/// How long children get after SIGINT (and then after SIGTERM) before the next signal.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// How a watch behaves.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Draw one bar per job (chunked runs).
    pub per_job_bars: bool,
    /// Return as soon as the first worker event arrives (detached launch).
    pub until_first_event: bool,
    /// A child that ends without results for its jobs means those jobs failed (false when reading
    /// a log snapshot, which may simply stop before the end).
    pub ended_means_failed: bool,
    /// What to tell the user on Ctrl-C (what keeps running, how to follow or stop it).
    pub interrupt_note: Option<String>,
    /// Bytes the plan expects to move (sizes the overall bar before the workers report).
    pub expected_bytes: u64,
    /// The children only read logs or launch a detached app: Ctrl-C stops them, not the workers.
    pub workers_keep_running: bool,
    /// `apply`'s line across repositories, fed each job's bytes as its events arrive.
    pub across: Option<std::sync::Arc<crate::across_repos::AcrossRepos>>,
}

/// What a watch saw.
#[derive(Debug, Default)]
pub struct WatchOutcome {
    pub tracker: Tracker,
    pub app_ids: Vec<String>,
    pub errors: Vec<String>,
    pub interrupted: bool,
    pub first_event: Option<serde_json::Value>,
    /// Exit codes of children, by label (None: killed by a signal).
    pub exits: Vec<(String, Option<i32>)>,
}

/// Consumes runner messages until every sender is gone (or the first event, if asked).
pub async fn watch(
    printer: &Printer,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    children: &Children,
    tracker: Tracker,
    opts: WatchOptions,
) -> WatchOutcome {
    let mut out = WatchOutcome {
        tracker,
        ..Default::default()
    };
    // Subscribed before any bar is drawn, and for the whole watch: a Ctrl-C that comes while an
    // event is being handled waits for the loop below instead of being lost.
    let mut watching = crate::interrupt::Watching::start();
    let mut view = View::new(printer, opts.per_job_bars, opts.expected_bytes);
    let mut interrupts = 0;
    // After Ctrl-C the children get SIGINT (their clean shutdown), then SIGTERM, then SIGKILL if
    // they linger: a worker blocked in a slow download must not keep hubferry hanging.
    let mut escalate_at: Option<tokio::time::Instant> = None;
    let mut escalations = 0;
    loop {
        let escalation = async {
            match escalate_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            _ = watching.ctrl_c() => {
                interrupts += 1;
                out.interrupted = true;
                if interrupts == 1 {
                    printer.warn(&interrupt_warning(opts.workers_keep_running));
                    if let Some(note) = &opts.interrupt_note {
                        printer.status(note);
                    }
                    children.interrupt();
                    escalate_at = Some(tokio::time::Instant::now() + INTERRUPT_GRACE);
                } else {
                    children.kill();
                }
                continue;
            }
            _ = escalation => {
                escalations += 1;
                if escalations == 1 {
                    children.terminate();
                    escalate_at = Some(tokio::time::Instant::now() + INTERRUPT_GRACE);
                } else {
                    children.kill();
                    escalate_at = None;
                }
                continue;
            }
        };
        let Some(msg) = msg else { break };
        match msg {
            Msg::Event(event) => {
                if out.first_event.is_none() {
                    out.first_event = serde_json::to_value(&*event).ok();
                }
                out.tracker.apply(&event);
                if let (Some(across), Some(job)) = (&opts.across, out.tracker.jobs.get(&event.job))
                {
                    across.job_bytes(&event.job, job.bytes_done);
                }
                view.event(&event, &out.tracker);
                if opts.until_first_event {
                    break;
                }
            }
            Msg::Invalid { text, error } => {
                printer.warn(&format!(
                    "ignoring a malformed worker event ({error}): {text}"
                ));
            }
            Msg::Log { child, line } => {
                printer.verbose(&format!(
                    "{} {line}",
                    printer.paint(&format!("[{child}]"), Tone::Dim)
                ));
            }
            Msg::AppId(id) => {
                if !out.app_ids.contains(&id) {
                    printer.verbose(&format!("Modal app {id}"));
                    out.app_ids.push(id);
                }
            }
            Msg::ModalError(text) => {
                printer.warn(&format!("modal: {text}"));
                out.errors.push(format!("modal: {text}"));
            }
            Msg::Ended {
                child,
                jobs,
                code,
                stderr_tail,
            } => {
                out.exits.push((child.clone(), code));
                if opts.ended_means_failed {
                    let interrupted = out.interrupted;
                    let why = || {
                        let tail: Vec<&str> = stderr_tail
                            .iter()
                            .map(|l| l.trim())
                            .filter(|l| !l.is_empty())
                            .collect();
                        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
                        let tail = if tail.is_empty() {
                            String::new()
                        } else {
                            format!(": {tail}")
                        };
                        match code {
                            _ if interrupted => {
                                format!("{child} was stopped (Ctrl-C) before it reported a result")
                            }
                            Some(c) => {
                                format!("{child} exited with code {c} without a result{tail}")
                            }
                            None => format!("{child} was killed before it reported a result{tail}"),
                        }
                    };
                    for job in &jobs {
                        out.tracker.mark_ended(job, why);
                    }
                    view.jobs_ended(&out.tracker);
                }
            }
        }
    }
    view.finish();
    out
}

/// The live display.
struct View<'a> {
    printer: &'a Printer,
    overall: Option<ProgressBar>,
    /// Per-chunk bars (chunked runs on a terminal).
    chunks: Option<ChunkBars>,
    expected_bytes: u64,
    last_plain: Instant,
    last_plain_figures: (u64, u64),
    /// Held while bars are drawn (see [`crate::tty_echo`]).
    _no_ctrl_echo: Option<crate::tty_echo::EchoGuard>,
}

impl<'a> View<'a> {
    fn new(printer: &'a Printer, per_job_bars: bool, expected_bytes: u64) -> Self {
        // Before the first bar: a Ctrl-C as it appears must not echo over it either.
        let no_ctrl_echo = printer
            .progress_enabled()
            .then(crate::tty_echo::hide_control_echo)
            .flatten();
        let overall = printer.progress_enabled().then(|| {
            let bar = printer.multi().add(ProgressBar::new(expected_bytes));
            bar.set_style(bytes_style(
                "{prefix:>10} [{bar:30}] {size}/{total_size} {rate} eta {eta_or_dash} {msg}",
            ));
            bar.set_prefix("total");
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        let chunks = (per_job_bars && printer.progress_enabled()).then(|| ChunkBars::new(printer));
        Self {
            printer,
            overall,
            chunks,
            expected_bytes,
            last_plain: Instant::now(),
            last_plain_figures: (u64::MAX, 0),
            _no_ctrl_echo: no_ctrl_echo,
        }
    }

    fn event(&mut self, event: &Event, tracker: &Tracker) {
        let p = self.printer;
        if p.json_mode() {
            if let Ok(value) = serde_json::to_value(event) {
                p.json(&value);
            }
            return;
        }
        let job = &event.job;
        match &event.body {
            EventBody::Start(ev::Start {
                source,
                dest,
                chunk,
                files_total,
                bytes_total,
                ..
            }) => {
                let route = format!(
                    "{}:{} → {}:{}",
                    source.platform, source.repo_id, dest.platform, dest.repo_id
                );
                if self.chunks.is_some() {
                    // The chunk's bar says it started; one line for the run, not one per chunk.
                    let started = tracker.jobs.values().filter(|j| j.first_ts.is_some());
                    if started.count() == 1 {
                        p.status(&format!("started: {route} ({} chunks)", tracker.jobs.len()));
                    }
                } else {
                    let what = if chunk.count > 1 {
                        format!("chunk {}/{} ", chunk.index + 1, chunk.count)
                    } else {
                        String::new()
                    };
                    p.status(&format!(
                        "{what}started: {route} ({files_total} file{}, {})",
                        if *files_total == 1 { "" } else { "s" },
                        human_bytes(*bytes_total)
                    ));
                }
            }
            EventBody::File(ev::File {
                path,
                size,
                status,
                reason,
                ..
            }) => match status {
                FileStatus::Failed => p.warn(&format!(
                    "{path}: failed{}",
                    reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )),
                FileStatus::Done if !p.progress_enabled() => {
                    p.status(&format!("  moved    {path} ({})", human_bytes(*size)));
                }
                FileStatus::Deleted => p.status(&format!("  deleted  {path}")),
                _ => {}
            },
            EventBody::Retry(ev::Retry {
                op,
                path,
                attempt,
                wait_s,
                reason,
                ..
            }) => p.status(&format!(
                "  retry    {op}{} (attempt {attempt}, in {wait_s:.1}s): {reason}",
                path.as_deref().map(|p| format!(" {p}")).unwrap_or_default()
            )),
            EventBody::Fallback(ev::Fallback { from, to, reason }) => {
                p.warn(&format!("falling back from {from} to {to}: {reason}"));
            }
            EventBody::Warning(ev::Warning { code, message }) => {
                p.warn(&format!("{message} [{code}]"))
            }
            EventBody::Commit(ev::Commit { files, .. }) => {
                p.verbose(&format!("  commit   {files} files"));
            }
            EventBody::Verify(ev::Verify {
                ok,
                matched,
                mismatched,
                missing,
                ..
            }) => {
                if !ok {
                    p.warn(&format!(
                        "worker verification: {matched} matched, {} missing, {} mismatched",
                        missing.len(),
                        mismatched.len()
                    ));
                }
            }
            EventBody::Result(result) if !p.progress_enabled() => {
                let chunk = tracker
                    .jobs
                    .get(job)
                    .and_then(|j| j.chunk)
                    .filter(|c| c.count > 1)
                    .map(|c| format!("chunk {}/{} ", c.index + 1, c.count))
                    .unwrap_or_default();
                p.status(&format!(
                    "{chunk}finished: {} ({} files moved, {}, {} skipped, {})",
                    result.status.as_str(),
                    result.totals.files_moved,
                    human_bytes(result.totals.bytes_moved),
                    result.totals.files_skipped,
                    crate::printer::human_duration(result.duration_s)
                ));
            }
            EventBody::Progress(_) | EventBody::Result(_) => {}
        }
        let (done, total) = tracker.bytes();
        let total = total.max(self.expected_bytes);
        if let Some(bar) = &self.overall {
            bar.set_length(total);
            bar.set_position(done.min(total));
        }
        if let Some(chunks) = &mut self.chunks {
            chunks.update(p, tracker);
        }
        // Without a terminal, a progress line every few seconds keeps CI logs alive but short;
        // figures that did not move (a commit being retried) are not repeated.
        if !p.progress_enabled()
            && matches!(event.body, EventBody::Progress(_))
            && self.last_plain.elapsed() >= Duration::from_secs(5)
            && self.last_plain_figures != (done, total)
        {
            self.last_plain = Instant::now();
            self.last_plain_figures = (done, total);
            p.status(&format!(
                "  progress {} / {}",
                human_bytes(done),
                human_bytes(total)
            ));
        }
    }

    /// Workers ended: chunks they left without a result are failed, not running.
    fn jobs_ended(&mut self, tracker: &Tracker) {
        if let Some(chunks) = &mut self.chunks {
            chunks.update(self.printer, tracker);
        }
    }

    fn finish(&mut self) {
        if let Some(chunks) = &mut self.chunks {
            chunks.finish(self.printer);
        }
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
    }
}

/// The first line after Ctrl-C: what hubferry stops now.
fn interrupt_warning(workers_keep_running: bool) -> String {
    let what = if workers_keep_running {
        "no longer following the run"
    } else {
        "stopping the workers"
    };
    format!("interrupted: {what} (Ctrl-C again to force)")
}

/// A bar style for byte counts. An empty bar (a chunk of empty files) shows `0 B/0 B`, full.
pub(super) fn bytes_style(template: &str) -> ProgressStyle {
    crate::printer::bytes_style(template).with_key(
        "eta_or_dash",
        |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&eta_text(s.pos(), s.len(), s.elapsed(), s.eta()));
        },
    )
}

/// The ETA shown on the overall bar: `-` until the rate means something (some bytes moved, and
/// 1 % of them or 30 s in), so a run never opens with `eta 0s` or, after a few small files, `eta 3w`.
fn eta_text(pos: u64, len: Option<u64>, elapsed: Duration, eta: Duration) -> String {
    let len = len.unwrap_or(0);
    let settled = pos > 0 && (pos.saturating_mul(100) >= len || elapsed >= Duration::from_secs(30));
    if pos >= len && len > 0 {
        return "0s".into();
    }
    if !settled {
        return "-".into();
    }
    format!("{:#}", indicatif::HumanDuration(eta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_says_what_stops() {
        assert!(interrupt_warning(false).contains("stopping the workers"));
        let follow = interrupt_warning(true);
        assert!(follow.contains("no longer following"), "{follow}");
        assert!(!follow.contains("workers"), "{follow}");
    }

    #[test]
    fn eta_waits_for_a_meaningful_rate() {
        let s = Duration::from_secs;
        // Nothing moved yet: no `eta 0s`.
        assert_eq!(eta_text(0, Some(1000), s(1), s(0)), "-");
        // A few small files 7 s in: no `eta 3w`.
        assert_eq!(eta_text(282, Some(62_910_000), s(7), s(1_800_000)), "-");
        // 1 % in, or 30 s in: the estimate shows.
        assert_eq!(eta_text(15_000_000, Some(62_910_000), s(3), s(17)), "17s");
        assert_eq!(eta_text(282, Some(62_910_000), s(31), s(40)), "40s");
        assert_eq!(eta_text(10, Some(10), s(2), s(0)), "0s");
    }
}
