//! `hubferry download SOURCE --local-dir DIR [--method git|api] [--keep-git]`: a verified local
//! copy of one repository (the git-download seed, made safe to re-run).
//!
//! This module owns the command flow and what both download paths share (the progress bar, the
//! report); each step's details live in a submodule.
//!
//! 1. The source is listed over HTTP: that manifest is what DIR must hold.
//! 2. DIR is checked file by file ([`local`]). A complete, verified copy is left alone: nothing is
//!    downloaded.
//! 3. git (default for HF, [`git`]): a shallow fetch and `git lfs pull`, resumable through the
//!    `.git` an interrupted run leaves; `.git` is removed at the end unless `--keep-git`.
//! 4. api (default for ModelScope, [`api`]): each missing or differing file through the hub API,
//!    resumable through `DIR/.hubferry-partial`.
//! 5. DIR is checked again against the manifest; only then is the download called done.
//!
//! Files in DIR that the source does not have are left alone (and not reported as errors). A `.git`
//! in DIR that an earlier `download` of the same repo did not create (marked by
//! `.git/hubferry-download`) is refused: fetching there would overwrite someone's checkout.

mod api;
mod git;
mod local;

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::Context;
use crate::cli::{DownloadArgs, DownloadMethod};
use crate::error::{CliError, ExitStatus};
use crate::manifest::FileEntry;
use crate::printer::{bytes_style, human_bytes, human_duration, Printer, Tone};
use crate::repo_ref::Platform;
use crate::schemas::{DownloadKind, DownloadMethodName, DownloadObject, DownloadStatus};
use crate::settings::parse_ref;
use crate::verify::pair::{side, Side};
use api::PARTIAL_DIR;
use local::{check_dir, Local};

/// The byte progress bar both download paths drive.
fn bytes_bar(p: &Printer, total: u64) -> ProgressBar {
    let bar = if p.progress_enabled() {
        p.multi().add(ProgressBar::new(total.max(1)))
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(bytes_style(
        "{prefix:>10} [{bar:30}] {size}/{total_size} {rate} eta {eta}",
    ));
    bar.set_prefix("download");
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
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
    let creds = crate::settings::load_credentials()?;
    p.redact(&creds.secrets());
    // The ModelScope git header carries the token base64-encoded: never print that form either.
    if let Some(token) = &creds.ms_token {
        p.redact(&[&crate::hub::ms_git_basic(token.expose())]);
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
    let ours = git::is_ours(&git_dir, &src);
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
        finish(
            p,
            &src,
            &dir,
            DownloadStatus::Skipped,
            DownloadMethodName::None,
            0,
            0,
            started,
        );
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
        DownloadMethod::Git => git::download(p, &creds, &src, &dir).await?,
        DownloadMethod::Api => api::download(p, &creds, &src, &dir, &todo).await?,
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
        DownloadMethod::Git => DownloadMethodName::Git,
        DownloadMethod::Api => DownloadMethodName::Api,
    };
    finish(
        p,
        &src,
        &dir,
        DownloadStatus::Done,
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
    status: DownloadStatus,
    method: DownloadMethodName,
    files_fetched: u64,
    bytes_fetched: u64,
    started: Instant,
) {
    let duration = started.elapsed().as_secs_f64();
    let object = DownloadObject {
        kind: DownloadKind::Download,
        status,
        verified: true,
        source: src.describe(),
        local_dir: dir.display().to_string(),
        method,
        files: src.manifest.len() as u64,
        bytes: src.manifest.total_bytes(),
        files_fetched,
        bytes_fetched,
        duration_s: duration,
    };
    p.json(&serde_json::to_value(object).unwrap_or_default());
    if status == DownloadStatus::Skipped {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_directory() {
        assert!(safe_path("a/b.txt"));
        assert!(safe_path("数据/训练 集.jsonl"));
        assert!(!safe_path("../x"));
        assert!(!safe_path("/etc/passwd"));
        assert!(!safe_path("a//b"));
        assert!(!safe_path(""));
    }
}
