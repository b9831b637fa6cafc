//! JSON Schemas of the `--json` objects scripts and agents read (docs/schemas/*.json), generated
//! from Rust types: the worker event and the report are the types hubferry itself parses and
//! prints; the plan, error and doctor objects are described here (the plan is serialized through
//! a private view in plan.rs, the error and doctor objects were built ad hoc). Every `--json` line
//! the tests see is validated against these files (`tests/py/schema_check.py`, for the Rust
//! integration tests and the Python ones), so a field added to an output without its schema, or a
//! new object type without one, fails there; `schema_files_match_the_types` fails when a type
//! changed and the files were not regenerated (`HUBFERRY_WRITE_SCHEMAS=1 cargo test --lib
//! schemas` rewrites them).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// `{"type": "error", …}`: a command that failed before it could report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorObject {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: ErrorKind,
    /// The process exit code (docs/report.md): 1 failed, 2 bad input, 3 credentials, 4 partial, 130 interrupted.
    pub exit_code: u8,
    pub message: String,
    /// The causes along the error chain, outermost first.
    pub causes: Vec<String>,
    /// What to do about it, when hubferry knows.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Error,
}

impl ErrorObject {
    pub fn new(exit_code: u8, message: &str, causes: Vec<String>, hint: Option<String>) -> Self {
        Self {
            kind: ErrorKind::Error,
            exit_code,
            message: message.to_owned(),
            causes,
            hint,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `{"type": "check", …}`: one line of `doctor --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckObject {
    /// Always `check`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub ok: bool,
    /// Human-readable detail.
    pub detail: String,
    /// The fix, for a failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// `{"type": "doctor", …}`: the last line of `doctor --json`, with what the checks found as fields.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorObject {
    /// Always `doctor`.
    #[serde(rename = "type")]
    pub kind: String,
    /// True when every check passed.
    pub ok: bool,
    /// The Hugging Face token's identity (null when absent or refused).
    pub hf: Option<HubIdentity>,
    /// The ModelScope token's identity (null when absent or refused).
    pub modelscope: Option<HubIdentity>,
    /// What `modal token info` said (null when not checked or refused).
    pub modal: Option<ModalIdentity>,
    /// Local tools by name (`modal`, `git`, `git-lfs`, `python`): where, and which version.
    pub tools: BTreeMap<String, ToolInfo>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubIdentity {
    pub user: String,
    /// Organizations the token's user belongs to (Hugging Face lists them; for ModelScope, which
    /// has no such API, the ones named in `HUBFERRY_MS_ORGS`).
    pub organizations: Vec<String>,
    /// The hub's base URL.
    pub endpoint: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModalIdentity {
    pub workspace: String,
    pub user: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    /// The executable found (null when missing).
    pub path: Option<String>,
    /// The first line its `--version` printed.
    pub version: Option<String>,
}

/// `{"type": "plan", …}`: `migrate --dry-run --json` (the view `Plan` serializes to in plan.rs).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanObject {
    /// Always `plan`.
    #[serde(rename = "type")]
    pub kind: String,
    pub source: RepoObject,
    /// The commit the source revision points at (HF only).
    pub source_sha: Option<String>,
    pub dest: RepoObject,
    pub dest_url: String,
    pub source_private: bool,
    pub source_gated: bool,
    pub dest_exists: bool,
    pub dest_visibility: VisibilityName,
    pub source_files: FilesSummary,
    pub dest_files: FilesSummary,
    pub files_to_move: u64,
    pub bytes_to_move: u64,
    pub files_to_skip: u64,
    pub bytes_to_skip: u64,
    pub files_to_delete: u64,
    pub files_excluded: u64,
    /// Destination files the source lacks (kept unless `--delete`).
    pub dest_extra: u64,
    pub eta_s: f64,
    /// ETA, container-seconds, cost, the rates used, and why this many chunks (docs/cost.md).
    pub estimate: crate::cost::Estimate,
    pub chunk_size_bytes: u64,
    pub chunks: Vec<ChunkObject>,
    /// Downloads and uploads each container runs at once (the jobs' `download_workers` and
    /// `upload_workers`), chosen from the plan (docs/job-file.md, "Streams").
    pub streams: StreamsObject,
    pub options: PlanOptionsObject,
    pub warnings: Vec<String>,
    pub preflight_s: f64,
    pub to_move: Vec<FileObject>,
    pub to_skip: Vec<FileObject>,
    pub to_delete: Vec<FileObject>,
    /// The source's README mapped for the destination hub (null: it moves as it is).
    pub card: Option<CardObject>,
    /// `sync --dry-run` only: the mirror's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// `sync --dry-run` only: the files listed proved equal by a content check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_by_content: Option<bool>,
    /// `sync --dry-run` only: what the destination's last commit says it mirrors (absent when
    /// it names nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::provenance::Provenance>,
}

/// A README's front matter mapped for the other hub (src/cards.rs).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardObject {
    pub path: String,
    /// One entry per changed field (`before` null: added).
    pub changes: Vec<crate::cards::CardChange>,
    /// The destination already holds exactly this card.
    pub at_dest: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoObject {
    pub platform: PlatformName,
    pub repo_type: Option<RepoTypeName>,
    /// `namespace/name`.
    pub id: String,
    pub revision: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlatformName {
    Hf,
    Ms,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RepoTypeName {
    Model,
    Dataset,
    Space,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VisibilityName {
    Private,
    Public,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesSummary {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChunkObject {
    pub index: u64,
    pub file_count: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamsObject {
    pub downloads: u64,
    pub uploads: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanOptionsObject {
    pub method: MethodName,
    pub visibility_choice: VisibilityChoiceName,
    pub allow_public_gated: bool,
    pub delete: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub parallel: bool,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodName {
    Auto,
    Api,
    Git,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VisibilityChoiceName {
    Source,
    Private,
    Public,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    pub path: String,
    pub size: u64,
    /// Hex sha256 of the content, when listed.
    pub sha256: Option<String>,
    /// Hex git blob id of the content, when listed.
    pub git_oid: Option<String>,
    pub lfs: bool,
}

/// `{"type": "detached", …}`: `migrate --detach --json`, once the Modal app is launched.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachedObject {
    /// Always `detached`.
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    /// Always `running` at launch.
    pub status: String,
    pub app_ids: Vec<String>,
    /// The worker job ids, one per chunk.
    pub jobs: Vec<String>,
    pub source: String,
    pub dest: String,
    pub dest_url: Option<String>,
}

/// `{"type": "run", …}`: one line per recorded detached run (`runs --json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunObject {
    /// Always `run`.
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    /// Unix seconds.
    pub created_at: f64,
    /// `running`, `ended`, `stopped` (or what the record last said).
    pub state: String,
    pub source: String,
    pub dest: String,
    pub backend: String,
    pub app_ids: Vec<String>,
}

/// `{"type": "run_progress", …}`: `logs RUN --json` without `-f` on a run that has not ended.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunProgressObject {
    /// Always `run_progress`.
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    /// `running` or `stopped`.
    pub state: String,
    pub jobs_done: u64,
    pub jobs_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// `{"type": "run_status", …}`: `status RUN --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStatusObject {
    /// Always `run_status`.
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    /// `running`, `ended` or `stopped`.
    pub state: String,
    pub source: String,
    pub dest: String,
    /// The run's Modal apps and the state `modal app list` gives each.
    pub apps: Vec<AppState>,
    /// The report, once the run has ended and it was rebuilt.
    pub report: Option<crate::report::Report>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    pub app_id: String,
    pub state: String,
}

/// `{"type": "run_stopped", …}`: `stop RUN --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStoppedObject {
    /// Always `run_stopped`.
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    pub app_ids: Vec<String>,
}

/// `{"type": "verify", …}`: `verify SRC DEST --json`, the pair check with both sides named.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VerifyObject {
    /// Always `verify`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `hf:model:ns/name@rev`.
    pub source: String,
    pub dest: String,
    #[serde(flatten)]
    pub check: crate::verify::pair::PairCheck,
}

