//! CI output for `sync` and `migrate`: a Markdown job summary and GitHub workflow annotations.
//!
//! - Summary: with `--summary FILE`, else when `GITHUB_STEP_SUMMARY` is set, one Markdown table
//!   (a row per mirror or repository: status, moved, skipped, verified, duration, link) is
//!   *appended* to that file, as GitHub expects of every step that writes it.
//! - Annotations: under GitHub Actions (`GITHUB_ACTIONS=true`), `::error` for each failed mirror and
//!   `::warning` for each one that finished but is not verified. They go to stdout, except with
//!   `--json`, where stdout stays pure NDJSON and they go to stderr; the runner reads workflow
//!   commands from both streams.
//!
//! Both are built from the same JSON report objects `--json` prints (docs/report.md), so they show
//! nothing the report does not, and every line passes the printer's secret scrubbing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

use crate::printer::{human_bytes, human_duration, Printer};
use crate::report::Report;

/// `--summary FILE`, else `$GITHUB_STEP_SUMMARY` when set and non-empty.
fn target(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Summary and annotations for one `migrate`.
pub fn for_migrate(p: &Printer, flag: Option<&Path>, report: &Report) -> anyhow::Result<()> {
    let json = serde_json::to_value(report)?;
    let name = report.source.as_str();
    let gantt = gantt(&report.job_spans);
    emit(
        p,
        flag,
        "hubferry migrate",
        "repository",
        &[(name, &json)],
        &gantt,
    )
}

/// (label, start, end, ok) of every job with a result, in chunk order.
pub fn job_spans(tracker: &crate::report::Tracker) -> Vec<(String, f64, f64, bool)> {
    let mut spans: Vec<(u32, String, f64, f64, bool)> = tracker
        .jobs
        .values()
        .filter_map(|job| {
            let result = job.result.as_ref()?;
            let index = job.chunk.map_or(0, |c| c.index);
            let ok = result.status == crate::events::RunStatus::Ok;
            Some((
                index,
                format!("chunk {}", index + 1),
                job.first_ts?,
                job.result_ts?,
                ok,
            ))
        })
        .collect();
    spans.sort_by_key(|s| s.0);
    spans
        .into_iter()
        .map(|(_, l, a, b, ok)| (l, a, b, ok))
        .collect()
}

/// A Mermaid gantt of the chunks' start and end (GitHub renders ```mermaid blocks); empty for a
/// run of one job, where the table's duration says it all.
fn gantt(spans: &[(String, f64, f64, bool)]) -> String {
    if spans.len() < 2 {
        return String::new();
    }
    let mut md = String::from(
        "```mermaid\ngantt\n  title chunks (worker clock)\n  dateFormat x\n  axisFormat %H:%M:%S\n  section chunks\n",
    );
    for (i, (label, start, end, ok)) in spans.iter().enumerate() {
        let (start, end) = ((start * 1000.0) as u64, (end * 1000.0) as u64);
        let tag = if *ok { "done" } else { "crit" };
        md.push_str(&format!(
            "  {label} :{tag}, c{i}, {start}, {}\n",
            end.max(start + 1)
        ));
    }
    md.push_str("```\n\n");
    md
}

/// Summary and annotations for one `sync` (rows: mirror name, its report or plan object).
pub fn for_sync(p: &Printer, flag: Option<&Path>, rows: &[(&str, &Value)]) -> anyhow::Result<()> {
    emit(p, flag, "hubferry sync", "mirror", rows, "")
}

fn emit(
    p: &Printer,
    flag: Option<&Path>,
    title: &str,
    what: &str,
    rows: &[(&str, &Value)],
    gantt: &str,
) -> anyhow::Result<()> {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        annotate(p, rows);
    }
    let Some(path) = target(flag) else {
        return Ok(());
    };
    let text = p.scrub(&(markdown(title, what, rows) + gantt));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("could not write the job summary to {}", path.display()))
}

/// What a row's status cell says: the report's status, or for a `--dry-run` plan whether it is
/// current.
fn status(v: &Value) -> String {
    if v["type"] == "plan" {
        let pending =
            v["files_to_move"].as_u64().unwrap_or(0) + v["files_to_delete"].as_u64().unwrap_or(0);
        return if pending == 0 || v["settled_by_content"] == true {
            "current".into()
        } else {
            "would update".into()
        };
    }
    v["status"].as_str().unwrap_or("unknown").to_owned()
}

fn failed(v: &Value) -> bool {
    v["type"] != "plan" && v["status"] != "ok"
}

