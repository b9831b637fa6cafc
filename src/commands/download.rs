//! `hubferry download SOURCE --local-dir DIR [--method git|api] [--keep-git]`: a verified local
//! copy of one repository (the git-download seed, made safe to re-run).
//!
//! 1. The source is listed over HTTP: that manifest is what DIR must hold.
//! 2. DIR is checked file by file (size, then sha256 or git blob id as listed). A complete,
//!    verified copy is left alone: nothing is downloaded.
//! 3. git (default for HF): `git init` + `git fetch --depth 1 origin REV` + forced checkout with
//!    `GIT_LFS_SKIP_SMUDGE=1` (pointers only), then `git lfs pull` (objects, then the real files). The token reaches git and git-lfs as an
//!    `Authorization` header through `GIT_CONFIG_*` environment entries scoped to the hub's URL —
//!    never in argv, the remote URL or `.git/config`. An interrupted run leaves `.git` (with the LFS
//!    objects already fetched) in DIR; the next run fetches into it again and `git lfs pull` skips
//!    what it has. `.git` is removed at the end unless `--keep-git`.
//! 4. api (default for ModelScope): each missing or differing file is downloaded into
//!    `DIR/.hubferry-partial/PATH.incomplete`, resumed with a `Range` request after a dropped
//!    connection (within the run, and by the next run), checked, then moved into place.
//! 5. DIR is checked again against the manifest; only then is the download called done.
//!
//! Files in DIR that the source does not have are left alone (and not reported as errors). A `.git`
//! in DIR that an earlier `download` of the same repo did not create (marked by
//! `.git/hubferry-download`) is refused: fetching there would overwrite someone's checkout.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sha1::Digest as _;

use super::verify_pair::{parse_ref, side, Side};
use super::{CliError, Context, ExitStatus};
use crate::cli::{DownloadArgs, DownloadMethod};
use crate::credentials::Credentials;
use crate::hub::content::HubAccess;
use crate::manifest::FileEntry;
use crate::printer::{human_bytes, human_duration, Printer, Tone};
use crate::repo_ref::{Platform, RepoType};
use crate::tools;

/// Where partial API downloads wait, inside DIR.
const PARTIAL_DIR: &str = ".hubferry-partial";
/// Attempts per file in one run (each resumes where the previous one stopped).
const ATTEMPTS: u32 = 3;
/// Files downloaded at once with the API.
const CONCURRENCY: usize = 4;

/// How a file in DIR relates to the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Local {
    Verified,
    Missing,
    Differs,
}

/// Hashes `path` the way `entry` can be checked: sha256 when listed, else the git blob id, else
/// the size alone.
fn check_file(path: &Path, entry: &FileEntry) -> Local {
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(path) else {
        return Local::Missing;
    };
    if !meta.is_file() || meta.len() != entry.size {
        return Local::Differs;
    }
    if entry.sha256.is_none() && entry.git_oid.is_none() {
        return Local::Verified;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return Local::Differs;
    };
    let mut sha = sha2::Sha256::new();
    let mut git = sha1::Sha1::new();
    git.update(format!("blob {}\0", entry.size).as_bytes());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if entry.sha256.is_some() {
                    sha.update(&buf[..n]);
                } else {
                    git.update(&buf[..n]);
                }
            }
            Err(_) => return Local::Differs,
        }
    }
    let ok = match (entry.sha256, entry.git_oid) {
        (Some(want), _) => <[u8; 32]>::from(sha.finalize()) == want.0,
        (None, Some(want)) => <[u8; 20]>::from(git.finalize()) == want.0,
        (None, None) => true,
    };
    if ok {
        Local::Verified
    } else {
        Local::Differs
    }
}

/// Checks every manifest file in `dir` (on a blocking thread: it reads whole files).
async fn check_dir(dir: &Path, files: &[FileEntry]) -> Vec<Local> {
    let dir = dir.to_path_buf();
    let files = files.to_vec();
    tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|f| check_file(&dir.join(&f.path), f))
            .collect()
    })
    .await
    .unwrap_or_default()
}

