//! Worker events, protocol v1 (`docs/events.md`): one JSON object per line on the worker's stdout.
//!
//! This module owns the typed form of those lines and the line classifier: a line is an [`Event`],
//! a line that claims to be one but breaks the schema, or plain log text. The worker ships inside
//! this binary, so both sides always speak the same version and the parser is strict: an unknown
//! field is a schema break, not something to skip silently.

use serde::{Deserialize, Serialize};

/// The protocol version this binary speaks (the `hubferry` field of every event).
pub const PROTOCOL: u32 = 1;

/// One worker event: the envelope shared by every type plus the typed body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Protocol version, always [`PROTOCOL`].
    pub hubferry: u32,
    /// Job (repo or chunk) id the event belongs to.
    pub job: String,
    /// Unix seconds when the worker emitted it.
    pub ts: f64,
    /// 1, 2, … for each line one worker process writes (absent from workers that predate it):
    /// lets a reader drop lines it sees twice (see [`crate::log_replay`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Type-specific fields.
    #[serde(flatten)]
    pub body: EventBody,
}

/// A repository side as the worker names it in `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Side {
    pub platform: String,
    pub repo_id: String,
    pub repo_type: String,
    pub revision: String,
}

/// Position of a chunk among its repository's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChunkPos {
    pub index: u32,
    pub count: u32,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Done,
    Skipped,
    Failed,
    Deleted,
}

/// Final status of a job, and of a whole run in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    Failed,
    Partial,
}

impl RunStatus {
    /// The word used in JSON and in human output.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Partial => "partial",
        }
    }
}

/// The totals a worker reports when its job ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    pub status: RunStatus,
    #[serde(flatten)]
    pub totals: crate::totals::Totals,
    pub duration_s: f64,
    pub dest_url: Option<String>,
    pub verified: bool,
    pub fallback_used: bool,
    pub error: Option<String>,
}

/// `start`: a job begins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Start {
    pub source: Side,
    pub dest: Side,
    pub method: String,
    pub chunk: ChunkPos,
    pub files_total: u64,
    pub bytes_total: u64,
}

/// `file`: one file done, skipped, failed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub path: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub status: FileStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `progress`: throttled byte and file counters of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub rate_bps: f64,
}

/// `retry`: an operation will be tried again after `wait_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub op: String,
    pub path: Option<String>,
    pub attempt: u32,
    pub wait_s: f64,
    pub reason: String,
    pub status: Option<u16>,
    /// The wait the server declared (`Retry-After`, either form), when it declared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<f64>,
    /// The worker's ceiling on a single wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<f64>,
}

/// `fallback`: the job switched transfer method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// `warning`: something the user should know, with a short slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// `commit`: a batch of files landed at the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    pub files: u64,
    pub oid: Option<String>,
    pub message: String,
}

/// `verify`: the worker's own check of the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub ok: bool,
    pub matched: u64,
    pub mismatched: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

/// Type-specific part of an event (`type` is the tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Start(Start),
    File(File),
    Progress(Progress),
    Retry(Retry),
    Fallback(Fallback),
    Warning(Warning),
    Commit(Commit),
    Verify(Verify),
    Result(JobResult),
}

impl EventBody {
    /// The `type` tag of this body.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Start(_) => "start",
            EventBody::File(_) => "file",
            EventBody::Progress(_) => "progress",
            EventBody::Retry(_) => "retry",
            EventBody::Fallback(_) => "fallback",
            EventBody::Warning(_) => "warning",
            EventBody::Commit(_) => "commit",
            EventBody::Verify(_) => "verify",
            EventBody::Result(_) => "result",
        }
    }
}

/// What one line of worker output is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A valid protocol v1 event.
    Event(Box<Event>),
    /// A JSON object carrying `"hubferry"` that does not follow the schema (kept with the reason,
    /// because silently dropping it would hide a worker/orchestrator mismatch).
    Invalid { text: String, error: String },
    /// Anything else: log text.
    Log(String),
}