/// `{"type": "inventory", …}`: `inventory NS --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryObject {
    /// Always `inventory`.
    #[serde(rename = "type")]
    pub kind: String,
    pub namespace: String,
    /// `hf` or `ms`.
    pub on: String,
    pub repos: Vec<InventoryRow>,
    /// Sum of the sizes known.
    pub total_bytes: u64,
    /// With `--check-backup`: where the copies were looked for, and how many were found in which state.
    pub backup: Option<BackupSummary>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryRow {
    pub id: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    pub private: bool,
    pub gated: bool,
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    pub created: Option<String>,
    pub updated: Option<String>,
    /// With `--check-backup`: `verified`, `partial`, `missing`, `n/a` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// The copy looked for on the other hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_repo: Option<String>,
    /// With a `partial` backup: what differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_detail: Option<String>,
    /// What the copy's last commit says it mirrors (a copy hubferry made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_provenance: Option<crate::provenance::Provenance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupSummary {
    pub namespace: String,
    pub on: String,
    pub verified: u64,
    pub partial: u64,
    pub missing: u64,
}

/// `{"type": "retire", …}`: `retire SRC --json`, after the copy was verified.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireObject {
    /// Always `retire`.
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    /// The verified copy that stays.
    pub copy: String,
    pub verified: bool,
    pub deleted: bool,
    /// True without `--confirm`: what would happen.
    pub would_delete: bool,
}

