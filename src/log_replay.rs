//! Rebuilding a detached run from Modal's logs, whatever `modal app logs -f` replays.
//!
//! `modal app logs ap-…` alone returns Modal's last 100 entries, and whether `-f` starts with the
//! app's history is the server's choice (the pinned CLI sends no option for it). So the history
//! is read by time range from the run's start (`--since/--until`, which the client pages through
//! in count-sized intervals), and a follow starts only after a first history read; a second read
//! then closes the gap up to the follow's first line. Lines that two of these deliver are dropped
//! by [`Overlap`]: every worker event carries its job's `seq`.
//!
//! The output is the same [`Msg`] stream [`workers::start`] produces, so the watch that rebuilds
//! progress and the report is the one a live run uses.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::events::Event;
use crate::workers::{self, ChildSpec, Children, Msg};

/// How long before a run's recorded creation its logs may begin: the run is recorded once the
/// launcher has seen the first worker event, after Modal built the image and started a container.
/// The range is filtered by app id, so a wide margin costs nothing.
pub const HISTORY_MARGIN_S: f64 = 3600.0;

/// How far past "now" a history read asks: the range's end is Modal's clock, and entries stamped
/// a little ahead of ours must not fall between a read and the follow.
const CLOCK_SLACK_S: f64 = 300.0;

/// The shortest range worth splitting when Modal refuses one as too dense ("Too many logs to
/// fetch in time range"): its smallest count bucket is 2 s.
const MIN_SPLIT_S: i64 = 4;

/// Remembers which worker events were already passed on, so that one seen twice is dropped.
///
/// An event is identified by its job, `seq` and `ts`: `seq` restarts at 1 when a job's worker
/// starts again (a retried container), and `ts` tells those attempts apart. Events without `seq`
/// (a worker that predates it, or the app's own failure report) are identified by their content.
#[derive(Debug, Default)]
pub struct Overlap {
    numbered: HashMap<String, HashSet<(u64, u64)>>,
    unnumbered: HashSet<String>,
}

impl Overlap {
    /// True the first time an event is offered, false for every repeat.
    pub fn admit(&mut self, event: &Event) -> bool {
        match event.seq {
            Some(seq) => self
                .numbered
                .entry(event.job.clone())
                .or_default()
                .insert((seq, event.ts.to_bits())),
            None => self
                .unnumbered
                .insert(serde_json::to_string(event).unwrap_or_default()),
        }
    }
}

/// Reads the logs of every app of a run into `tx`: the history from `since` (unix seconds), then,
/// with `follow`, the live stream until the apps are done.
pub fn start(
    modal: PathBuf,
    app_ids: Vec<String>,
    jobs: Vec<String>,
    since: f64,
    follow: bool,
    tx: mpsc::UnboundedSender<Msg>,
    children: Children,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tasks: Vec<_> = app_ids
            .into_iter()
            .map(|app_id| {
                let reader = AppLogs {
                    modal: modal.clone(),
                    app_id,
                    jobs: jobs.clone(),
                    tx: tx.clone(),
                    children: children.clone(),
                    overlap: Overlap::default(),
                };
                tokio::spawn(reader.run(since, follow))
            })
            .collect();
        drop(tx);
        for task in tasks {
            let _ = task.await;
        }
    })
}

struct AppLogs {
    modal: PathBuf,
    app_id: String,
    jobs: Vec<String>,
    tx: mpsc::UnboundedSender<Msg>,
    children: Children,
    overlap: Overlap,
}