fn bytes_bar(p: &Printer, total: u64) -> ProgressBar {
    let bar = if p.progress_enabled() {
        p.multi().add(ProgressBar::new(total.max(1)))
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>10} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("download");
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A file in `.git` naming the repo a git download is for: only such a `.git` is resumed or removed.
const MARKER: &str = "hubferry-download";

/// `None` when `git_dir` is absent or not from a hubferry download; `Some(true)` when it is one of
/// `src` (any revision), `Some(false)` when it is one of another repository.
fn git_is_ours(git_dir: &Path, src: &Side) -> Option<bool> {
    let recorded = std::fs::read_to_string(git_dir.join(MARKER)).ok()?;
    let repo_of = |d: &str| d.split('@').next().unwrap_or_default().to_string();
    Some(repo_of(recorded.trim()) == repo_of(&src.describe()))
}

/// Paths of the manifest must stay inside DIR.
fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

pub async fn run(ctx: &Context, args: DownloadArgs) -> anyhow::Result<ExitStatus> {
    let p = &ctx.printer;
    let started = Instant::now();
    let creds = super::migrate::load_credentials()?;
    p.redact(&creds.secrets());
    // The ModelScope git header carries the token base64-encoded: never print that form either.
    if let Some(token) = &creds.ms_token {
        p.redact(&[&ms_git_basic(token.expose())]);
    }
    let mut r = parse_ref(&args.source, args.repo_type)?;
    if args.revision.is_some() {
        r.revision = args.revision.clone();
    }
    let src = side(&creds, &r).await?;
    if let Some(bad) = src.manifest.files.iter().find(|f| !safe_path(&f.path)) {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!("{} lists an unsafe path `{}`", src.describe(), bad.path),
        )
        .into());
    }
    let dir = args.local_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::bad_input(format!("creating {}: {e}", dir.display()))
            .with_hint("pass a writable directory to --local-dir")
    })?;
    let files = &src.manifest.files;
    let before = check_dir(&dir, files).await;
    let git_dir = dir.join(".git");
    let ours = git_is_ours(&git_dir, &src);
    if git_dir.exists() && ours != Some(true) {
        return Err(CliError::bad_input(format!(
            "{} is a git repository but not an earlier download of {}; downloading there would overwrite its checkout",
            dir.display(),
            src.describe()
        ))
        .with_hint("pass an empty or new directory to --local-dir")
        .into());
    }
    if before.iter().all(|s| *s == Local::Verified) {
        if ours == Some(true) && !args.keep_git {
            remove_dir(&git_dir)?;
        }
        let _ = std::fs::remove_dir_all(dir.join(PARTIAL_DIR));
        finish(p, &src, &dir, "skipped", "none", 0, 0, started);
        return Ok(ExitStatus::Success);
    }
    let method = match args.method {
        Some(m) => m,
        None if src.repo.platform == Platform::Hf => DownloadMethod::Git,
        None => DownloadMethod::Api,
    };
    let todo: Vec<FileEntry> = files
        .iter()
        .zip(&before)
        .filter(|(_, s)| **s != Local::Verified)
        .map(|(f, _)| f.clone())
        .collect();
    p.status(&format!(
        "{} → {}: {} of {} files to fetch ({}) with {}",
        src.describe(),
        dir.display(),
        todo.len(),
        files.len(),
        human_bytes(todo.iter().map(|f| f.size).sum()),
        match method {
            DownloadMethod::Git => "git + git-lfs",
            DownloadMethod::Api => "the hub API",
        }
    ));
    let fetched = match method {
        DownloadMethod::Git => git_download(p, &creds, &src, &dir).await?,
        DownloadMethod::Api => api_download(p, &creds, &src, &dir, &todo).await?,
    };
    let after = check_dir(&dir, files).await;
    let bad: Vec<&str> = files
        .iter()
        .zip(&after)
        .filter(|(_, s)| **s != Local::Verified)
        .map(|(f, _)| f.path.as_str())
        .collect();
    if !bad.is_empty() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "{} file(s) in {} do not match {}: {}",
                bad.len(),
                dir.display(),
                src.describe(),
                bad.iter().take(10).copied().collect::<Vec<_>>().join(", ")
            ),
        )
        .with_hint(
            "run the same command again: verified files are kept and the rest is fetched again",
        )
        .into());
    }
    if method == DownloadMethod::Git && !args.keep_git {
        remove_dir(&git_dir)?;
    }
    let _ = std::fs::remove_dir_all(dir.join(PARTIAL_DIR));
    let method_name = match method {
        DownloadMethod::Git => "git",
        DownloadMethod::Api => "api",
    };
    finish(
        p,
        &src,
        &dir,
        "done",
        method_name,
        todo.len() as u64,
        fetched,
        started,
    );
    Ok(ExitStatus::Success)
}