/// `{"type": "batch_report", …}`: the last line of `batch --json` (and, as `apply_report`, of
/// `apply --json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchReportObject {
    /// `batch_report`, or `apply_report` from `apply`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ok`, `partial` or `failed`.
    pub status: String,
    pub repos_total: u64,
    pub repos_ok: u64,
    pub repos_skipped: u64,
    pub repos_failed: u64,
    pub exit_code: u8,
    pub repos: Vec<BatchRepoOutcome>,
}

/// One repository's outcome in a batch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRepoOutcome {
    pub source: String,
    /// Null when preflight refused the line before a destination was known.
    pub dest: Option<String>,
    /// `ok`, `failed`, `partial`, `skipped`, `error` (preflight refused) or `not_started`
    /// (Ctrl-C came first).
    pub status: String,
    pub exit_code: u8,
    pub verified: bool,
    pub files_moved: u64,
    pub bytes_moved: u64,
    pub files_skipped: u64,
    pub bytes_skipped: u64,
    pub duration_s: f64,
    pub dest_url: Option<String>,
    pub error: Option<String>,
}

/// `{"type": "download", …}`: `download SRC --local-dir DIR --json`, once DIR was verified.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadObject {
    /// Always `download`.
    #[serde(rename = "type")]
    pub kind: DownloadKind,
    /// `skipped`: DIR already held a complete, verified copy.
    pub status: DownloadStatus,
    /// Always true: the command fails instead of printing an unverified download.
    pub verified: bool,
    /// `hf:model:ns/name@rev`.
    pub source: String,
    pub local_dir: String,
    /// `none` when nothing was fetched.
    pub method: DownloadMethodName,
    /// The source's files and bytes.
    pub files: u64,
    pub bytes: u64,
    /// What this run fetched.
    pub files_fetched: u64,
    pub bytes_fetched: u64,
    pub duration_s: f64,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DownloadKind {
    Download,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DownloadStatus {
    Done,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DownloadMethodName {
    Git,
    Api,
    None,
}

/// `{"type": "parse_events", …}`: the hidden `parse-events [FILE] --json` (event parser benchmark).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseEventsObject {
    /// Always `parse_events`.
    #[serde(rename = "type")]
    pub kind: ParseEventsKind,
    /// Lines read: `events` + `invalid` + `logs`.
    pub lines: u64,
    /// Lines that parsed as worker events.
    pub events: u64,
    /// Lines that looked like events (`"hubferry"`) but did not parse.
    pub invalid: u64,
    /// Other lines (worker log output).
    pub logs: u64,
    /// Distinct job ids among the events.
    pub jobs: u64,
    pub seconds: f64,
    pub lines_per_s: f64,
    pub mb_per_s: f64,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParseEventsKind {
    ParseEvents,
}

/// `{"type": "revisions", …}`: `migrate --revisions --json` (and a mirror's line of `sync --json`
/// when it mirrors revisions, with `mirror` and `changed`): one outcome per branch and tag.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionsObject {
    /// Always `revisions`.
    #[serde(rename = "type")]
    pub kind: RevisionsKind,
    pub source: String,
    pub dest: String,
    /// The exit code of the whole run (docs/report.md).
    pub exit_code: u8,
    pub refs: Vec<crate::revisions::RefOutcome>,
    /// `sync` only: the mirror's name in the mirrors file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// `sync` only: whether any file moved or any ref was created or updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RevisionsKind {
    Revisions,
}

/// The fields `sync --json` adds to each mirror's report line (a dry run prints plans, which
/// carry `mirror` and `settled_by_content` in plan.json). sync.json is report.json with these
/// fields required and `status` also `error` (the mirror could not run; docs/mirrors.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncFields {
    /// The mirror's name in the mirrors file.
    pub mirror: String,
    /// Whether the mirror moved (or, dry, would move or delete) anything.
    pub changed: bool,
    /// The exit code this mirror alone would give.
    pub exit_code: u8,
}

