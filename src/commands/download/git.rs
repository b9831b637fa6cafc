//! The git download path: `git init` + `git fetch --depth 1 origin REV` + forced checkout with
//! `GIT_LFS_SKIP_SMUDGE=1` (pointers only), then `git lfs pull` (objects, then the real files).
//!
//! The token reaches git and git-lfs as an `Authorization` header through `GIT_CONFIG_*`
//! environment entries scoped to the hub's URL — never in argv, the remote URL or `.git/config`.
//! An interrupted run leaves `.git` (with the LFS objects already fetched) in DIR; the next run
//! fetches into it again and `git lfs pull` skips what it has. Such a `.git` is recognised by the
//! `.git/hubferry-download` marker this module writes; the command flow refuses any other `.git`.

use std::path::Path;
use std::time::Duration;

use super::bytes_bar;
use crate::credentials::Credentials;
use crate::error::{CliError, ExitStatus};
use crate::printer::{human_bytes, Printer};
use crate::repo_ref::Platform;
use crate::tools;
use crate::verify::pair::Side;

/// A file in `.git` naming the repo a git download is for: only such a `.git` is resumed or removed.
const MARKER: &str = "hubferry-download";

/// `None` when `git_dir` is absent or not from a hubferry download; `Some(true)` when it is one of
/// `src` (any revision), `Some(false)` when it is one of another repository.
pub(super) fn is_ours(git_dir: &Path, src: &Side) -> Option<bool> {
    let recorded = std::fs::read_to_string(git_dir.join(MARKER)).ok()?;
    let repo_of = |d: &str| d.split('@').next().unwrap_or_default().to_string();
    Some(repo_of(recorded.trim()) == repo_of(&src.describe()))
}

/// `git` with the token as a URL-scoped `http.<url>.extraHeader` in the environment (after any
/// `GIT_CONFIG_*` entries the user set), prompts off, LFS smudge off.
fn git_command(
    git: &Path,
    dir: &Path,
    creds: &Credentials,
    platform: Platform,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(git);
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let (base, token) = creds.hub(platform);
    // The checkout leaves LFS pointers; `git lfs pull` replaces them (and must smudge to do so).
    if args.first() != Some(&"lfs") {
        cmd.env("GIT_LFS_SKIP_SMUDGE", "1");
    }
    if let Some(token) = token {
        let n: usize = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let base = format!("{}/", base.trim_end_matches('/'));
        cmd.env(
            format!("GIT_CONFIG_KEY_{n}"),
            format!("http.{base}.extraHeader"),
        )
        .env(
            format!("GIT_CONFIG_VALUE_{n}"),
            platform.git_auth_header(token.expose()),
        )
        .env("GIT_CONFIG_COUNT", (n + 1).to_string());
    }
    cmd
}

async fn run_git(
    p: &Printer,
    git: &Path,
    dir: &Path,
    creds: &Credentials,
    src: &Side,
    args: &[&str],
) -> anyhow::Result<String> {
    let out = git_command(git, dir, creds, src.repo.platform, args)
        .output()
        .await
        .map_err(|e| CliError::new(ExitStatus::Failure, format!("running git: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(CliError::new(
            ExitStatus::Failure,
            p.scrub(&format!(
                "`git {}` failed for {} ({}): {}",
                args.join(" "),
                src.describe(),
                out.status,
                tail.join(" | ")
            )),
        )
        .with_hint(format!(
            "run the same command again: it resumes from what {} already holds (or try --method api)",
            dir.join(".git").display()
        ))
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sum of the file sizes under `dir` (0 when absent).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn missing_tool(name: &str) -> anyhow::Error {
    CliError::new(
        ExitStatus::Failure,
        format!("`{name}` was not found on PATH; git downloads need git and git-lfs"),
    )
    .with_hint(
        "install them (Debian/Ubuntu: `apt-get install git git-lfs`; macOS: `brew install git git-lfs`), then `git lfs install`; or pass --method api",
    )
    .into()
}

/// Shallow fetch + LFS pull into DIR; returns the LFS bytes fetched (as measured in `.git/lfs`).
pub(super) async fn download(
    p: &Printer,
    creds: &Credentials,
    src: &Side,
    dir: &Path,
) -> anyhow::Result<u64> {
    let git = tools::git().ok_or_else(|| missing_tool("git"))?;
    if tools::git_lfs().is_none() {
        return Err(missing_tool("git-lfs"));
    }
    let url = src.repo.platform.git_url(
        &creds.hub(src.repo.platform).0,
        src.repo.repo_type_or_model(),
        &src.repo.id,
    );
    let rev = src
        .repo
        .revision
        .clone()
        .unwrap_or_else(|| src.repo.platform.default_revision().to_string());
    let resumed = dir.join(".git").exists();
    if !resumed {
        run_git(p, &git, dir, creds, src, &["init", "-q"]).await?;
        std::fs::write(dir.join(".git").join(MARKER), src.describe()).map_err(|e| {
            CliError::new(
                ExitStatus::Failure,
                format!("writing {}: {e}", dir.join(".git").join(MARKER).display()),
            )
        })?;
    } else {
        p.status(&format!(
            "resuming: {} holds an earlier, unfinished download",
            dir.join(".git").display()
        ));
    }
    // The LFS filters in this repo's own config: `git lfs pull` writes real files only where
    // they are configured, and the user's global config may not have them.
    run_git(p, &git, dir, creds, src, &["lfs", "install", "--local"]).await?;
    let remotes = run_git(p, &git, dir, creds, src, &["remote"]).await?;
    if remotes.lines().any(|l| l.trim() == "origin") {
        run_git(
            p,
            &git,
            dir,
            creds,
            src,
            &["remote", "set-url", "origin", &url],
        )
        .await?;
    } else {
        run_git(p, &git, dir, creds, src, &["remote", "add", "origin", &url]).await?;
    }
    p.status(&format!("git fetch --depth 1 origin {rev}"));
    run_git(
        p,
        &git,
        dir,
        creds,
        src,
        &["fetch", "-q", "--depth", "1", "origin", &rev],
    )
    .await?;
    run_git(
        p,
        &git,
        dir,
        creds,
        src,
        &["checkout", "-q", "-f", "FETCH_HEAD"],
    )
    .await?;
    let lfs_total: u64 = src
        .manifest
        .files
        .iter()
        .filter(|f| f.lfs)
        .map(|f| f.size)
        .sum();
    let lfs_dir = dir.join(".git").join("lfs");
    let had = dir_bytes(&lfs_dir.join("objects"));
    p.status(&format!("git lfs pull ({})", human_bytes(lfs_total)));
    let bar = bytes_bar(p, lfs_total);
    let poll = {
        let bar = bar.clone();
        let lfs_dir = lfs_dir.clone();
        tokio::spawn(async move {
            loop {
                let lfs_dir2 = lfs_dir.clone();
                let n = tokio::task::spawn_blocking(move || {
                    dir_bytes(&lfs_dir2.join("objects")) + dir_bytes(&lfs_dir2.join("incomplete"))
                })
                .await
                .unwrap_or(0);
                bar.set_position(n);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let pulled = run_git(p, &git, dir, creds, src, &["lfs", "pull", "origin"]).await;
    poll.abort();
    bar.finish_and_clear();
    pulled?;
    Ok(dir_bytes(&lfs_dir.join("objects")).saturating_sub(had))
}
