//! The one test harness: one offline world per test binary (the real `scripts/sandbox` and
//! `scripts/modal-sim`, started lazily and shared, each test using its own repo names from
//! [`unique`]), and a [`TestContext`] per test that runs the real `hubferry` binary sealed off
//! from the host: its own HOME, state dir and TMPDIR, a cleared environment, a fixed terminal
//! width, and recording shims for `modal` and `python` (argv of every child hubferry starts, plus
//! a copy of each rendered run directory). Human output is checked with [`our_snapshot!`]
//! (see `snapshot.rs`).

#![allow(dead_code)]

pub mod schemas;
pub mod snapshot;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Test identities; the token values double as canaries that must never be printed or stored.
pub const HF_ALICE: &str = "hf_aliceTESTtoken0000000000000000001";
pub const HF_BOB: &str = "hf_bobTESTtoken00000000000000000002";
pub const MS_ALICE: &str = "ms-alice-test-token-0000000000000001";
pub const MS_BOB: &str = "ms-bob-test-token-00000000000000002";
/// Tokens no hub accepts, for the refusal paths: secrets all the same.
pub const HF_WRONG: &str = "hf_wrongTESTtoken000000000000000009";
pub const MS_WRONG: &str = "ms-wrong-TESTtoken00000000000000009";
pub const CANARIES: &[&str] = &[HF_ALICE, HF_BOB, MS_ALICE, MS_BOB, HF_WRONG, MS_WRONG];

/// The running services: the shared world (see [`world`]), a private one (see
/// [`TestContext::with_private_world`]) or none at all (see [`TestContext::offline`]).
pub struct World {
    pub hf_endpoint: String,
    pub ms_endpoint: String,
    pub admin: String,
    pub modal_server_url: String,
    /// The guards of the services; emptying this stops them (see [`start_service`]).
    services: Mutex<Vec<Child>>,
}

static WORLD: OnceLock<World> = OnceLock::new();

/// Starts the sandbox and the Modal stand-in once; later calls return the same world.
pub fn world() -> &'static World {
    WORLD.get_or_init(|| World::start(&[]))
}

/// Nothing listens on the discard port: a command that reaches a hub fails at once.
const UNREACHABLE: &str = "http://127.0.0.1:9";

impl World {
    /// Starts a sandbox (with `sandbox_args` on top of the test identities) and a Modal stand-in.
    fn start(sandbox_args: &[&str]) -> World {
        let dir = tempfile::Builder::new()
            .prefix("hubferry-it-world-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let state = dir.join("sandbox").display().to_string();
        let users = [
            format!("alice:{HF_ALICE}"),
            format!("bob:{HF_BOB}"),
            format!("alice:{MS_ALICE}"),
            format!("bob:{MS_BOB}"),
        ];
        let mut args = vec!["--state", &state];
        for (flag, user) in ["--hf-user", "--hf-user", "--ms-user", "--ms-user"]
            .iter()
            .zip(&users)
        {
            args.extend([*flag, user.as_str()]);
        }
        args.extend(["--org", "hf:acme:alice", "--org", "ms:acme-ms:alice"]);
        args.extend_from_slice(sandbox_args);
        let (sandbox, ready) = start_service(&dir, "sandbox", &args);
        let (modal, modal_ready) = start_service(
            &dir,
            "modal-sim",
            &["--state", &dir.join("modal-sim").display().to_string()],
        );
        World {
            hf_endpoint: ready["hf_endpoint"].as_str().unwrap().to_owned(),
            ms_endpoint: ready["ms_endpoint"].as_str().unwrap().to_owned(),
            admin: ready["admin"].as_str().unwrap().to_owned(),
            modal_server_url: modal_ready["modal_server_url"].as_str().unwrap().to_owned(),
            services: Mutex::new(vec![sandbox, modal]),
        }
    }

    /// Endpoints nothing answers on (commands that must fail before any request).
    fn unreachable() -> World {
        World {
            hf_endpoint: UNREACHABLE.into(),
            ms_endpoint: UNREACHABLE.into(),
            admin: UNREACHABLE.into(),
            modal_server_url: UNREACHABLE.into(),
            services: Mutex::new(Vec::new()),
        }
    }

    /// Closes the guards' stdin: each stops its service and removes the world's state.
    fn stop(&self) {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Runs `scripts/NAME ARGS…` under a small shell guard: the guard holds our stdin pipe and stops
/// the service (and removes its state) when the pipe closes, i.e. when the test binary exits,
/// however it exits. Returns the guard and the service's one JSON ready line.
fn start_service(dir: &Path, name: &str, args: &[&str]) -> (Child, Value) {
    let guard = r#"exec 3<&0
"$@" </dev/null 2>>"$HUBFERRY_IT_LOG" &
pid=$!
( cat <&3 >/dev/null; kill "$pid" 2>/dev/null ) &
wait "$pid"
[ -n "${HUBFERRY_IT_KEEP:-}" ] || rm -rf "$HUBFERRY_IT_DIR""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(guard)
        .arg("guard")
        .arg(root().join("scripts").join(name))
        .args(args)
        .env("HUBFERRY_IT_LOG", dir.join(format!("{name}.log")))
        .env("HUBFERRY_IT_DIR", dir)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting scripts/{name}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Keep draining so the service never blocks on a full pipe.
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
            panic!("scripts/{name} did not print its ready line within 120 s:\n{log}")
        });
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("scripts/{name} ready line `{line}`: {e}"));
    (child, ready)
}