/// Every published schema: file stem in docs/schemas/ and the schema.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    fn of<T: JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("plan", of::<PlanObject>()),
        ("report", of::<crate::report::Report>()),
        ("event", of::<crate::events::Event>()),
        ("error", of::<ErrorObject>()),
        ("check", of::<CheckObject>()),
        ("doctor", of::<DoctorObject>()),
        ("org-plan-line", of::<crate::org_plan::PlanLine>()),
        ("detached", of::<DetachedObject>()),
        ("run", of::<RunObject>()),
        ("run_progress", of::<RunProgressObject>()),
        ("run_status", of::<RunStatusObject>()),
        ("run_stopped", of::<RunStoppedObject>()),
        ("verify", of::<VerifyObject>()),
        ("inventory", of::<InventoryObject>()),
        ("retire", of::<RetireObject>()),
        ("batch_report", of::<BatchReportObject>()),
        ("download", of::<DownloadObject>()),
        ("parse_events", of::<ParseEventsObject>()),
        ("revisions", of::<RevisionsObject>()),
        (
            "sync",
            sync_report_schema(of::<crate::report::Report>(), of::<SyncFields>()),
        ),
    ]
}

/// report.json, with [`SyncFields`] added (required) and `error` allowed as a `status`.
fn sync_report_schema(
    mut report: serde_json::Value,
    fields: serde_json::Value,
) -> serde_json::Value {
    report["title"] = "SyncReport".into();
    report["description"] =
        "One mirror's line of `sync --json`: its report, with the mirror's name, whether anything changed, and its exit code; `status` is `error` when the mirror could not run.".into();
    if let (Some(props), Some(added)) = (
        report["properties"].as_object_mut(),
        fields["properties"].as_object(),
    ) {
        for (name, schema) in added {
            props.insert(name.clone(), schema.clone());
        }
        props.insert(
            "status".into(),
            serde_json::json!({
                "anyOf": [{"$ref": "#/$defs/RunStatus"}, {"const": "error"}],
                "description": "the run's status, or `error` when the mirror could not run",
            }),
        );
    }
    if let (Some(required), Some(added)) = (
        report["required"].as_array_mut(),
        fields["required"].as_array(),
    ) {
        required.extend(added.iter().cloned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_files_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        let write = std::env::var_os("HUBFERRY_WRITE_SCHEMAS").is_some();
        for (name, schema) in all() {
            let path = dir.join(format!("{name}.json"));
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if write {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == text,
                "{} is out of date with its Rust type: run `HUBFERRY_WRITE_SCHEMAS=1 cargo test --lib schemas`",
                path.display()
            );
        }
    }

    #[test]
    fn every_schema_file_is_generated_and_listed_in_the_readme() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        let generated: std::collections::BTreeSet<String> = all()
            .into_iter()
            .map(|(name, _)| format!("{name}.json"))
            .collect();
        let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        assert_eq!(
            on_disk, generated,
            "docs/schemas holds exactly the files `all()` generates (remove a stale one)"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        for file in &generated {
            assert!(
                readme.contains(&format!("| `{file}` |")),
                "docs/schemas/README.md has no row for {file}"
            );
        }
    }

    #[test]
    fn the_error_object_has_the_documented_fields() {
        let v = ErrorObject::new(2, "bad", vec![], Some("fix it".into())).to_value();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "exit_code": 2, "message": "bad",
                               "causes": [], "hint": "fix it"})
        );
    }
}
