//! Worker job files (`docs/job-file.md`) written from a [`Plan`]: one per chunk, borrowing the
//! manifest so even a million-file plan serializes without building JSON values first.

use serde::Serialize;
use serde_json::Value;

use super::{Method, Plan, Visibility};
use crate::repo_ref::{Platform, RepoRef};

/// Files per commit to a Hugging Face destination: the Hub's documented advice (under 100 files
/// per commit, which its 60 s commit timeout is sized for). huggingface_hub's own Xet upload goes
/// higher (250 at first, 20–1000) only because it times every commit against a 40 s target and
/// shrinks after a slow one; a worker that does not time its commits stays at the advice.
pub const HF_COMMIT_FILES: u32 = 100;
/// Files per commit to a ModelScope destination: what its own client commits at once
/// (`UPLOAD_COMMIT_BATCH_MAX_OPERATIONS`, 256), well under the 2000 actions it refuses with 422.
pub const MS_COMMIT_FILES: u32 = 256;

/// Files per destination commit that hubferry writes into its jobs (`commit_max_files`).
pub fn commit_files(dest: Platform) -> u32 {
    match dest {
        Platform::Hf => HF_COMMIT_FILES,
        Platform::Ms => MS_COMMIT_FILES,
    }
}

/// Worker knobs that do not come from the command line; the defaults suit one Modal container,
/// [`JobTuning::for_plan`] sets the streams the plan chose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobTuning {
    pub staging_budget_bytes: u64,
    pub download_workers: u32,
    pub upload_workers: u32,
    pub commit_max_files: u32,
    pub verify: bool,
}

impl Default for JobTuning {
    fn default() -> Self {
        JobTuning {
            staging_budget_bytes: 10_000_000_000,
            download_workers: 4,
            upload_workers: 4,
            commit_max_files: 200,
            verify: true,
        }
    }
}

impl JobTuning {
    /// The defaults, with the downloads and uploads per container the plan chose
    /// ([`Plan::streams`]) and the destination hub's files per commit ([`commit_files`]).
    pub fn for_plan(plan: &Plan) -> Self {
        let streams = plan.streams();
        JobTuning {
            download_workers: streams.downloads,
            upload_workers: streams.uploads,
            commit_max_files: commit_files(plan.dest.platform),
            ..JobTuning::default()
        }
    }
}

impl Plan {
    /// The worker job files (contract in `docs/job-file.md`), one per chunk, with ids
    /// `{job_prefix}c{index}`. For plans with many files prefer [`Plan::job`], which serializes
    /// straight from the manifest without building JSON values.
    pub fn job_files(&self, job_prefix: &str, tuning: &JobTuning) -> Vec<Value> {
        (0..self.transfer.chunks.len())
            .map(|i| {
                serde_json::to_value(self.job(i, job_prefix, tuning)).expect("job files serialize")
            })
            .collect()
    }

    /// The job file of chunk `index` as a borrowed, serializable view (`serde_json::to_writer`).
    ///
    /// Every job lists exactly the files the plan selected for it (`files: [...]`): the worker
    /// matches no pattern itself. A `--delete` plan is one job (see [`super::plan_transfer`]) that
    /// also carries the destination paths the plan decided to delete (`options.delete_paths`).
    pub fn job<'a>(&'a self, index: usize, job_prefix: &str, tuning: &'a JobTuning) -> JobFile<'a> {
        let chunk = &self.transfer.chunks[index];
        let source_revision = self
            .source_sha
            .clone()
            .or_else(|| self.source.revision.clone())
            .unwrap_or_else(|| self.source.platform.default_revision().to_string());
        let dest_revision = self
            .dest
            .revision
            .clone()
            .unwrap_or_else(|| self.dest.platform.default_revision().to_string());
        JobFile {
            hubferry_job: 1,
            job: format!("{job_prefix}c{}", chunk.index),
            source: JobSide::of(&self.source, source_revision),
            dest: JobSide::of(&self.dest, dest_revision),
            files: JobFiles {
                plan: self,
                files: &chunk.files,
            },
            chunk: JobChunk {
                index: chunk.index,
                count: self.transfer.chunks.len(),
            },
            method: self.options.method,
            options: JobOptions {
                visibility: self.dest_visibility,
                allow_public_gated: self.options.allow_public_gated,
                delete_paths: DeletePaths(self),
                card: self.card.as_ref().map(|c| JobCard {
                    path: &c.path,
                    text: &c.text,
                }),
                tuning,
            },
        }
    }
}