/// Classifies one line of worker output (a trailing newline or `\r` is ignored).
pub fn parse_line(line: &str) -> Line {
    let text = line.trim_end_matches(['\n', '\r']);
    let trimmed = text.trim();
    // Cheap pre-check: most log lines are not JSON at all.
    if !trimmed.starts_with('{') || !trimmed.contains("\"hubferry\"") {
        return Line::Log(text.to_owned());
    }
    match serde_json::from_str::<Event>(trimmed) {
        Ok(event) if event.hubferry == PROTOCOL => Line::Event(Box::new(event)),
        Ok(event) => Line::Invalid {
            text: text.to_owned(),
            error: format!(
                "protocol version {} (this hubferry speaks {PROTOCOL})",
                event.hubferry
            ),
        },
        Err(err) => {
            // A JSON object without "hubferry" as a key (say, a dict printed by user code that
            // mentions the word) is log text, not a broken event.
            match serde_json::from_str::<serde_json::Value>(trimmed) {
                Ok(serde_json::Value::Object(map)) if map.contains_key("hubferry") => {
                    Line::Invalid {
                        text: text.to_owned(),
                        error: err.to_string(),
                    }
                }
                _ => Line::Log(text.to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../tests/fixtures/events_v1.ndjson");

    /// Numbers compare by value so that `2` and `2.0` are the same after a round trip.
    fn normalize(value: Value) -> Value {
        match value {
            Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
            Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
            Value::Object(map) => map.into_iter().map(|(k, v)| (k, normalize(v))).collect(),
            other => other,
        }
    }

    #[test]
    fn every_fixture_line_parses_and_round_trips() {
        let mut kinds = std::collections::BTreeSet::new();
        let mut logs = 0;
        for line in FIXTURE.lines() {
            match parse_line(line) {
                Line::Event(event) => {
                    kinds.insert(event.body.kind());
                    let back = serde_json::to_value(&*event).unwrap();
                    let original: Value = serde_json::from_str(line).unwrap();
                    assert_eq!(normalize(back), normalize(original), "{line}");
                }
                Line::Log(_) => logs += 1,
                Line::Invalid { error, text } => panic!("fixture line rejected: {error}: {text}"),
            }
        }
        let all = [
            "start", "file", "progress", "retry", "fallback", "warning", "commit", "verify",
            "result",
        ];
        assert_eq!(kinds, all.into_iter().collect());
        assert!(logs >= 1, "the fixture carries a log line");
    }

    #[test]
    fn unknown_fields_and_versions_are_rejected_not_ignored() {
        let extra = r#"{"hubferry":1,"type":"warning","job":"j","ts":1.0,"code":"x","message":"m","new":1}"#;
        assert!(matches!(parse_line(extra), Line::Invalid { .. }));
        let v2 = r#"{"hubferry":2,"type":"warning","job":"j","ts":1.0,"code":"x","message":"m"}"#;
        assert!(matches!(parse_line(v2), Line::Invalid { .. }));
        let unknown = r#"{"hubferry":1,"type":"dance","job":"j","ts":1.0}"#;
        assert!(matches!(parse_line(unknown), Line::Invalid { .. }));
        let bad_seq = r#"{"hubferry":1,"type":"warning","job":"j","ts":1.0,"seq":-1,"code":"x","message":"m"}"#;
        assert!(matches!(parse_line(bad_seq), Line::Invalid { .. }));
    }

    #[test]
    fn seq_is_read_when_present_and_optional() {
        let with = r#"{"hubferry":1,"type":"warning","job":"j","ts":1.0,"seq":7,"code":"x","message":"m"}"#;
        let without =
            r#"{"hubferry":1,"type":"warning","job":"j","ts":1.0,"code":"x","message":"m"}"#;
        let seq = |line| match parse_line(line) {
            Line::Event(e) => e.seq,
            other => panic!("{other:?}"),
        };
        assert_eq!(seq(with), Some(7));
        assert_eq!(seq(without), None);
    }

    #[test]
    fn log_text_stays_log_text() {
        for text in [
            "",
            "plain",
            "{not json",
            r#"{"other": "hubferry"}"#,
            "[1,2]",
        ] {
            assert_eq!(parse_line(text), Line::Log(text.to_owned()));
        }
        assert_eq!(parse_line("x\r\n"), Line::Log("x".into()));
    }
}
