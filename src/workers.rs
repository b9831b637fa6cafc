//! Running workers: `python -m hubferry_worker` per job (local backend) or `modal run` of the
//! rendered app (modal backend), with bounded concurrency.
//!
//! Each child's stdout and stderr are drained concurrently (an undrained pipe deadlocks), split
//! into lines, classified (worker events, Modal framing such as the `ap-…` app id and `Error:`
//! lines, plain log text) and sent as [`Msg`]s to whoever watches. Secrets reach children only
//! through their environment. Children run in their own process group so that a terminal Ctrl-C
//! reaches hubferry alone, which then forwards exactly one SIGINT (a second one would make
//! `modal` abandon its clean shutdown).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, Semaphore};

use crate::events::{parse_line, Line};

/// Environment every child gets: no colour, no wrapping, unbuffered UTF-8 output (modal's rich
/// output wraps status lines at 80 columns otherwise).
pub const CHILD_ENV: &[(&str, &str)] = &[
    ("COLUMNS", "10000"),
    ("NO_COLOR", "1"),
    ("PYTHONUNBUFFERED", "1"),
    ("PYTHONUTF8", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
];

/// How many lines of a child's stderr are kept for error messages.
const STDERR_TAIL: usize = 20;

/// What the runner reports while children run.
#[derive(Debug)]
pub enum Msg {
    /// A worker event.
    Event(Box<crate::events::Event>),
    /// A line that claims to be an event but breaks the schema.
    Invalid { text: String, error: String },
    /// Log text from a child (worker logs, Modal status lines).
    Log { child: String, line: String },
    /// A Modal app id seen in `modal` output.
    AppId(String),
    /// An `Error: …` line printed by `modal`.
    ModalError(String),
    /// A child ended (`code` is None when killed by a signal).
    Ended {
        child: String,
        jobs: Vec<String>,
        code: Option<i32>,
        stderr_tail: Vec<String>,
    },
}

/// One child process to run.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Short label for messages (`worker r0c1`, `modal run`).
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Extra environment on top of the inherited one and [`CHILD_ENV`].
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Jobs this child carries (for failures without a result event).
    pub jobs: Vec<String>,
}

/// The local worker for one job file.
pub fn local_worker(
    python: &Path,
    rendered_root: &Path,
    job_file: &Path,
    job: &str,
    env: &[(String, String)],
) -> ChildSpec {
    let mut env = env.to_vec();
    env.push(("PYTHONPATH".into(), rendered_root.display().to_string()));
    ChildSpec {
        label: format!("worker {job}"),
        program: python.to_path_buf(),
        args: vec![
            "-m".into(),
            "hubferry_worker".into(),
            "--job-file".into(),
            job_file.into(),
        ],
        env,
        cwd: Some(rendered_root.to_path_buf()),
        jobs: vec![job.to_owned()],
    }
}

/// `modal run [--detach] app.py::main --jobs-file jobs.json [--spawn]`.
pub fn modal_run(
    modal: &Path,
    app_file: &Path,
    jobs_file: &Path,
    jobs: &[String],
    env: &[(String, String)],
    detach: bool,
) -> ChildSpec {
    let mut args: Vec<OsString> = vec!["run".into()];
    if detach {
        args.push("--detach".into());
    }
    let mut target = app_file.as_os_str().to_owned();
    target.push("::main");
    args.extend([target, "--jobs-file".into(), jobs_file.into()]);
    if detach {
        args.push("--spawn".into());
    }
    ChildSpec {
        label: "modal run".into(),
        program: modal.to_path_buf(),
        args,
        env: env.to_vec(),
        cwd: app_file.parent().map(Path::to_path_buf),
        jobs: jobs.to_vec(),
    }
}

/// Handles on running children: interrupt or kill them all.
#[derive(Clone, Default)]
pub struct Children {
    pids: Arc<Mutex<Vec<u32>>>,
}

impl Children {
    /// Sends SIGINT once to every live child (their clean-shutdown path).
    pub fn interrupt(&self) {
        self.signal(nix::sys::signal::Signal::SIGINT);
    }

    /// Sends SIGTERM to every live child.
    pub fn terminate(&self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }

    /// Sends SIGKILL to every live child.
    pub fn kill(&self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pids = self.pids.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for pid in pids {
            // Each child leads its own process group: signal the group so helpers it spawned
            // (git, git-lfs) get it too.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), sig);
        }
    }

