//! The per-chunk bars of a `--parallel` run on a terminal: one summary line for every finished
//! chunk, and bars only for running chunks, as many as fit the terminal.
//!
//! Finished bars that stayed on screen pushed the running ones past the bottom of a 24-line
//! terminal (indicatif stops drawing bars that do not fit), so a 100-chunk run showed only chunks
//! that were already done.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::events::RunStatus;
use crate::printer::{human_bytes, Printer};
use crate::report::{JobState, Tracker};

/// Lines kept free beside the chunk bars: the total bar, the summary line and a few status lines
/// printed above them.
const RESERVED_ROWS: usize = 6;
/// Chunk bars drawn when the terminal's height cannot be read.
const DEFAULT_MAX_BARS: usize = 12;

/// The chunk bars of one watch.
pub(super) struct ChunkBars {
    summary: ProgressBar,
    bars: HashMap<String, ProgressBar>,
    /// Running chunks that have no bar yet (the screen was full when they started), oldest first.
    waiting: Vec<String>,
    started: Instant,
}

/// How many chunks are in each state, and what the finished ones moved.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ChunkCounts {
    pub done: usize,
    pub running: usize,
    pub failed: usize,
    pub queued: usize,
    pub bytes_finished: u64,
}

impl ChunkCounts {
    pub fn of(tracker: &Tracker) -> Self {
        let mut counts = Self::default();
        for job in tracker.jobs.values() {
            match job_phase(job) {
                Phase::Done => counts.done += 1,
                Phase::Failed => counts.failed += 1,
                Phase::Running => counts.running += 1,
                Phase::Queued => counts.queued += 1,
            }
            if matches!(job_phase(job), Phase::Done | Phase::Failed) {
                counts.bytes_finished += job.bytes_done;
            }
        }
        counts
    }

