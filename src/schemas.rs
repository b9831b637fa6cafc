//! JSON Schemas of the `--json` objects scripts and agents read (docs/schemas/*.json), generated
//! from Rust types: the worker event and the report are the types hubferry itself parses and
//! prints; the plan, error and doctor objects are described here (the plan is serialized through
//! a private view in plan.rs, the error and doctor objects were built ad hoc). Every `--json` line
//! the Python tests see is validated against these files (`tests/py/json_schemas.py`), so a field
//! added to an output without its schema fails there; `schema_files_match_the_types` fails when a
//! type changed and the files were not regenerated (`HUBFERRY_WRITE_SCHEMAS=1 cargo test --lib
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
    pub options: PlanOptionsObject,
    pub warnings: Vec<String>,
    pub preflight_s: f64,
    pub to_move: Vec<FileObject>,
    pub to_skip: Vec<FileObject>,
    pub to_delete: Vec<FileObject>,
    /// `sync --dry-run` only: the mirror's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// `sync --dry-run` only: the files listed proved equal by a content check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_by_content: Option<bool>,
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
    ]
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
    fn the_error_object_has_the_documented_fields() {
        let v = ErrorObject::new(2, "bad", vec![], Some("fix it".into())).to_value();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "exit_code": 2, "message": "bad",
                               "causes": [], "hint": "fix it"})
        );
    }
}
