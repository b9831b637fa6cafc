//! The detached-run registry: one JSON file per run under `<state dir>/runs/`.
//!
//! A record holds what `logs`, `status` and `stop` need later — the plan's destination and expected
//! manifest (to verify), the job ids, the Modal app ids, the first worker event, the last known
//! status and report — and never a secret. The state directory is `$HUBFERRY_STATE_DIR`, else
//! `$XDG_STATE_HOME/hubferry`, else `~/.local/state/hubferry`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::report::Report;

/// Resolves the state directory (without creating it).
pub fn state_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("hubferry"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/hubferry")),
        None => Err(
            CliError::bad_input("cannot find a state directory: HOME is not set")
                .with_hint("set HUBFERRY_STATE_DIR to a writable directory")
                .into(),
        ),
    }
}

/// Everything recorded about one detached run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds when `modal run --detach` was started (the run's wall time, for the
    /// throughput history, counts from here); absent in records of an older hubferry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_at: Option<f64>,
    pub backend: String,
    pub source: String,
    pub dest: String,
    pub dest_url: Option<String>,
    pub app_ids: Vec<String>,
    pub jobs: Vec<String>,
    /// The first worker event seen after launch (proof the workers started).
    pub first_event: Option<serde_json::Value>,
    /// The plan as `--dry-run --json` prints it, without the per-file lists.
    #[serde(default)]
    pub plan: serde_json::Value,
    /// What the orchestrator needs to verify the destination later (destination ref and the
    /// expected manifest), as written by the migrate command.
    pub verify: serde_json::Value,
    /// Files and bytes the plan found at the destination (no worker reports them).
    #[serde(default)]
    pub skipped_by_plan: (u64, u64),
    /// `running`, `stopped`, or the report's status once known.
    pub state: String,
    pub report: Option<Report>,
}

/// Now, in unix seconds.
pub fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The `runs/` directory of a state directory.
fn runs_dir(state: &Path) -> PathBuf {
    state.join("runs")
}

/// A new run id: `run-` + the creation time in base 36 + 4 random base-36 digits.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    format!(
        "run-{}{}",
        base36(now.as_secs()),
        &base36(hasher.finish() | (1 << 63))[..4]
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// Writes a record (atomically; the directory is private to the user).
pub fn save(state: &Path, record: &RunRecord) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = runs_dir(state);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    let _ = std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o700));
    let path = dir.join(format!("{}.json", record.run_id));
    let tmp = dir.join(format!(".{}.json.tmp", record.run_id));
    std::fs::write(&tmp, serde_json::to_vec_pretty(record)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Loads a record by id (a unique prefix of an id is accepted).
pub fn load(state: &Path, run: &str) -> anyhow::Result<RunRecord> {
    let valid = !run.is_empty()
        && run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(CliError::bad_input(format!("`{run}` is not a run id"))
            .with_hint("list runs with `hubferry runs`")
            .into());
    }
    let all = list(state)?;
    let exact: Vec<&RunRecord> = all.iter().filter(|r| r.run_id == run).collect();
    let matches: Vec<&RunRecord> = if exact.is_empty() {
        all.iter().filter(|r| r.run_id.starts_with(run)).collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(
            CliError::bad_input(format!("no run `{run}` in {}", runs_dir(state).display()))
                .with_hint("list runs with `hubferry runs` (and check HUBFERRY_STATE_DIR)")
                .into(),
        ),
        _ => Err(CliError::bad_input(format!("`{run}` matches several runs"))
            .with_hint("give more of the run id")
            .into()),
    }
}

/// All records, newest first. A missing directory is an empty list.
pub fn list(state: &Path) -> anyhow::Result<Vec<RunRecord>> {
    let dir = runs_dir(state);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_record = path.extension().is_some_and(|e| e == "json")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !is_record {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        match serde_json::from_slice::<RunRecord>(&text) {
            Ok(record) => records.push(record),
            // A record from another hubferry version should not make `runs` unusable.
            Err(_) => continue,
        }
    }
    records.sort_by(|a, b| b.created_at.total_cmp(&a.created_at));
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, created_at: f64) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            created_at,
            launched_at: None,
            backend: "modal".into(),
            source: "hf:model:a/b@main".into(),
            dest: "ms:model:a/b@master".into(),
            dest_url: None,
            app_ids: vec!["ap-0123456789012345678901".into()],
            jobs: vec!["r0".into()],
            first_event: None,
            plan: serde_json::Value::Null,
            verify: serde_json::Value::Null,
            skipped_by_plan: (0, 0),
            state: "running".into(),
            report: None,
        }
    }

    #[test]
    fn records_round_trip_and_prefixes_resolve() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &record("run-aaa1", 1.0)).unwrap();
        save(dir.path(), &record("run-bbb2", 2.0)).unwrap();
        let all = list(dir.path()).unwrap();
        assert_eq!(all[0].run_id, "run-bbb2", "newest first");
        assert_eq!(load(dir.path(), "run-a").unwrap().run_id, "run-aaa1");
        assert!(load(dir.path(), "run-").is_err(), "ambiguous");
        assert!(load(dir.path(), "../etc").is_err(), "not an id");
    }

    #[test]
    fn run_ids_are_unique_and_plain() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert!(a.starts_with("run-") && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