/// One worker job file (`docs/job-file.md`), borrowing from its [`Plan`].
#[derive(Debug, Serialize)]
pub struct JobFile<'a> {
    hubferry_job: u32,
    pub job: String,
    source: JobSide<'a>,
    dest: JobSide<'a>,
    files: JobFiles<'a>,
    chunk: JobChunk,
    method: Method,
    options: JobOptions<'a>,
}

#[derive(Debug, Serialize)]
struct JobSide<'a> {
    platform: crate::repo_ref::Platform,
    repo_id: &'a str,
    repo_type: crate::repo_ref::RepoType,
    revision: String,
}

impl<'a> JobSide<'a> {
    fn of(r: &'a RepoRef, revision: String) -> Self {
        JobSide {
            platform: r.platform,
            repo_id: &r.id,
            repo_type: r.repo_type_or_model(),
            revision,
        }
    }
}

#[derive(Debug, Serialize)]
struct JobChunk {
    index: usize,
    count: usize,
}

#[derive(Debug, Serialize)]
struct JobOptions<'a> {
    visibility: Visibility,
    allow_public_gated: bool,
    delete_paths: DeletePaths<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card: Option<JobCard<'a>>,
    #[serde(flatten)]
    tuning: &'a JobTuning,
}

/// `options.card`: the README the worker writes instead of the source's bytes.
#[derive(Debug, Serialize)]
struct JobCard<'a> {
    path: &'a str,
    text: &'a str,
}

/// The destination paths the plan deletes, written straight from its manifest.
struct DeletePaths<'a>(&'a Plan);

impl std::fmt::Debug for DeletePaths<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} paths", self.0.transfer.to_delete.len())
    }
}

impl Serialize for DeletePaths<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.files_to_delete().map(|f| f.path.as_str()))
    }
}

/// A chunk's files as `[{path, size, sha256, git_oid}]`, written straight from the manifest.
struct JobFiles<'a> {
    plan: &'a Plan,
    files: &'a [u32],
}

impl std::fmt::Debug for JobFiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} files", self.files.len())
    }
}

