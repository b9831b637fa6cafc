//! The API download path: each missing or differing file is downloaded into
//! `DIR/.hubferry-partial/PATH.incomplete`, resumed with a `Range` request after a dropped
//! connection (within the run, and by the next run), checked, then moved into place.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::ProgressBar;

use super::bytes_bar;
use super::local::{check_file, Local};
use crate::credentials::Credentials;
use crate::error::{CliError, ExitStatus};
use crate::hub::Hubs;
use crate::manifest::FileEntry;
use crate::printer::Printer;
use crate::verify::pair::Side;

/// Where partial API downloads wait, inside DIR.
pub(super) const PARTIAL_DIR: &str = ".hubferry-partial";
/// Attempts per file in one run (each resumes where the previous one stopped).
const ATTEMPTS: u32 = 3;
/// Files downloaded at once with the API.
const CONCURRENCY: usize = 4;

/// Downloads `todo` through the hub API with resumable partial files; returns the bytes fetched.
pub(super) async fn download(
    p: &Printer,
    creds: &Credentials,
    src: &Side,
    dir: &Path,
    todo: &[FileEntry],
) -> anyhow::Result<u64> {
    let hub = Arc::new(Hubs::new(creds));
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
    hub: &Hubs,
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
                    src.repo.platform,
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