fn markdown(title: &str, what: &str, rows: &[(&str, &Value)]) -> String {
    let failures = rows.iter().filter(|(_, v)| failed(v)).count();
    let mut md = format!(
        "### {title}: {} {what}{}, {}\n\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if failures == 0 {
            "all ok".to_owned()
        } else {
            format!("{failures} failed")
        }
    );
    md.push_str(&format!(
        "| {what} | status | moved | skipped | verified | duration | link |\n\
         | --- | --- | ---: | ---: | --- | ---: | --- |\n"
    ));
    for (name, v) in rows {
        let count = |files: &str, bytes: &str| match v[files].as_u64() {
            Some(n) => format!("{n} ({})", human_bytes(v[bytes].as_u64().unwrap_or(0))),
            None => "–".into(),
        };
        let (moved, skipped) = if v["type"] == "plan" {
            (count("files_to_move", "bytes_to_move"), "–".to_owned())
        } else {
            (
                count("files_moved", "bytes_moved"),
                count("files_skipped", "bytes_skipped"),
            )
        };
        let verified = match v["verified"].as_bool() {
            Some(true) => "✅ yes",
            Some(false) => "❌ no",
            None => "–",
        };
        let duration = v["duration_s"].as_f64().map_or("–".into(), human_duration);
        let link = match v["dest_url"].as_str() {
            Some(url) => format!(
                "[{}]({})",
                cell(v["dest"].as_str().unwrap_or(url)),
                cell(url)
            ),
            None => cell(v["dest"].as_str().unwrap_or("–")),
        };
        md.push_str(&format!(
            "| {} | {} | {moved} | {skipped} | {verified} | {duration} | {link} |\n",
            cell(name),
            status(v)
        ));
    }
    let errors: Vec<String> = rows
        .iter()
        .filter(|(_, v)| failed(v))
        .map(|(name, v)| format!("- **{}**: {}", cell(name), cell(&first_error(v))))
        .collect();
    if !errors.is_empty() {
        md.push_str(&format!("\n{}\n", errors.join("\n")));
    }
    md.push('\n');
    md
}

/// Table cells: a `|` would end the cell, a newline the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn first_error(v: &Value) -> String {
    v["errors"]
        .as_array()
        .and_then(|e| e.first())
        .and_then(Value::as_str)
        .unwrap_or("failed without an error message (see the job log)")
        .to_owned()
}

fn annotate(p: &Printer, rows: &[(&str, &Value)]) {
    let mut lines = Vec::new();
    for (name, v) in rows {
        if failed(v) {
            let msg = format!("{name}: {} — {}", status(v), first_error(v));
            lines.push(command("error", name, &msg));
        } else if v["type"] != "plan" && v["verified"] != true {
            let msg = format!("{name}: finished but not verified");
            lines.push(command("warning", name, &msg));
        }
    }
    if lines.is_empty() {
        return;
    }
    let text = p.scrub(&lines.join("\n")) + "\n";
    // A closed pipe is not worth failing the run over.
    let _ = if p.json_mode() {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
}

/// `::LEVEL title=…::message`, escaped as GitHub's workflow-command parser expects.
fn command(level: &str, name: &str, message: &str) -> String {
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    format!(
        "::{level} title={}::{}",
        property(&format!("hubferry: {name}")),
        data(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(
            command("error", "a,b:c", "50% done\nnext"),
            "::error title=hubferry%3A a%2Cb%3Ac::50%25 done%0Anext"
        );
    }

    #[test]
    fn gantt_only_for_several_chunks_with_failed_ones_marked() {
        let one = [("chunk 1".to_owned(), 1.0, 2.0, true)];
        assert_eq!(gantt(&one), "");
        let two = [one[0].clone(), ("chunk 2".to_owned(), 1.5, 1.5, false)];
        let g = gantt(&two);
        assert!(g.starts_with("```mermaid\ngantt\n"), "{g}");
        assert!(g.contains("  chunk 1 :done, c0, 1000, 2000\n"), "{g}");
        assert!(g.contains("  chunk 2 :crit, c1, 1500, 1501\n"), "{g}");
    }

    #[test]
    fn table_rows_cover_reports_errors_and_plans() {
        let ok = serde_json::json!({"type": "report", "status": "ok", "verified": true,
            "files_moved": 3, "bytes_moved": 2048, "files_skipped": 1, "bytes_skipped": 10,
            "duration_s": 2.5, "dest": "ms:model:a/b@master", "dest_url": "https://x/a/b"});
        let bad = serde_json::json!({"type": "report", "status": "error", "verified": false,
            "files_moved": 0, "bytes_moved": 0, "files_skipped": 0, "bytes_skipped": 0,
            "duration_s": 0.0, "dest": "hf:model:c/d", "dest_url": null, "errors": ["no such repo"]});
        let plan = serde_json::json!({"type": "plan", "files_to_move": 0, "files_to_delete": 0});
        let md = markdown(
            "t",
            "mirror",
            &[("one", &ok), ("two", &bad), ("three", &plan)],
        );
        assert!(md.starts_with("### t: 3 mirrors, 1 failed\n"), "{md}");
        assert!(md.contains("| one | ok | 3 (2.0 kB) | 1 (10 B) | ✅ yes | 2.5s | [ms:model:a/b@master](https://x/a/b) |"), "{md}");
        assert!(
            md.contains("| two | error | 0 (0 B) | 0 (0 B) | ❌ no | 0.0s | hf:model:c/d |"),
            "{md}"
        );
        assert!(
            md.contains("| three | current | 0 (0 B) | – | – | – | – |"),
            "{md}"
        );
        assert!(md.contains("- **two**: no such repo"), "{md}");
    }
}