    fn add(&self, pid: u32) {
        self.pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pid);
    }

    fn remove(&self, pid: u32) {
        self.pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != pid);
    }

    /// True while some child runs.
    pub fn any_alive(&self) -> bool {
        !self
            .pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// Starts `specs` with at most `concurrency` running at once; messages go to `tx`. Returns when
/// all are started (the returned join handle completes when all have ended).
pub fn start(
    specs: Vec<ChildSpec>,
    concurrency: usize,
    tx: mpsc::UnboundedSender<Msg>,
    children: Children,
) -> tokio::task::JoinHandle<()> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for spec in specs {
            let permit = match permits.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => break,
            };
            let tx = tx.clone();
            let children = children.clone();
            tasks.push(tokio::spawn(async move {
                run_child(spec, tx, children).await;
                drop(permit);
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    })
}

/// Runs one child to its end, streaming its output as messages.
pub async fn run_child(spec: ChildSpec, tx: mpsc::UnboundedSender<Msg>, children: Children) {
    let (program, args) = crate::leash::wrap(spec.program.clone(), spec.args.clone());
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (key, value) in CHILD_ENV {
        cmd.env(key, value);
    }
    for (key, value) in &spec.env {
        cmd.env(key, value);
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            let _ = tx.send(Msg::Ended {
                child: spec.label.clone(),
                jobs: spec.jobs.clone(),
                code: None,
                stderr_tail: vec![format!("could not start {}: {err}", spec.program.display())],
            });
            return;
        }
    };
    let pid = child.id();
    if let Some(pid) = pid {
        children.add(pid);
    }
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
    let out_task = tokio::spawn(pump(stdout, spec.label.clone(), tx.clone(), None));
    let err_task = tokio::spawn(pump(
        stderr,
        spec.label.clone(),
        tx.clone(),
        Some(tail.clone()),
    ));
    let _ = out_task.await;
    let _ = err_task.await;
    let status = child.wait().await;
    if let Some(pid) = pid {
        children.remove(pid);
    }
    let code = status.ok().and_then(|s| s.code());
    let stderr_tail = tail
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect();
    let _ = tx.send(Msg::Ended {
        child: spec.label,
        jobs: spec.jobs,
        code,
        stderr_tail,
    });
}

fn app_id_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\bap-[A-Za-z0-9]{22}\b").expect("valid regex"))
}

/// Finds a Modal app id in a line of `modal` output.
pub fn find_app_id(line: &str) -> Option<&str> {
    app_id_regex().find(line).map(|m| m.as_str())
}

async fn pump(
    stream: impl AsyncRead + Unpin,
    child: String,
    tx: mpsc::UnboundedSender<Msg>,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        if let Some(tail) = &tail {
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        }
        let msg = classify_line(line, &child);
        if tx.send(msg).is_err() {
            // Nobody listens any more; keep draining so the child never blocks on a full pipe.
            continue;
        }
    }
}

fn classify_line(line: &str, child: &str) -> Msg {
    match parse_line(line) {
        Line::Event(event) => Msg::Event(event),
        Line::Invalid { text, error } => Msg::Invalid { text, error },
        Line::Log(text) => {
            // Modal's own framing: the status line with the run URL carries the app id.
            let is_modal = child.starts_with("modal");
            if is_modal {
                if let Some(rest) = text.strip_prefix("Error: ") {
                    return Msg::ModalError(rest.to_owned());
                }
                if text.starts_with('✓') || text.contains("View run at") {
                    if let Some(id) = find_app_id(&text) {
                        return Msg::AppId(id.to_owned());
                    }
                }
            }
            Msg::Log {
                child: child.to_owned(),
                line: text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_framing_is_picked_out() {
        let line =
            "✓ Initialized. View run at https://modal.com/apps/ws/main/ap-AbCdEfGhIjKlMnOpQrStUv";
        assert!(
            matches!(classify_line(line, "modal run"), Msg::AppId(id) if id == "ap-AbCdEfGhIjKlMnOpQrStUv")
        );
        assert!(
            matches!(classify_line("Error: boom", "modal run"), Msg::ModalError(m) if m == "boom")
        );
        // The same words from a worker are just log text.
        assert!(matches!(
            classify_line("Error: boom", "worker r0"),
            Msg::Log { .. }
        ));
    }

    #[tokio::test]
    async fn stdout_and_stderr_are_drained_and_the_exit_code_kept() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let script = r#"for i in $(seq 1 2000); do echo "log line $i"; echo "err $i" >&2; done
echo '{"hubferry":1,"type":"warning","job":"j","ts":1.0,"code":"c","message":"m"}'
exit 3"#;
        let spec = ChildSpec {
            label: "worker j".into(),
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![],
            cwd: None,
            jobs: vec!["j".into()],
        };
        run_child(spec, tx, Children::default()).await;
        let mut events = 0;
        let mut ended = None;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Event(_) => events += 1,
                Msg::Ended {
                    code, stderr_tail, ..
                } => ended = Some((code, stderr_tail)),
                _ => {}
            }
        }
        assert_eq!(events, 1);
        let (code, tail) = ended.unwrap();
        assert_eq!(code, Some(3));
        assert_eq!(tail.last().unwrap(), "err 2000");
    }
}