fn remove_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::remove_dir_all(path).map_err(|e| {
        CliError::new(
            ExitStatus::Failure,
            format!("removing {}: {e}", path.display()),
        )
        .into()
    })
}

#[allow(clippy::too_many_arguments)]
fn finish(
    p: &Printer,
    src: &Side,
    dir: &Path,
    status: &str,
    method: &str,
    files_fetched: u64,
    bytes_fetched: u64,
    started: Instant,
) {
    let duration = started.elapsed().as_secs_f64();
    p.json(&serde_json::json!({
        "type": "download",
        "status": status,
        "verified": true,
        "source": src.describe(),
        "local_dir": dir.display().to_string(),
        "method": method,
        "files": src.manifest.len(),
        "bytes": src.manifest.total_bytes(),
        "files_fetched": files_fetched,
        "bytes_fetched": bytes_fetched,
        "duration_s": duration,
    }));
    if status == "skipped" {
        p.out(&format!(
            "{} {} already holds a complete, verified copy of {} ({} files, {}): nothing downloaded",
            p.paint("up to date", Tone::Good),
            dir.display(),
            src.describe(),
            src.manifest.len(),
            human_bytes(src.manifest.total_bytes())
        ));
    } else {
        p.out(&format!(
            "{} {} → {}: {} files ({}), {} fetched in {}",
            p.paint("downloaded, verified", Tone::Good),
            src.describe(),
            dir.display(),
            src.manifest.len(),
            human_bytes(src.manifest.total_bytes()),
            human_bytes(bytes_fetched),
            human_duration(duration)
        ));
    }
}

/// The clone URL of a repo (no credentials in it).
fn git_url(creds: &Credentials, platform: Platform, t: RepoType, id: &str) -> String {
    match platform {
        Platform::Hf => {
            let prefix = match t {
                RepoType::Model => "",
                RepoType::Dataset => "datasets/",
                RepoType::Space => "spaces/",
            };
            format!("{}/{prefix}{id}", creds.hf_base().trim_end_matches('/'))
        }
        Platform::Ms => format!(
            "{}/{}/{id}.git",
            creds.ms_base().trim_end_matches('/'),
            t.plural()
        ),
    }
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
    let (base, token) = match platform {
        Platform::Hf => (creds.hf_base(), creds.hf_token.as_ref()),
        Platform::Ms => (creds.ms_base(), creds.ms_token.as_ref()),
    };
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
            git_auth_header(platform, token.expose()),
        )
        .env("GIT_CONFIG_COUNT", (n + 1).to_string());
    }
    cmd
}

/// The Authorization header git sends: a Bearer token on Hugging Face, Basic `oauth2:{token}` on
/// ModelScope (the form its git remote documents).
fn git_auth_header(platform: Platform, token: &str) -> String {
    match platform {
        Platform::Hf => format!("Authorization: Bearer {token}"),
        Platform::Ms => format!("Authorization: Basic {}", ms_git_basic(token)),
    }
}

fn ms_git_basic(token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{token}"))
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
async fn git_download(
    p: &Printer,
    creds: &Credentials,
    src: &Side,
    dir: &Path,
) -> anyhow::Result<u64> {
    let git = tools::git().ok_or_else(|| missing_tool("git"))?;
    if tools::git_lfs().is_none() {
        return Err(missing_tool("git-lfs"));
    }
    let url = git_url(
        creds,
        src.repo.platform,
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

/// Downloads `todo` through the hub API with resumable partial files; returns the bytes fetched.
async fn api_download(
    p: &Printer,
    creds: &Credentials,
    src: &Side,
    dir: &Path,
    todo: &[FileEntry],
) -> anyhow::Result<u64> {
    let hub = Arc::new(HubAccess::new(creds, src.repo.platform));
    let total: u64 = todo.iter().map(|f| f.size).sum();
    let bar = bytes_bar(p, total);
    let fetched = Arc::new(AtomicU64::new(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let src = Arc::new(src.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for entry in todo {
        let entry = entry.clone();
        let (hub, src, bar, fetched, permits) = (
            hub.clone(),
            src.clone(),
            bar.clone(),
            fetched.clone(),
            permits.clone(),
        );
        let dir = dir.to_path_buf();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            fetch_one(&hub, &src, &dir, &entry, &bar, &fetched).await
        });
    }
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("download task: {e}")),
        }
    }
    bar.finish_and_clear();
    if !errors.is_empty() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "{} file(s) of {} could not be downloaded: {}",
                errors.len(),
                src.describe(),
                errors.join("; ")
            ),
        )
        .with_hint(format!(
            "run the same command again: finished files are kept and partial ones resume from {}",
            dir.join(PARTIAL_DIR).display()
        ))
        .into());
    }
    Ok(fetched.load(Ordering::Relaxed))
}