    /// The summary line's text (after its `chunks` prefix); fits 80 columns up to 100 chunks
    /// (queued chunks are the difference between done and the total).
    pub fn line(&self, hidden: usize, elapsed: Duration) -> String {
        let total = self.done + self.running + self.failed + self.queued;
        let hidden = if hidden > 0 {
            format!(" ({hidden} hidden)")
        } else {
            String::new()
        };
        let secs = elapsed.as_secs_f64().max(0.001);
        format!(
            "{}/{total} done, {} running{hidden}, {} failed, {} at {}/s",
            self.done,
            self.running,
            self.failed,
            human_bytes(self.bytes_finished),
            human_bytes((self.bytes_finished as f64 / secs) as u64)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Running,
    Done,
    Failed,
}

fn job_phase(job: &JobState) -> Phase {
    match (&job.result, &job.lost) {
        (Some(r), _) if r.status == RunStatus::Failed => Phase::Failed,
        (Some(_), _) => Phase::Done,
        (None, Some(_)) => Phase::Failed,
        (None, None) if job.first_ts.is_some() => Phase::Running,
        (None, None) => Phase::Queued,
    }
}

/// How many chunk bars fit a terminal of `rows` lines.
fn bars_that_fit(rows: Option<usize>) -> usize {
    rows.map_or(DEFAULT_MAX_BARS, |rows| {
        rows.saturating_sub(RESERVED_ROWS).max(1)
    })
}

impl ChunkBars {
    /// Adds the summary line to the printer's bars (call after the total bar, so it sits below it).
    pub fn new(printer: &Printer) -> Self {
        let summary = printer.multi().add(ProgressBar::new(0));
        summary.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>10} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        summary.set_prefix("chunks");
        Self {
            summary,
            bars: HashMap::new(),
            waiting: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Brings the bars in line with the tracker after an event for `job` (or a child's end).
    pub fn update(&mut self, printer: &Printer, tracker: &Tracker) {
        let max_bars = bars_that_fit(
            console::Term::stderr()
                .size_checked()
                .map(|(rows, _)| rows.into()),
        );
        // Chunks that finished (or whose worker died) give their place up.
        self.bars.retain(|job, bar| {
            let running = tracker
                .jobs
                .get(job)
                .is_some_and(|j| job_phase(j) == Phase::Running);
            if !running {
                bar.finish_and_clear();
                printer.multi().remove(bar);
            }
            running
        });
        self.waiting.retain(|job| {
            tracker
                .jobs
                .get(job)
                .is_some_and(|j| job_phase(j) == Phase::Running)
        });
        for (job, state) in &tracker.jobs {
            if job_phase(state) == Phase::Running
                && !self.bars.contains_key(job)
                && !self.waiting.contains(job)
            {
                self.waiting.push(job.clone());
            }
        }
        // The summary changes between taking finished bars away and adding new ones, so that no
        // frame drawn in between shows more bars than the running count it states.
        let free = max_bars.saturating_sub(self.bars.len());
        let hidden = self.waiting.len().saturating_sub(free);
        self.summary
            .set_message(ChunkCounts::of(tracker).line(hidden, self.started.elapsed()));
        while self.bars.len() < max_bars && !self.waiting.is_empty() {
            let job = self.waiting.remove(0);
            let bar = printer.multi().add(ProgressBar::new(0));
            bar.set_style(super::watch::bytes_style(
                "{prefix:>10} [{bar:30}] {size}/{total_size} {msg}",
            ));
            let index = tracker
                .jobs
                .get(&job)
                .and_then(|j| j.chunk)
                .map(|c| c.index);
            bar.set_prefix(match index {
                Some(i) => format!("chunk {}", i + 1),
                None => job.clone(),
            });
            self.bars.insert(job, bar);
        }
        for (job, bar) in &self.bars {
            if let Some(state) = tracker.jobs.get(job) {
                bar.set_length(state.bytes_total);
                bar.set_position(state.bytes_done.min(state.bytes_total));
            }
        }
    }

    pub fn finish(&mut self, printer: &Printer) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
            printer.multi().remove(bar);
        }
        self.summary.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::JobResult;

    fn job(started: bool, result: Option<RunStatus>, lost: bool, bytes: u64) -> JobState {
        JobState {
            first_ts: started.then_some(1.0),
            bytes_done: bytes,
            lost: lost.then(|| "killed".to_owned()),
            result: result.map(|status| JobResult {
                status,
                totals: crate::totals::Totals {
                    bytes_moved: bytes,
                    ..Default::default()
                },
                duration_s: 0.0,
                dest_url: None,
                verified: false,
                fallback_used: false,
                error: None,
            }),
            ..JobState::default()
        }
    }

    #[test]
    fn chunks_are_counted_by_phase() {
        let mut tracker = Tracker::default();
        let jobs = [
            job(true, Some(RunStatus::Ok), false, 1_000_000),
            job(true, Some(RunStatus::Partial), false, 500_000),
            job(true, Some(RunStatus::Failed), false, 0),
            job(true, None, true, 250_000),
            job(true, None, false, 10),
            job(false, None, false, 0),
        ];
        for (i, state) in jobs.into_iter().enumerate() {
            tracker.jobs.insert(format!("r0c{i}"), state);
        }
        let counts = ChunkCounts::of(&tracker);
        assert_eq!(
            counts,
            ChunkCounts {
                done: 2,
                running: 1,
                failed: 2,
                queued: 1,
                bytes_finished: 1_750_000,
            }
        );
        assert_eq!(
            counts.line(0, Duration::from_secs(2)),
            "2/6 done, 1 running, 2 failed, 1.8 MB at 875.0 kB/s"
        );
    }

    #[test]
    fn the_summary_fits_80_columns_for_a_hundred_chunks() {
        let counts = ChunkCounts {
            done: 40,
            running: 50,
            failed: 3,
            queued: 7,
            bytes_finished: 999_000_000_000,
        };
        // 999 GB in 10 s: the widest figures human_bytes writes.
        let line = format!(
            "{:>10} {}",
            "chunks",
            counts.line(32, Duration::from_secs(10))
        );
        assert!(
            line.chars().count() <= 80,
            "{} chars: {line}",
            line.chars().count()
        );
    }

    #[test]
    fn bars_leave_room_for_the_total_and_the_summary() {
        assert_eq!(bars_that_fit(Some(24)), 18);
        assert_eq!(bars_that_fit(Some(4)), 1);
        assert_eq!(bars_that_fit(None), DEFAULT_MAX_BARS);
    }
}
