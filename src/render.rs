//! Rendering a run: the embedded Modal app template and worker package, a settings file, and one
//! job file per repository or chunk, written into a fresh temporary directory.
//!
//! The `modal/` directory's source files are compiled into the binary (`build.rs` lists them), so
//! an installed `hubferry` works from any directory. Nothing user-controlled is spliced into Python: the app reads its
//! knobs from `hubferry_app.json` and the jobs from JSON files; neither holds a secret (secret
//! *names* only — values travel in the child's environment).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::tools::WORKER_PACKAGES;

include!(concat!(env!("OUT_DIR"), "/modal_files.rs"));

/// File name of the app template inside the rendered directory.
pub const APP_FILE: &str = "app.py";
/// File name of the settings the app reads.
pub const SETTINGS_FILE: &str = "hubferry_app.json";
/// Name of the worker package (a directory next to the app).
pub const WORKER_PACKAGE: &str = "hubferry_worker";

/// Environment variables the container may receive (through `Secret.from_local_environ`); only
/// the ones that are set in the child's environment are listed in the rendered settings.
pub const CONTAINER_ENV: &[&str] = &[
    "HF_TOKEN",
    "HF_ENDPOINT",
    "HF_HUB_DISABLE_XET",
    "MODELSCOPE_API_TOKEN",
    "MODELSCOPE_ENDPOINT",
];

/// The knobs of the Modal app (written as `hubferry_app.json`).
#[derive(Debug, Clone, Serialize)]
pub struct AppSettings {
    pub app_name: String,
    pub python_version: String,
    pub apt_packages: Vec<String>,
    pub pip_packages: Vec<String>,
    pub timeout_s: u64,
    pub retries: u32,
    pub cpu: f64,
    pub memory_mib: u64,
    pub ephemeral_disk_mib: u64,
    pub max_containers: u32,
    /// Names (never values) of the environment variables turned into the app's secret.
    pub secret_env: Vec<String>,
}

impl AppSettings {
    /// Defaults for a migration; `secret_env` lists the variables present in `child_env`.
    pub fn for_env(child_env: &[(String, String)]) -> Self {
        let secret_env = CONTAINER_ENV
            .iter()
            .filter(|name| child_env.iter().any(|(k, _)| k == *name))
            .map(|s| s.to_string())
            .collect();
        Self {
            app_name: "hubferry".into(),
            python_version: "3.11".into(),
            apt_packages: vec!["git".into(), "git-lfs".into()],
            pip_packages: WORKER_PACKAGES
                .iter()
                .map(|(name, _, version)| format!("{name}=={version}"))
                .collect(),
            timeout_s: 24 * 60 * 60,
            retries: 2,
            cpu: 2.0,
            memory_mib: 4096,
            ephemeral_disk_mib: 65536,
            max_containers: 100,
            secret_env,
        }
    }
}

/// A rendered run directory; deleted when dropped.
pub struct Rendered {
    dir: tempfile::TempDir,
    /// One job file per job, in job order.
    pub job_files: Vec<PathBuf>,
    /// All jobs in one file (what the Modal entrypoint reads).
    pub jobs_file: PathBuf,
    /// Job ids, in job order.
    pub job_ids: Vec<String>,
}

impl Rendered {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn app_file(&self) -> PathBuf {
        self.dir.path().join(APP_FILE)
    }
}

/// Writes the embedded `modal/` tree into `dest`.
pub fn write_templates(dest: &Path) -> anyhow::Result<()> {
    for (rel, contents) in MODAL_FILES {
        let target = dest.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, contents)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

/// Renders templates, settings and jobs into a new temporary directory.
pub fn render(jobs: &[serde_json::Value], settings: &AppSettings) -> anyhow::Result<Rendered> {
    crate::run_dirs::remove_stale(&std::env::temp_dir());
    let dir = tempfile::Builder::new()
        .prefix(crate::run_dirs::PREFIX)
        .tempdir()
        .context("creating the temporary run directory")?;
    crate::run_dirs::claim(dir.path()).context("writing the run directory's owner")?;
    write_templates(dir.path())?;
    let settings_path = dir.path().join(SETTINGS_FILE);
    std::fs::write(&settings_path, serde_json::to_vec_pretty(settings)?)
        .with_context(|| format!("writing {}", settings_path.display()))?;
    let jobs_dir = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs_dir)?;
    let mut job_files = Vec::with_capacity(jobs.len());
    let mut job_ids = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let id = job
            .get("job")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("j{i}"));
        // The id is ours (plan-generated), but a file name must never be a path.
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = jobs_dir.join(format!("{i:03}-{safe}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(job)?)
            .with_context(|| format!("writing job file {}", path.display()))?;
        job_files.push(path);
        job_ids.push(id);
    }
    let jobs_file = dir.path().join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_vec(jobs)?)
        .with_context(|| format!("writing {}", jobs_file.display()))?;
    Ok(Rendered {
        dir,
        job_files,
        jobs_file,
        job_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_app_worker_settings_and_jobs() {
        let jobs = vec![
            serde_json::json!({"hubferry_job": 1, "job": "r0c0"}),
            serde_json::json!({"hubferry_job": 1, "job": "r0c1"}),
        ];
        let env = vec![("HF_TOKEN".to_string(), "hf_canary".to_string())];
        let r = render(&jobs, &AppSettings::for_env(&env)).unwrap();
        assert!(r.app_file().is_file());
        assert!(r.root().join(WORKER_PACKAGE).join("__init__.py").is_file());
        let settings = std::fs::read_to_string(r.root().join(SETTINGS_FILE)).unwrap();
        assert!(settings.contains("\"HF_TOKEN\""));
        assert!(!settings.contains("hf_canary"));
        assert_eq!(r.job_ids, ["r0c0", "r0c1"]);
        assert_eq!(r.job_files.len(), 2);
        let root = r.root().to_path_buf();
        drop(r);
        assert!(!root.exists(), "the run directory is removed on drop");
    }

    /// The embedded tree is the checkout's `modal/` sources exactly: a file added since the last
    /// build (which `build.rs` tracks file by file) or a bytecode cache would show here.
    #[test]
    fn embeds_every_source_file_of_modal_and_no_caches() {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() && name != "__pycache__" {
                    walk(root, &path, out);
                } else if path.is_file() && !name.ends_with(".pyc") {
                    let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                    out.push(rel.replace('\\', "/"));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("modal");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let embedded: Vec<String> = MODAL_FILES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(embedded, on_disk, "hint: touch build.rs to re-embed modal/");
        assert!(embedded.iter().any(|p| p == "hubferry_worker/__main__.py"));
    }
}
