//! The hub sandbox (`scripts/sandbox`) as a child process owned by one test, started with the
//! project's test identities (the same as `tests/py/world.py`), plus seeding through the official
//! Python clients (`huggingface_hub`, `modelscope_hub`) so repos look exactly as real uploads make them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const HF_ALICE: &str = "hf_aliceTESTtoken0000000000000000001";
pub const HF_BOB: &str = "hf_bobTESTtoken00000000000000000002";
pub const MS_ALICE: &str = "ms-alice-test-token-0000000000000001";
pub const MS_BOB: &str = "ms-bob-test-token-00000000000000002";

/// How long the sandbox may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository root (where `scripts/` and `.venv/` are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running sandbox; stopped when dropped.
pub struct Sandbox {
    child: Child,
    pub hf_endpoint: String,
    pub ms_endpoint: String,
    pub admin: String,
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// Starts a sandbox with users alice and bob on both hubs, orgs `hf:acme` and `ms:acme-ms`
    /// (alice a member of both), and waits (bounded) for its ready line.
    pub fn start() -> Sandbox {
        Sandbox::start_with(&[])
    }

    /// Like [`Sandbox::start`], with extra command-line arguments.
    pub fn start_with(extra: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("sandbox.log")).expect("log file");
        let mut cmd = Command::new(repo_root().join("scripts/sandbox"));
        cmd.arg("--state").arg(dir.path().join("state"));
        for (name, tok) in [("alice", HF_ALICE), ("bob", HF_BOB)] {
            cmd.arg("--hf-user").arg(format!("{name}:{tok}"));
        }
        for (name, tok) in [("alice", MS_ALICE), ("bob", MS_BOB)] {
            cmd.arg("--ms-user").arg(format!("{name}:{tok}"));
        }
        cmd.args(["--org", "hf:acme:alice", "--org", "ms:acme-ms:alice"])
            .args(extra);
        let mut child = cmd
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("scripts/sandbox starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the sandbox never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) if !line.trim().is_empty() => line,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log =
                    std::fs::read_to_string(dir.path().join("sandbox.log")).unwrap_or_default();
                panic!("the sandbox did not become ready; its log:\n{log}");
            }
        };
        let ready: Value = serde_json::from_str(line.trim()).expect("the ready line is JSON");
        let field = |k: &str| ready[k].as_str().expect("ready line field").to_string();
        Sandbox {
            hf_endpoint: field("hf_endpoint"),
            ms_endpoint: field("ms_endpoint"),
            admin: field("admin"),
            child,
            dir,
        }
    }

    /// `POST {admin}{path}` with a JSON body (repo settings, users, faults; see docs/sandbox.md);
    /// returns the JSON answer.
    pub fn admin_post(&self, path: &str, body: &Value) -> Value {
        self.admin_request("POST", path, Some(body))
    }

    /// Any admin call (`DELETE /faults`, `GET /stats`…). Plain HTTP/1.1 over loopback, so tests
    /// need no HTTP client.
    pub fn admin_request(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let addr = self
            .admin
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut stream = std::net::TcpStream::connect(&addr).expect("admin endpoint reachable");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer read");
        let (head, json) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "admin {method} {path} failed: {answer}"
        );
        serde_json::from_str(json).expect("admin answers JSON")
    }

    /// A scratch directory that lives as long as the sandbox.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Environment pointing the hub clients (and hubferry) at this sandbox as alice.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HF_ENDPOINT", self.hf_endpoint.clone()),
            ("MODELSCOPE_ENDPOINT", self.ms_endpoint.clone()),
            ("HF_TOKEN", HF_ALICE.to_string()),
            ("MODELSCOPE_API_TOKEN", MS_ALICE.to_string()),
            ("HF_HUB_DISABLE_TELEMETRY", "1".to_string()),
            ("HF_HUB_DISABLE_PROGRESS_BARS", "1".to_string()),
            ("MODELSCOPE_DOWNLOAD_INTRA_CLOUD", "false".to_string()),
        ]
    }

    /// Creates repos and commits files as alice through the official clients. `spec` is a list of
    /// `{"platform": "hf"|"ms", "id": "ns/name", "type": "model"|"dataset"|"space", "private": bool,
    /// "files": {"path": "text content"}, "many": N}` (`many` adds N small generated files).
    pub fn seed(&self, spec: &Value) {
        let home = self.dir.path().join("seed-home");
        std::fs::create_dir_all(&home).expect("seed home");
        let mut cmd = Command::new(repo_root().join(".venv/bin/python"));
        cmd.arg("-c").arg(SEED_PY).current_dir(self.dir.path());
        cmd.env("HOME", &home)
            .env("HF_HOME", home.join("hf"))
            .env("MODELSCOPE_CACHE", home.join("ms"));
        cmd.env("MODELSCOPE_HOME", home.join("ms-home"));
        for (k, v) in self.client_env() {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(spec.to_string().as_bytes())
            .expect("write spec");
        let out = child.wait_with_output().expect("seed finishes");
        assert!(
            out.status.success(),
            "seeding failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a JSON spec on stdin (see [`Sandbox::seed`]); tokens and endpoints come from the environment.
const SEED_PY: &str = r#"
import json, os, pathlib, sys, tempfile
spec = json.loads(sys.stdin.read())
for r in spec:
    files = {p: c.encode() for p, c in (r.get("files") or {}).items()}
    for i in range(r.get("many", 0)):
        files[f"many/d{i % 7}/f{i:05d}.txt"] = f"{i}\n".encode()
    kind = r.get("type", "model")
    if r["platform"] == "hf":
        from huggingface_hub import CommitOperationAdd, HfApi
        api = HfApi()
        api.create_repo(r["id"], repo_type=kind, private=r.get("private", False), exist_ok=True,
                        **({"space_sdk": "static"} if kind == "space" else {}))
        ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c) for p, c in files.items()]
        if ops:
            api.create_commit(r["id"], repo_type=kind, operations=ops, commit_message="seed")
    else:
        from modelscope_hub.api import HubApi
        api = HubApi(endpoint=os.environ["MODELSCOPE_ENDPOINT"], token=os.environ["MODELSCOPE_API_TOKEN"])
        if not api.repo_exists(r["id"], kind):
            api.create_repo(r["id"], kind, visibility="private" if r.get("private") else "public")
        if files:
            with tempfile.TemporaryDirectory() as d:
                for p, c in files.items():
                    f = pathlib.Path(d, p)
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_bytes(c)
                api.upload_folder(r["id"], kind, d, disable_tqdm=True)
"#;