/// What one hubferry invocation produced.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout as JSON lines (panics on a non-JSON line: `--json` promises NDJSON only), each
    /// validated against its schema in docs/schemas ([`schemas::check`]).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let value: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\n{self}"));
                schemas::check(&value);
                value
            })
            .collect()
    }

    /// The last JSON object on stdout.
    pub fn last_json(&self) -> Value {
        self.json_lines()
            .pop()
            .unwrap_or_else(|| panic!("no JSON on stdout\n{self}"))
    }

    /// The final report, asserted to say `ok` and verified.
    pub fn ok_report(&self) -> Value {
        let r = self.last_json();
        assert_eq!(
            (
                r["type"].as_str(),
                r["status"].as_str(),
                r["verified"].as_bool()
            ),
            (Some("report"), Some("ok"), Some(true)),
            "{self}"
        );
        r
    }

    /// JSON lines of one `type`.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.json_lines()
            .into_iter()
            .filter(|v| v["type"] == kind)
            .collect()
    }

    /// The plan object of a successful `--dry-run --json`.
    pub fn plan(&self) -> Value {
        assert_eq!(self.code, Some(0), "{self}");
        self.of_type("plan")
            .pop()
            .unwrap_or_else(|| panic!("no plan object on stdout\n{self}"))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One test's sealed environment.
pub struct TestContext {
    pub dir: tempfile::TempDir,
    pub world: &'static World,
    /// The world is this test's own: stopped when the context drops.
    private_world: bool,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    /// A context on the shared world.
    pub fn new() -> Self {
        Self::on(world(), false)
    }

    /// A context on a world of its own, its sandbox started with `sandbox_args` (`--page-size 100`):
    /// for tests that change what the sandbox does for every request.
    pub fn with_private_world(sandbox_args: &[&str]) -> Self {
        Self::on(Box::leak(Box::new(World::start(sandbox_args))), true)
    }

    /// A context whose hubs and Modal do not answer, for what must fail or finish before any
    /// request (usage errors, help, local state); starts no service.
    pub fn offline() -> Self {
        static OFFLINE: OnceLock<World> = OnceLock::new();
        Self::on(OFFLINE.get_or_init(World::unreachable), false)
    }

    fn on(world: &'static World, private_world: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hubferry-it-")
            .tempdir()
            .expect("temp dir");
        for sub in ["home", "state", "tmp", "bin", "capture"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let ctx = Self {
            dir,
            world,
            private_world,
        };
        ctx.write_shim("modal", &root().join(".venv/bin/modal"));
        ctx.write_shim("python", &root().join(".venv/bin/python"));
        ctx
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// A recording shim: appends its argv to `argv.log`, copies any rendered run directory into
    /// `capture/`, then execs the real program.
    fn write_shim(&self, name: &str, real: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{log}'\nfor d in \"$TMPDIR\"/hubferry-run-*; do [ -d \"$d\" ] && cp -r \"$d\" '{capture}/' 2>/dev/null; done\nexec '{real}' \"$@\"\n",
            log = self.path("argv.log").display(),
            capture = self.path("capture").display(),
            real = real.display(),
        );
        let path = self.path("bin").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `hubferry ARGS` with a cleared environment pointing at the world: alice's tokens, a fixed
    /// terminal width, no colour.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hubferry"));
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("TMPDIR", self.path("tmp"))
            .env("LANG", "C.UTF-8")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("HF_ENDPOINT", &self.world.hf_endpoint)
            .env("HF_TOKEN", HF_ALICE)
            .env("MODELSCOPE_ENDPOINT", &self.world.ms_endpoint)
            .env("MODELSCOPE_API_TOKEN", MS_ALICE)
            .env("MODAL_SERVER_URL", &self.world.modal_server_url)
            .env("MODAL_TOKEN_ID", "ak-hubferrytests")
            .env("MODAL_TOKEN_SECRET", "as-hubferrytests")
            .env("HUBFERRY_STATE_DIR", self.path("state"))
            .env("HUBFERRY_MODAL", self.path("bin").join("modal"))
            .env("HUBFERRY_PYTHON", self.path("bin").join("python"))
            .current_dir(self.path("home"))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd` to its end (bounded), capturing stdout and stderr through files so that
    /// neither pipe can fill up. No canary token may appear in either.
    pub fn run_command(&self, mut cmd: Command, timeout: Duration) -> Output {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let out_path = self.path(&format!("out-{n}"));
        let err_path = self.path(&format!("err-{n}"));
        cmd.stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap());
        let mut child = cmd.spawn().expect("spawning hubferry");
        let code = wait_bounded(&mut child, timeout);
        let out = Output {
            code,
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        };
        for canary in CANARIES {
            assert!(
                !out.stdout.contains(canary) && !out.stderr.contains(canary),
                "a token leaked in {:?}",
                cmd.get_args().collect::<Vec<_>>()
            );
        }
        self.append_transcript(&out);
        out
    }

    /// `hubferry ARGS`, bounded by 120 s.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_command(self.command(args), Duration::from_secs(120))
    }

    /// `hubferry ARGS` with the environment changed: `(NAME, Some(value))` sets, `(NAME, None)`
    /// removes.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
        let mut cmd = self.command(args);
        for (name, value) in env {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        self.run_command(cmd, Duration::from_secs(120))
    }

    /// Keeps every output for the canary scan.
    fn append_transcript(&self, out: &Output) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("transcript.log"))
            .unwrap();
        let _ = writeln!(f, "{}\n{}", out.stdout, out.stderr);
    }

    /// `python SCRIPT` (from the venv) with the official clients pointed at the world as alice.
    pub fn client_command(&self, script: &Path) -> Command {
        let mut cmd = Command::new(root().join(".venv/bin/python"));
        cmd.arg(script)
            .env("HF_ENDPOINT", &self.world.hf_endpoint)
            .env("HF_TOKEN", HF_ALICE)
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .env("MODELSCOPE_ENDPOINT", &self.world.ms_endpoint)
            .env("MODELSCOPE_API_TOKEN", MS_ALICE)
            .env("HOME", self.path("home"))
            .stdin(Stdio::null());
        cmd
    }

    /// Seeds a repository with seed.py's deterministic sample, through the official client
    /// (tests/it/support/seed.py); returns `{"files": {path: size}, "bytes": total}`.
    pub fn seed(&self, platform: &str, repo_id: &str, extra: &[&str]) -> Value {
        let mut cmd = self.client_command(&root().join("tests/it/support/seed.py"));
        cmd.args(["--platform", platform, "--repo-id", repo_id])
            .args(extra);
        let out = cmd.output().expect("running seed.py");
        assert!(
            out.status.success(),
            "seeding {platform}:{repo_id} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap()
    }

    /// Creates repos with exactly the given files, through the official clients: `spec` is a list
    /// of `{"platform": "hf"|"ms", "id": "ns/name", "type": "model"|"dataset", "private": bool,
    /// "files": {"path": "text"}, "many": N}` (`many` adds N small generated files).
    pub fn seed_spec(&self, spec: &Value) {
        let mut cmd = self.client_command(&root().join("tests/it/support/seed.py"));
        let mut child = cmd
            .arg("--spec")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running seed.py");
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            spec.to_string().as_bytes(),
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "seeding {spec} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A sandbox admin call (docs/sandbox.md): its JSON answer.
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        admin_json(&self.world.admin, method, path, body)
    }

    /// [`TestContext::client_command`] for a script named from the repository root.
    pub fn client_script(&self, script: &str) -> Command {
        self.client_command(&root().join(script))
    }

    /// Switches a sandbox fault on (admin endpoint).
    pub fn fault(&self, spec: Value) {
        admin_request(&self.world.admin, "POST", "/faults", Some(&spec));
    }

    /// Asserts no canary token appears in any output, recorded argv, captured rendered file or
    /// job file, or the state directory.
    pub fn assert_no_canaries(&self) {
        let mut checked = 0;
        let mut scan = |path: &Path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for canary in CANARIES {
                assert!(
                    !text.contains(canary),
                    "canary token found in {}",
                    path.display()
                );
            }
            checked += 1;
        };
        scan(&self.path("transcript.log"));
        scan(&self.path("argv.log"));
        for dir in ["capture", "state"] {
            for file in walk(&self.path(dir)) {
                scan(&file);
            }
        }
        assert!(checked >= 2);
    }

    /// Lines of argv.log (one per child hubferry started through a shim).
    pub fn argv_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("argv.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Files captured from rendered run directories.
    pub fn captured_files(&self) -> Vec<PathBuf> {
        walk(&self.path("capture"))
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        if self.private_world {
            self.world.stop();
        }
    }
}

/// Waits for `child` at most `timeout`; kills it past that (the test then fails on the code).
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for hubferry") {
            return status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hubferry did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `ready` while `child` runs, at most 60 s: the test's readiness signal before it acts.
pub fn wait_until_running(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        assert!(
            child.try_wait().expect("waiting for hubferry").is_none(),
            "hubferry ended before {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A tiny HTTP/1.1 client for the sandbox admin endpoint (loopback, JSON).
pub fn admin_request(base: &str, method: &str, path: &str, body: Option<&Value>) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).expect("connecting to the sandbox admin");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 2") || answer.starts_with("HTTP/1.0 2"),
        "admin {method} {path}: {answer}"
    );
    answer
}

/// An admin request's JSON answer.
pub fn admin_json(base: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    let answer = admin_request(base, method, path, body);
    let json = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// Names handed out by [`unique`], for the snapshot filters.
static UNIQUE_NAMES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// A repo name unique to this run of the tests (sandbox state is shared by all tests): `NAME-N`,
/// which snapshots show as `NAME-[N]`.
pub fn unique(name: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Fixed width, so that tables padded to the longest name look the same in every run.
    let issued = format!("{name}-{n:03}");
    UNIQUE_NAMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((issued.clone(), name.to_owned()));
    issued
}

/// Every `(issued, base)` pair [`unique`] has handed out so far.
pub fn unique_names() -> Vec<(String, String)> {
    UNIQUE_NAMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// A `seed.py --seed` value no other call in this test process returns: the repo's random bytes
/// are then its own (three digits, so the sample README keeps its length).
pub fn distinct_content_seed() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(100);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
