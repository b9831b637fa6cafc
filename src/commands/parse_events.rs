//! `hubferry parse-events [FILE]` (hidden): classifies worker output lines with the real parser and
//! prints counts and throughput, so `scripts/bench.d/cli` can measure event parsing.

use std::io::Read;
use std::time::Instant;

use anyhow::Context as _;

use super::Context;
use crate::cli::ParseEventsArgs;
use crate::error::ExitStatus;
use crate::events::{parse_line, Line};
use crate::report::Tracker;

pub async fn run(ctx: &Context, args: ParseEventsArgs) -> anyhow::Result<ExitStatus> {
    let mut text = String::new();
    match &args.file {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
        }
    }
    let started = Instant::now();
    let (mut events, mut invalid, mut logs) = (0u64, 0u64, 0u64);
    let mut tracker = Tracker::default();
    for line in text.lines() {
        match parse_line(line) {
            Line::Event(event) => {
                events += 1;
                tracker.apply(&event);
            }
            Line::Invalid { .. } => invalid += 1,
            Line::Log(_) => logs += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let lines = events + invalid + logs;
    let summary = crate::schemas::ParseEventsObject {
        kind: crate::schemas::ParseEventsKind::ParseEvents,
        lines,
        events,
        invalid,
        logs,
        jobs: tracker.jobs.len() as u64,
        seconds,
        lines_per_s: lines as f64 / seconds.max(1e-9),
        mb_per_s: text.len() as f64 / 1e6 / seconds.max(1e-9),
    };
    if ctx.printer.json_mode() {
        ctx.printer
            .json(&serde_json::to_value(&summary).unwrap_or_default());
    } else {
        ctx.printer.out(&format!(
            "{lines} lines ({events} events, {invalid} invalid, {logs} log) in {seconds:.3}s: {:.0} lines/s, {:.1} MB/s",
            summary.lines_per_s, summary.mb_per_s,
        ));
    }
    Ok(if invalid > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
