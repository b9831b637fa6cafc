//! One run at a time per destination: a lock file per destination repository in the state
//! directory (`locks/`), taken before preflight by `migrate`, `batch` and `sync` (not by dry runs,
//! which only read). A second run waits — saying which process holds it — and then plans afresh, so
//! it finds what the first one moved instead of moving every byte again. The wait is bounded
//! (`HUBFERRY_LOCK_WAIT`, seconds, default [`DEFAULT_WAIT_S`]); past it the run fails naming the
//! holder. A lock whose holder process is gone (killed, crashed) is taken over.
//!
//! Limit: two runs that find the same dead holder at the same instant could both take it over;
//! that needs a crash and two new runs racing within milliseconds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, ExitStatus};
use crate::preflight::MigrateRequest;
use crate::printer::Printer;

/// How long a run waits for another run on the same destination, by default.
pub const DEFAULT_WAIT_S: u64 = 6 * 3600;
const POLL: Duration = Duration::from_millis(250);

/// Who holds a destination (the lock file's content).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub dest: String,
    /// The holder's command line (never carries a secret: tokens come from the environment).
    pub command: String,
    pub since_unix: u64,
}

impl Holder {
    fn describe(&self) -> String {
        format!(
            "pid {} (`{}`, since {} s ago)",
            self.pid,
            self.command,
            now_unix().saturating_sub(self.since_unix)
        )
    }
}

/// A held destination lock; released when dropped.
#[derive(Debug)]
pub struct DestLock {
    path: PathBuf,
}

impl Drop for DestLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `ms:alice/x` for the destination of `req`.
pub fn dest_key(req: &MigrateRequest) -> String {
    format!("{}:{}", req.to, req.dest_id())
}

fn lock_path(state: &Path, key: &str) -> PathBuf {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '+'
            }
        })
        .collect();
    state.join("locks").join(format!("{name}.lock"))
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) != Err(nix::errno::Errno::ESRCH)
}

fn wait_limit() -> Duration {
    Duration::from_secs(
        std::env::var("HUBFERRY_LOCK_WAIT")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_WAIT_S),
    )
}

/// The lock for a real run of `req` (none for a dry run, which only reads).
pub async fn unless_dry_run(
    state_flag: Option<PathBuf>,
    p: &Printer,
    req: &MigrateRequest,
    dry_run: bool,
) -> anyhow::Result<Option<DestLock>> {
    if dry_run {
        return Ok(None);
    }
    let state = crate::run_records::state_dir(state_flag)?;
    Ok(Some(acquire(&state, req, p).await?))
}

/// Takes the lock of `req`'s destination, waiting (bounded) while another live run holds it.
pub async fn acquire(state: &Path, req: &MigrateRequest, p: &Printer) -> anyhow::Result<DestLock> {
    let key = dest_key(req);
    let path = lock_path(state, &key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::new(
                ExitStatus::Failure,
                format!("cannot create {}: {e}", dir.display()),
            )
            .with_hint("set HUBFERRY_STATE_DIR (or --state-dir) to a writable directory")
        })?;
    }
    let me = Holder {
        pid: std::process::id(),
        dest: key.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        since_unix: now_unix(),
    };
    let deadline = Instant::now() + wait_limit();
    let mut told = false;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(&serde_json::to_vec(&me)?)?;
                return Ok(DestLock { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CliError::new(
                    ExitStatus::Failure,
                    format!("cannot take the lock {}: {e}", path.display()),
                )
                .into())
            }
        }
        // An unreadable file is one being written right now: held.
        let holder: Option<Holder> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(h) = &holder {
            if !alive(h.pid) {
                p.warn(&format!(
                    "{key}: taking over the lock of a run that is gone ({})",
                    h.describe()
                ));
                let _ = std::fs::remove_file(&path);
                continue;
            }
        }
        let who = holder
            .as_ref()
            .map(Holder::describe)
            .unwrap_or_else(|| "another hubferry".into());
        if Instant::now() >= deadline {
            return Err(CliError::new(
                ExitStatus::Failure,
                format!("{key} is busy: another hubferry is moving files into it: {who}"),
            )
            .with_hint(format!(
                "wait for it to finish and run again (HUBFERRY_LOCK_WAIT sets how many seconds to wait); if no such process runs, remove {}",
                path.display()
            ))
            .into());
        }
        if !told {
            p.status(&format!(
                "waiting for {key}: another hubferry is moving files into it: {who}"
            ));
            told = true;
        }
        tokio::time::sleep(POLL).await;
    }
}
