//! One progress line across the repositories of `apply`: repositories done of the total, bytes
//! moved of those planned and the rate, fed by the worker events of every running migration
//! (each migration's watch reports its jobs' bytes here as well as on its own bar).
//!
//! Through the printer, like every other line: on a terminal an `apply` bar above the running
//! migrations' bars; without one (CI logs, `--json`, whose stdout stays NDJSON) a status line on
//! stderr when a repository finishes and at most every few seconds while bytes move.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::printer::{human_bytes, Printer};

/// How often the line is repeated without a terminal while bytes move.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The figures of all repositories of one `apply`.
pub struct AcrossRepos {
    printer: Printer,
    bar: Option<ProgressBar>,
    started: Instant,
    state: Mutex<State>,
}

struct State {
    repos_total: usize,
    repos_done: usize,
    failed: usize,
    bytes_planned: u64,
    /// Bytes done by each worker job (job ids are unique across the repositories of a run).
    bytes_by_job: HashMap<String, u64>,
    last_plain: Option<Instant>,
    last_plain_bytes: u64,
}

impl std::fmt::Debug for AcrossRepos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcrossRepos")
    }
}

impl AcrossRepos {
    pub fn new(printer: &Printer, repos_total: usize, bytes_planned: u64) -> Self {
        let bar = printer.progress_enabled().then(|| {
            let bar = printer.multi().add(ProgressBar::new(bytes_planned));
            bar.set_style(crate::printer::bytes_style(
                "{prefix:>10} [{bar:30}] {size}/{total_size} {rate} {msg}",
            ));
            bar.set_prefix("apply");
            bar.set_message(format!("0/{repos_total} repos"));
            bar
        });
        AcrossRepos {
            printer: printer.clone(),
            bar,
            started: Instant::now(),
            state: Mutex::new(State {
                repos_total,
                repos_done: 0,
                failed: 0,
                bytes_planned,
                bytes_by_job: HashMap::new(),
                last_plain: None,
                last_plain_bytes: 0,
            }),
        }
    }

    /// A worker event of job `job` said it has moved `bytes` so far.
    pub fn job_bytes(&self, job: &str, bytes: u64) {
        let mut s = self.lock();
        if s.bytes_by_job.get(job) != Some(&bytes) {
            s.bytes_by_job.insert(job.to_string(), bytes);
            self.show(&mut s, false);
        }
    }

    /// A repository finished (`failed`: it did not end ok); its jobs' bytes stay counted.
    pub fn repo_done(&self, failed: bool) {
        let mut s = self.lock();
        s.repos_done += 1;
        s.failed += usize::from(failed);
        self.show(&mut s, true);
    }

    /// Clears the bar (the summary table follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Updates the bar; without one prints the line when a repository finished, or every
    /// [`PLAIN_EVERY`] while the bytes move.
    fn show(&self, s: &mut State, repo_finished: bool) {
        let bytes: u64 = s.bytes_by_job.values().sum();
        let total = s.bytes_planned.max(bytes);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(bytes);
            bar.set_message(format!("{}/{} repos", s.repos_done, s.repos_total));
            return;
        }
        let due = s.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
        let moved = due && bytes != s.last_plain_bytes;
        if !(repo_finished || moved) {
            return;
        }
        s.last_plain = Some(Instant::now());
        s.last_plain_bytes = bytes;
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.printer.status(&line(s, bytes, total, secs));
    }
}

/// `apply: 2/6 repositories done (0 failed), 3.1 MB of 9.4 MB planned moved, 1.2 MB/s`.
fn line(s: &State, bytes: u64, total: u64, secs: f64) -> String {
    format!(
        "apply: {}/{} repositories done ({} failed), {} of {} planned moved, {}/s",
        s.repos_done,
        s.repos_total,
        s.failed,
        human_bytes(bytes),
        human_bytes(total),
        human_bytes((bytes as f64 / secs) as u64)
    )
}
