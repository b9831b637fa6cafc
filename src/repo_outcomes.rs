//! What happened to each repository of a multi-repository run (`batch`, `apply`), the table that
//! summarizes them, and their overall exit status.

use serde::Serialize;

use crate::error::ExitStatus;
use crate::printer::{human_bytes, human_duration, Printer, Tone};
use crate::report::Report;
use crate::totals::Totals;

/// One repository's outcome in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source: String,
    /// Empty when preflight refused the line before a destination was known (`null` in JSON).
    #[serde(serialize_with = "empty_as_null")]
    pub dest: String,
    /// `ok`, `failed`, `partial`, `skipped`, `error` (preflight refused) or `not_started`
    /// (Ctrl-C came first).
    pub status: String,
    pub exit_code: u8,
    pub verified: bool,
    /// The repository's report's totals; a row shows what moved and what was skipped.
    #[serde(flatten, serialize_with = "moved_and_skipped")]
    pub totals: Totals,
    pub duration_s: f64,
    pub dest_url: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    /// The outcome as `--json` prints it (docs/schemas/batch_report.json).
    fn published(&self) -> crate::schemas::BatchRepoOutcome {
        crate::schemas::BatchRepoOutcome {
            source: self.source.clone(),
            dest: (!self.dest.is_empty()).then(|| self.dest.clone()),
            status: self.status.clone(),
            exit_code: self.exit_code,
            verified: self.verified,
            files_moved: self.totals.files_moved,
            bytes_moved: self.totals.bytes_moved,
            files_skipped: self.totals.files_skipped,
            bytes_skipped: self.totals.bytes_skipped,
            duration_s: self.duration_s,
            dest_url: self.dest_url.clone(),
            error: self.error.clone(),
        }
    }

    /// Takes the status, totals and errors of the repository's report.
    pub fn record(&mut self, report: &Report) {
        self.status = report.status.as_str().into();
        self.exit_code = report.exit_code();
        self.verified = report.verified;
        self.totals = report.totals;
        self.duration_s = report.duration_s;
        if !report.errors.is_empty() {
            self.error = Some(report.errors.join("; "));
        }
    }
}

/// A row's share of [`Totals`] in JSON: failed and deleted files are in each repository's report.
fn moved_and_skipped<S: serde::Serializer>(t: &Totals, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(4))?;
    map.serialize_entry("files_moved", &t.files_moved)?;
    map.serialize_entry("bytes_moved", &t.bytes_moved)?;
    map.serialize_entry("files_skipped", &t.files_skipped)?;
    map.serialize_entry("bytes_skipped", &t.bytes_skipped)?;
    map.end()
}

fn empty_as_null<S: serde::Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    if value.is_empty() {
        s.serialize_none()
    } else {
        s.serialize_str(value)
    }
}

/// The exit status of several repositories: [`crate::error::overall`] over theirs.
pub fn overall(outcomes: &[Outcome]) -> ExitStatus {
    crate::error::overall(outcomes.iter().map(|o| ExitStatus::from_code(o.exit_code)))
}

/// The summary: one `kind` object (`batch_report`, `apply_report`) in `--json` mode, else a
/// table with one row per repository and a count line.
pub fn print_summary(p: &Printer, kind: &str, outcomes: &[Outcome], status: ExitStatus) {
    let count = |s: &str| outcomes.iter().filter(|o| o.status == s).count();
    let ok = outcomes.iter().filter(|o| o.exit_code == 0).count();
    if p.json_mode() {
        let report = crate::schemas::BatchReportObject {
            kind: kind.into(),
            status: match status {
                ExitStatus::Success => "ok",
                ExitStatus::Partial => "partial",
                _ => "failed",
            }
            .into(),
            repos_total: outcomes.len() as u64,
            repos_ok: ok as u64,
            repos_skipped: count("skipped") as u64,
            repos_failed: (outcomes.len() - ok) as u64,
            exit_code: status.code(),
            repos: outcomes.iter().map(Outcome::published).collect(),
        };
        p.json(&serde_json::to_value(report).unwrap_or_default());
        return;
    }
    let route = |o: &Outcome| {
        let dest = if o.dest.is_empty() { "?" } else { &o.dest };
        format!("{} → {dest}", o.source)
    };
    const ROUTE_HEADER: &str = "SOURCE → DEST";
    // Rust pads by chars, which is the terminal width for repo ids (no wide characters in them).
    let w = outcomes
        .iter()
        .map(|o| route(o).chars().count())
        .chain([ROUTE_HEADER.chars().count()])
        .max()
        .unwrap_or(0);
    let mut lines = vec![
        String::new(),
        format!(
            "{ROUTE_HEADER:<w$} {:<9} {:>8} {:>10} {:>8}",
            "STATUS", "FILES", "BYTES", "TIME"
        ),
    ];
    for o in outcomes {
        let word = match o.status.as_str() {
            "ok" if o.verified => p.paint("ok", Tone::Good),
            "skipped" => p.paint("skipped", Tone::Dim),
            "partial" => p.paint("partial", Tone::Warn),
            other => p.paint(other, Tone::Bad),
        };
        // Pad by the plain word's width: colour codes have no width.
        let pad = 9usize.saturating_sub(o.status.len());
        lines.push(format!(
            "{:<w$} {word}{} {:>8} {:>10} {:>8}",
            route(o),
            " ".repeat(pad),
            o.totals.files_moved,
            human_bytes(o.totals.bytes_moved),
            human_duration(o.duration_s)
        ));
        if let Some(err) = &o.error {
            lines.push(format!("    {err}"));
        }
    }
    lines.push(format!(
        "{ok}/{} done ({} skipped), {} failed",
        outcomes.len(),
        count("skipped"),
        outcomes.len() - ok
    ));
    p.out(&lines.join("\n"));
}