impl AppLogs {
    async fn run(mut self, since: f64, follow: bool) {
        let first_read = crate::run_records::now_s();
        self.history(since, first_read + CLOCK_SLACK_S).await;
        if !follow || self.stopped() {
            return;
        }
        let (ftx, mut frx) = mpsc::unbounded_channel();
        let spec = self.spec(vec!["-f".into()]);
        let follower = tokio::spawn(workers::run_child(spec, ftx, self.children.clone()));
        // The follow is connected once it prints a line (or it ended: the app is done). What the
        // first read missed lies between its moment and that line; read it again up to now.
        let mut held = Vec::new();
        while let Some(msg) = frx.recv().await {
            let connected = matches!(
                msg,
                Msg::Event(_) | Msg::Log { .. } | Msg::Invalid { .. } | Msg::Ended { .. }
            );
            held.push(msg);
            if connected {
                break;
            }
        }
        if !self.stopped() {
            self.history(
                since.max(first_read - CLOCK_SLACK_S),
                crate::run_records::now_s() + CLOCK_SLACK_S,
            )
            .await;
        }
        let mut follow = FollowFilter::default();
        for msg in held {
            self.forward_followed(&mut follow, msg);
        }
        while let Some(msg) = frx.recv().await {
            if self.tx.is_closed() {
                // Nobody reads any more (the launcher had its first event): end the follow.
                follower.abort();
                return;
            }
            self.forward_followed(&mut follow, msg);
        }
        follow.finish(&self.tx);
        let _ = follower.await;
    }

    /// Ctrl-C, or whoever reads the messages is gone: start no further `modal` child.
    fn stopped(&self) -> bool {
        crate::interrupt::interrupted() || self.tx.is_closed()
    }

    fn spec(&self, extra: Vec<OsString>) -> ChildSpec {
        let mut args: Vec<OsString> = vec!["app".into(), "logs".into(), self.app_id.clone().into()];
        args.extend(extra);
        ChildSpec {
            label: format!("modal app logs {}", self.app_id),
            program: self.modal.clone(),
            args,
            env: Vec::new(),
            cwd: None,
            jobs: self.jobs.clone(),
        }
    }

    /// Passes on every new event of `[since, until)`, splitting a range Modal finds too dense.
    async fn history(&mut self, since: f64, until: f64) {
        // Whole seconds: the client refuses fractional bounds for some forms of `--since`.
        let mut ranges = vec![(since.floor() as i64, until.ceil() as i64)];
        while let Some((from, to)) = ranges.pop() {
            if self.stopped() {
                return;
            }
            match self.read_range(from, to).await {
                RangeRead::Done => {}
                RangeRead::TooDense if to - from >= MIN_SPLIT_S => {
                    let mid = from + (to - from) / 2;
                    // Popped last first: the earlier half is read first.
                    ranges.push((mid, to));
                    ranges.push((from, mid));
                }
                RangeRead::TooDense => {
                    let _ = self.tx.send(Msg::ModalError(format!(
                        "Modal holds more log entries between {} and {} than it will return; \
                         that part of the run's history is missing",
                        iso(from),
                        iso(to)
                    )));
                }
                RangeRead::Failed(why) => {
                    let _ = self.tx.send(Msg::ModalError(format!(
                        "could not read the history of {}: {why}",
                        self.app_id
                    )));
                    return;
                }
            }
        }
    }

    async fn read_range(&mut self, from: i64, to: i64) -> RangeRead {
        let spec = self.spec(vec![
            "--since".into(),
            iso(from).into(),
            "--until".into(),
            iso(to).into(),
        ]);
        let (htx, mut hrx) = mpsc::unbounded_channel();
        let child = tokio::spawn(workers::run_child(spec, htx, self.children.clone()));
        // Modal's errors come before any entry (the client counts the range first): hold them
        // until the exit says whether the range is retried in halves.
        let mut errors = Vec::new();
        let mut outcome = RangeRead::Done;
        while let Some(msg) = hrx.recv().await {
            match msg {
                Msg::Event(event) => {
                    if self.overlap.admit(&event) {
                        let _ = self.tx.send(Msg::Event(event));
                    }
                }
                Msg::ModalError(text) => errors.push(text),
                Msg::Ended {
                    code, stderr_tail, ..
                } => {
                    if code != Some(0) {
                        let said = errors.iter().chain(&stderr_tail);
                        outcome = if said.clone().any(|l| l.contains("Too many logs")) {
                            RangeRead::TooDense
                        } else {
                            let why = errors
                                .last()
                                .or_else(|| stderr_tail.iter().rev().find(|l| !l.trim().is_empty()))
                                .cloned()
                                .unwrap_or_else(|| {
                                    format!("`modal app logs` exited with {code:?}")
                                });
                            RangeRead::Failed(why)
                        };
                    }
                }
                other => {
                    let _ = self.tx.send(other);
                }
            }
        }
        let _ = child.await;
        outcome
    }

