//! Runs one hubferry command as a child (this same binary, `--json`) and reads its NDJSON: worker
//! events go to a callback as they come, every other object is kept for the result. A cancelled
//! call sends the child SIGINT, as Ctrl-C would, and still waits for it and its final objects.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// What a finished child printed.
#[derive(Debug, Default)]
pub struct Finished {
    /// The exit code (130 for a child stopped by a signal).
    pub exit_code: i32,
    /// The objects on stdout that are not worker events, in order.
    pub objects: Vec<serde_json::Value>,
    /// The last lines of stderr, for a child that printed no object at all.
    pub stderr_tail: String,
    /// True when the call was cancelled and the child was sent SIGINT.
    pub cancelled: bool,
}

/// Runs `exe ARGV` with stdin closed (stdin is the MCP transport), the environment inherited
/// (tokens reach the child there, never through argv), `on_event` called per worker event.
pub async fn run(
    exe: &Path,
    argv: &[String],
    ct: &CancellationToken,
    mut on_event: impl FnMut(&serde_json::Value),
) -> std::io::Result<Finished> {
    let mut child = Command::new(exe)
        .args(argv)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut finished = Finished::default();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = ct.cancelled(), if !finished.cancelled => {
                finished.cancelled = true;
                if let Some(pid) = pid {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGINT,
                    );
                }
                continue;
            }
        };
        let Some(line) = line else { break };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if value.get("hubferry").is_some() {
            on_event(&value);
        } else {
            finished.objects.push(value);
        }
    }
    let status = child.wait().await?;
    finished.exit_code = status.code().unwrap_or(130);
    let stderr = stderr_task.await.unwrap_or_default();
    let text = String::from_utf8_lossy(&stderr);
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    finished.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Ok(finished)
}