impl Serialize for JobFiles<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item<'a> {
            path: &'a str,
            size: u64,
            sha256: Option<crate::manifest::Sha256>,
            git_oid: Option<crate::manifest::GitOid>,
        }
        s.collect_seq(self.files.iter().map(|&i| {
            let f = &self.plan.source_manifest.files[i as usize];
            Item {
                path: &f.path,
                size: f.size,
                sha256: f.sha256,
                git_oid: f.git_oid,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{plan_transfer, ChunkSettings, PathFilter, PlanOptions, VisibilityChoice};
    use super::*;
    use crate::manifest::tests::entry;
    use crate::manifest::Manifest;

    fn settings(parallel: bool, bytes: u64) -> ChunkSettings {
        ChunkSettings {
            parallel,
            chunk_size_bytes: Some(bytes),
            sizing: crate::cost::Sizing::default(),
        }
    }

    fn test_plan(delete: bool, parallel: bool) -> Plan {
        use crate::repo_ref::{Platform, RepoType};
        let source_manifest = Manifest::from_entries(vec![
            entry("a.bin", 300, Some(1), None),
            entry("b.txt", 20, None, Some(2)),
            entry("c.bin", 200, Some(3), None),
            entry("d.txt", 10, None, Some(4)),
        ]);
        let dest_manifest = Manifest::from_entries(vec![entry("old.txt", 1, Some(5), None)]);
        let transfer = plan_transfer(
            &source_manifest,
            &dest_manifest,
            &PathFilter::all(),
            delete,
            settings(parallel, 1),
        );
        let side = |platform, id: &str, rev: &str| RepoRef {
            platform,
            repo_type: Some(RepoType::Dataset),
            id: id.into(),
            revision: Some(rev.into()),
        };
        Plan {
            source: side(Platform::Hf, "acme/data", "main"),
            source_sha: Some("a".repeat(40)),
            dest: side(Platform::Ms, "acme-ms/data", "master"),
            source_private: false,
            source_gated: true,
            dest_exists: true,
            dest_visibility: Visibility::Private,
            source_manifest,
            dest_manifest,
            transfer,
            options: PlanOptions {
                method: Method::Api,
                visibility_choice: VisibilityChoice::Source,
                allow_public_gated: false,
                delete,
                include: vec![],
                exclude: vec!["*.tmp".into()],
                parallel,
            },
            warnings: vec![],
            dest_url: "http://ms/datasets/acme-ms/data".into(),
            preflight_s: 0.1,
            card: None,
        }
    }

    #[test]
    fn chunk_jobs_follow_the_job_file_contract() {
        let plan = test_plan(false, true);
        let jobs = plan.job_files("r7", &JobTuning::default());
        assert_eq!(jobs.len(), 4);
        let j = &jobs[1];
        assert_eq!(j["hubferry_job"], 1);
        assert_eq!(j["job"], "r7c1");
        assert_eq!(
            j["source"],
            serde_json::json!({"platform": "hf", "repo_id": "acme/data", "repo_type": "dataset", "revision": "a".repeat(40)})
        );
        assert_eq!(j["dest"]["revision"], "master");
        assert_eq!(j["chunk"], serde_json::json!({"index": 1, "count": 4}));
        assert_eq!(j["method"], "api");
        assert_eq!(
            j["options"],
            serde_json::json!({"visibility": "private", "allow_public_gated": false, "delete_paths": [],
                "staging_budget_bytes": 10_000_000_000u64,
                "download_workers": 4, "upload_workers": 4, "commit_max_files": 200, "verify": true})
        );
        let mut all: Vec<String> = Vec::new();
        for j in &jobs {
            let files = j["files"].as_array().unwrap();
            assert_eq!(files.len(), 1);
            let f = files[0].as_object().unwrap();
            assert_eq!(
                f.keys().collect::<Vec<_>>(),
                vec!["git_oid", "path", "sha256", "size"]
            );
            all.push(f["path"].as_str().unwrap().to_string());
        }
        all.sort();
        assert_eq!(all, vec!["a.bin", "b.txt", "c.bin", "d.txt"]);
        let a = jobs
            .iter()
            .flat_map(|j| j["files"].as_array().unwrap())
            .find(|f| f["path"] == "a.bin")
            .unwrap();
        assert_eq!(a["sha256"], "01".repeat(32));
        assert_eq!(a["git_oid"], Value::Null);
    }

    #[test]
    fn jobs_commit_as_many_files_as_the_destination_hub_takes_at_once() {
        let mut plan = test_plan(false, false);
        assert_eq!(JobTuning::for_plan(&plan).commit_max_files, MS_COMMIT_FILES);
        std::mem::swap(&mut plan.source, &mut plan.dest);
        assert_eq!(JobTuning::for_plan(&plan).commit_max_files, HF_COMMIT_FILES);
        let job = plan.job_files("r0", &JobTuning::for_plan(&plan));
        assert_eq!(job[0]["options"]["commit_max_files"], 100);
    }

    #[test]
    fn delete_plans_are_one_whole_repo_job() {
        let plan = test_plan(true, true);
        assert_eq!(plan.transfer.chunks.len(), 1);
        assert!(plan
            .transfer
            .warnings
            .iter()
            .any(|w| w.contains("--delete")));
        let jobs = plan.job_files("r0", &JobTuning::default());
        assert_eq!(jobs.len(), 1);
        let files: Vec<&str> = jobs[0]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(files, vec!["a.bin", "b.txt", "c.bin", "d.txt"]);
        assert_eq!(
            jobs[0]["options"]["delete_paths"],
            serde_json::json!(["old.txt"])
        );
    }

    /// The shared job fixture is exactly what the orchestrator writes for a `--delete` plan; the
    /// worker's side of the contract (tests/py/test_events_fixture.py) parses the same file.
    #[test]
    fn the_job_fixture_is_what_the_plan_renders() {
        let fixture: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/job_v1.json")).unwrap();
        let rendered = test_plan(true, false).job_files("r1", &JobTuning::default());
        assert_eq!(rendered, vec![fixture]);
    }

    /// The worker's own parser accepts what the orchestrator writes (both job shapes).
    #[test]
    fn the_worker_accepts_the_job_files() {
        use std::io::Write;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup",
            python.display()
        );
        let mut jobs = test_plan(false, true).job_files("r0", &JobTuning::default());
        jobs.extend(test_plan(true, false).job_files("r1", &JobTuning::default()));
        let code = "import json, sys\nfrom hubferry_worker.job import parse_job\n\
                    print(sum(len(parse_job(j).files) for j in json.load(sys.stdin)))";
        let mut child = std::process::Command::new(python)
            .args(["-c", code])
            .env("PYTHONPATH", root.join("modal"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(Value::Array(jobs).to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
    }
}