    fn forward_followed(&mut self, filter: &mut FollowFilter, msg: Msg) {
        match msg {
            Msg::Event(event) => {
                filter.saw_event = true;
                if self.overlap.admit(&event) {
                    filter.flush(&self.tx);
                    filter.last_event_new = true;
                    let _ = self.tx.send(Msg::Event(event));
                } else {
                    // Log text between repeated events was delivered with them already.
                    filter.pending.clear();
                    filter.last_event_new = false;
                }
            }
            Msg::Log { .. } | Msg::Invalid { .. } => filter.pending.push(msg),
            ended @ Msg::Ended { .. } => {
                filter.finish(&self.tx);
                let _ = self.tx.send(ended);
            }
            other => {
                filter.flush(&self.tx);
                let _ = self.tx.send(other);
            }
        }
    }
}

/// Log text from the follow waits for the next event: if that event is a repeat, so is the text.
#[derive(Default)]
struct FollowFilter {
    pending: Vec<Msg>,
    saw_event: bool,
    last_event_new: bool,
}

impl FollowFilter {
    fn flush(&mut self, tx: &mpsc::UnboundedSender<Msg>) {
        for msg in self.pending.drain(..) {
            let _ = tx.send(msg);
        }
    }

    /// Text after the follow's last event is new unless that event was a repeat.
    fn finish(&mut self, tx: &mpsc::UnboundedSender<Msg>) {
        if self.last_event_new || !self.saw_event {
            self.flush(tx);
        }
        self.pending.clear();
    }
}

enum RangeRead {
    Done,
    TooDense,
    Failed(String),
}

fn iso(secs: i64) -> String {
    crate::hub::content::iso_from_epoch(secs)
}

/// Where a run's history begins, from its record.
pub fn history_start(created_at: f64) -> f64 {
    created_at - HISTORY_MARGIN_S
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{parse_line, Line};

    fn event(job: &str, seq: Option<u64>, ts: f64, n: u64) -> Event {
        let seq = seq.map(|s| format!(",\"seq\":{s}")).unwrap_or_default();
        let line = format!(
            r#"{{"hubferry":1,"type":"progress","job":"{job}","ts":{ts}{seq},"bytes_done":{n},"bytes_total":100,"files_done":0,"files_total":1,"rate_bps":0.0}}"#
        );
        match parse_line(&line) {
            Line::Event(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_history_and_a_follow_that_overlap_yield_each_event_once() {
        // 100,000 events of two jobs; the follow repeats the last 30,000 of the history.
        let all: Vec<Event> = (0..100_000u64)
            .map(|i| {
                event(
                    ["a", "b"][(i % 2) as usize],
                    Some(i / 2 + 1),
                    1e9 + i as f64 / 1e3,
                    i,
                )
            })
            .collect();
        let mut overlap = Overlap::default();
        let history = &all[..80_000];
        let followed = &all[50_000..];
        let passed: Vec<&Event> = history
            .iter()
            .chain(followed)
            .filter(|e| overlap.admit(e))
            .collect();
        assert_eq!(passed.len(), all.len());
        assert!(passed.iter().zip(&all).all(|(p, a)| *p == a));
    }

    #[test]
    fn a_retried_worker_restarting_at_seq_one_is_not_a_repeat() {
        let mut overlap = Overlap::default();
        assert!(overlap.admit(&event("a", Some(1), 10.0, 0)));
        assert!(overlap.admit(&event("a", Some(2), 11.0, 5)));
        // The container was retried: its new worker counts from 1 again, later.
        assert!(overlap.admit(&event("a", Some(1), 20.0, 0)));
        assert!(!overlap.admit(&event("a", Some(2), 11.0, 5)));
        assert!(overlap.admit(&event("b", Some(2), 11.0, 5)), "another job");
        // Without seq only an identical line is a repeat.
        assert!(overlap.admit(&event("a", None, 30.0, 7)));
        assert!(!overlap.admit(&event("a", None, 30.0, 7)));
        assert!(overlap.admit(&event("a", None, 30.0, 8)));
    }
}