async fn fetch_one(
    hub: &HubAccess,
    src: &Side,
    dir: &Path,
    entry: &FileEntry,
    bar: &ProgressBar,
    fetched: &AtomicU64,
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let part: PathBuf = dir
        .join(PARTIAL_DIR)
        .join(format!("{}.incomplete", entry.path));
    if let Some(parent) = part.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("{}: creating {}: {e}", entry.path, parent.display()))?;
    }
    let mut last_err = String::new();
    for _ in 0..ATTEMPTS {
        let mut offset = tokio::fs::metadata(&part)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        if offset > entry.size {
            offset = 0;
        }
        if offset < entry.size || entry.size == 0 {
            let resp = match hub
                .open_file(
                    src.repo.repo_type_or_model(),
                    &src.repo.id,
                    &src.listed_at,
                    &entry.path,
                    offset,
                )
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    last_err = format!("{}: {e}", entry.path);
                    continue;
                }
            };
            // A server that ignores Range sends the whole file again.
            let append = offset > 0 && resp.status().as_u16() == 206;
            let mut file = match tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&part)
                .await
            {
                Ok(f) => f,
                Err(e) => return Err(format!("{}: opening {}: {e}", entry.path, part.display())),
            };
            let mut resp = resp;
            let mut broken = None;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(e) = file.write_all(&chunk).await {
                            return Err(format!("{}: writing {}: {e}", entry.path, part.display()));
                        }
                        bar.inc(chunk.len() as u64);
                        fetched.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        broken = Some(e.without_url().to_string());
                        break;
                    }
                }
            }
            let _ = file.flush().await;
            drop(file);
            if let Some(e) = broken {
                last_err = format!("{}: connection lost: {e}", entry.path);
                continue;
            }
        }
        let part2 = part.clone();
        let entry2 = entry.clone();
        let state = tokio::task::spawn_blocking(move || check_file(&part2, &entry2))
            .await
            .unwrap_or(Local::Differs);
        if state != Local::Verified {
            let _ = tokio::fs::remove_file(&part).await;
            last_err = format!(
                "{}: downloaded content does not match the listing",
                entry.path
            );
            continue;
        }
        let target = dir.join(&entry.path);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| format!("{}: creating {}: {e}", entry.path, parent.display()))?;
        }
        return tokio::fs::rename(&part, &target)
            .await
            .map_err(|e| format!("{}: moving into place: {e}", entry.path));
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_auth_follows_each_hub() {
        assert_eq!(
            git_auth_header(Platform::Ms, "tok"),
            "Authorization: Basic b2F1dGgyOnRvaw=="
        );
        assert_eq!(
            git_auth_header(Platform::Hf, "hf_x"),
            "Authorization: Bearer hf_x"
        );
    }

    #[test]
    fn paths_stay_inside_the_directory() {
        assert!(safe_path("a/b.txt"));
        assert!(safe_path("数据/训练 集.jsonl"));
        assert!(!safe_path("../x"));
        assert!(!safe_path("/etc/passwd"));
        assert!(!safe_path("a//b"));
        assert!(!safe_path(""));
    }

    #[test]
    fn local_files_are_checked_by_the_listed_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello\n").unwrap();
        let (sha, oid) = super::super::verify_pair::content_ids(b"hello\n");
        let mut e = FileEntry {
            path: "f".into(),
            size: 6,
            sha256: Some(sha),
            git_oid: None,
            lfs: true,
        };
        assert_eq!(check_file(&path, &e), Local::Verified);
        e.sha256 = None;
        e.git_oid = Some(oid);
        assert_eq!(check_file(&path, &e), Local::Verified);
        std::fs::write(&path, b"hellO\n").unwrap();
        assert_eq!(check_file(&path, &e), Local::Differs);
        assert_eq!(check_file(&dir.path().join("nope"), &e), Local::Missing);
    }
}
