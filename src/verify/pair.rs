//! `hubferry verify SOURCE DEST`: proof that two copies of a repository hold the same files.
//!
//! Both sides are listed (the repo type is detected when not given) and every path is compared:
//! - sha256 when both listings carry it, else the git blob id when both carry it;
//! - otherwise (e.g. a ModelScope listing without `BlobId` against HF's blob id) the file is
//!   downloaded and hashed here — its sha256 and git blob id are computed and compared with what
//!   the other side lists, or both sides are downloaded when neither lists an id;
//! - `README.md` that differs is downloaded on both sides: when the only difference is the
//!   front-matter `license:` / `license_name:` lines (the rewrite `migrate` does for HF) it is
//!   reported under `rewritten` and passes; any other difference is a mismatch;
//! - `.gitattributes` is platform-generated (each hub writes its own LFS rules): listed under
//!   `platform_files`, never compared, never missing or extra.
//!
//! Exit 0 only when nothing is mismatched, missing or extra. The same check backs `retire` and
//! `inventory --check-backup`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use sha1::Digest as _;

use crate::credentials::Credentials;
use crate::error::hub_error;
use crate::error::CliError;
use crate::hub::{HubErrorKind, Hubs};
use crate::manifest::{
    sameness, FileEntry, GitOid, Manifest, Sameness, Sha256, PLATFORM_FILES, REWRITTEN_FILES,
};
use crate::plan::Plan;
use crate::printer::{human_bytes, Printer, Tone};
use crate::repo_ref::{Platform, RepoRef, RepoType};

/// Files larger than this are not downloaded to settle a size-only match (listed as `size_only`).
const CONTENT_CHECK_MAX: u64 = 64 * 1024 * 1024;
/// Downloads at once when hashing content here.
const CONTENT_CONCURRENCY: usize = 4;

/// One side of a comparison: resolved reference (type and revision set) and its files.
#[derive(Debug, Clone)]
pub struct Side {
    pub repo: RepoRef,
    /// What the listing was taken at (HF: the commit sha; ModelScope: the branch or tag).
    pub listed_at: String,
    pub manifest: Manifest,
}

impl Side {
    /// `hf:model:ns/name@rev`.
    pub fn describe(&self) -> String {
        self.repo.describe()
    }
}

/// The outcome of comparing two sides. Path lists are sorted.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PairCheck {
    pub ok: bool,
    /// Files at the source (platform files excluded).
    pub files: usize,
    pub bytes: u64,
    pub matched: usize,
    /// How the matches were established: `sha256`, `git_oid`, `content` (downloaded and hashed).
    pub matched_by: BTreeMap<&'static str, usize>,
    pub mismatched: Vec<String>,
    /// At the source, absent at the destination.
    pub missing: Vec<String>,
    /// At the destination, absent at the source.
    pub extra: Vec<String>,
    /// README.md differing only in its front-matter license lines.
    pub rewritten: Vec<String>,
    /// Platform-generated files present on either side, not compared.
    pub platform_files: Vec<String>,
    /// Same size, no shared id, too large to download here: not proven equal (not a failure).
    pub size_only: Vec<String>,
    /// What the destination's last commit says it mirrors (`verify` reads it; see
    /// [`crate::provenance`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::provenance::Provenance>,
}

/// Resolves the repo's type (unless given: the one type it exists under) and lists its files.
/// `Ok(None)` when the repo does not exist (or cannot be seen); an id under two types is a usage
/// error (see [`crate::type_check`]).
pub async fn try_side(creds: &Credentials, r: &RepoRef) -> anyhow::Result<Option<Side>> {
    try_side_preferring(creds, r, None).await
}

/// [`try_side`]; when the type is not given and the id exists under several, `prefer` (the other
/// side's type) settles it if it is one of them.
pub async fn try_side_preferring(
    creds: &Credentials,
    r: &RepoRef,
    prefer: Option<RepoType>,
) -> anyhow::Result<Option<Side>> {
    let revision = r
        .revision
        .clone()
        .unwrap_or_else(|| r.platform.default_revision().to_string());
    let hubs = Hubs::new(creds);
    let mut found: Vec<(RepoType, Option<String>)> = Vec::new();
    for t in r.platform.candidate_types(r.repo_type) {
        match hubs.listing_point(r.platform, t, &r.id, &revision).await {
            Ok(listed_at) => found.push((t, listed_at)),
            Err(e) if e.kind == HubErrorKind::NotFound => continue,
            Err(e) => return Err(hub_error("reading", r, e)),
        }
    }
    if found.len() > 1 {
        match found.iter().position(|(t, _)| Some(*t) == prefer) {
            Some(i) => found = vec![found.swap_remove(i)],
            None => {
                let types: Vec<RepoType> = found.iter().map(|(t, _)| *t).collect();
                return Err(
                    CliError::bad_input(crate::type_check::ambiguous_type_message(r, &types))
                        .with_hint(crate::type_check::ambiguous_type_hint(r, &types))
                        .into(),
                );
            }
        }
    }
    let Some((repo_type, listed_at)) = found.pop() else {
        return Ok(None);
    };
    let repo = RepoRef {
        platform: r.platform,
        repo_type: Some(repo_type),
        id: r.id.clone(),
        revision: Some(revision.clone()),
    };
    let files = hubs
        .list_existing(r.platform, repo_type, &r.id, listed_at.as_deref())
        .await
        .map_err(|e| hub_error("listing the files of", &repo, e))?;
    Ok(Some(Side {
        repo,
        listed_at: listed_at.unwrap_or(revision),
        manifest: Manifest::from_entries(files),
    }))
}

/// [`try_side`], with a missing repo as an error.
pub async fn side(creds: &Credentials, r: &RepoRef) -> anyhow::Result<Side> {
    try_side(creds, r).await?.ok_or_else(|| not_found(r))
}

fn not_found(r: &RepoRef) -> anyhow::Error {
    CliError::bad_input(format!("{r} was not found"))
        .with_hint(
            "check the name (and --repo-type); a private repo looks missing without a token that can read it",
        )
        .into()
}

/// Both sides of a comparison, of one repo type: a side whose type is not given prefers the other
/// side's, and sides of different types are a usage error (never "the same").
pub async fn same_type_sides(
    creds: &Credentials,
    src_ref: &RepoRef,
    copy_ref: &RepoRef,
) -> anyhow::Result<(Side, Side)> {
    let found = |prefer: Option<RepoType>, r: &RepoRef| {
        let r = r.clone();
        async move {
            try_side_preferring(creds, &r, prefer)
                .await?
                .ok_or_else(|| not_found(&r))
        }
    };
    let (src, copy) = match (src_ref.repo_type, copy_ref.repo_type) {
        (Some(_), None) => {
            let src = found(None, src_ref).await?;
            let copy = found(src.repo.repo_type, copy_ref).await?;
            (src, copy)
        }
        (None, Some(_)) => {
            let copy = found(None, copy_ref).await?;
            let src = found(copy.repo.repo_type, src_ref).await?;
            (src, copy)
        }
        _ => tokio::try_join!(found(None, src_ref), found(None, copy_ref))?,
    };
    if let Some((message, hint)) = crate::type_check::type_mismatch(&src.repo, &copy.repo) {
        return Err(CliError::bad_input(message).with_hint(hint).into());
    }
    Ok((src, copy))
}

/// The sha256 and git blob id of `data`.
pub fn content_ids(data: &[u8]) -> (Sha256, GitOid) {
    let sha: [u8; 32] = sha2::Sha256::digest(data).into();
    let mut git = sha1::Sha1::new();
    git.update(format!("blob {}\0", data.len()).as_bytes());
    git.update(data);
    let oid: [u8; 20] = git.finalize().into();
    (crate::manifest::Digest(sha), crate::manifest::Digest(oid))
}

/// True when `entry`'s listed ids agree with content ids `(sha, oid)`; `None` when it lists none.
fn ids_agree(entry: &FileEntry, sha: &Sha256, oid: &GitOid) -> Option<bool> {
    if let Some(s) = entry.sha256 {
        return Some(&s == sha);
    }
    entry.git_oid.map(|o| &o == oid)
}

/// A model card with its front-matter `license:` and `license_name:` lines dropped.
pub fn without_license_lines(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return Some(text.as_bytes().to_vec());
    }
    let mut out = String::from(first);
    let mut in_front = true;
    for line in lines {
        if in_front && line.trim_end() == "---" {
            in_front = false;
        } else if in_front && (line.starts_with("license:") || line.starts_with("license_name:")) {
            continue;
        }
        out.push_str(line);
    }
    Some(out.into_bytes())
}

/// What a content check must establish for one path.
enum Pending {
    /// Same size, no id listed on both sides.
    SizeOnly,
    /// README.md whose listed ids differ.
    Readme,
}

enum Settled {
    Match,
    Rewritten,
    Mismatch,
}

/// Compares `src` with `dest` path by path (see the module header for the rules).
pub async fn check_pair(creds: &Credentials, src: &Side, dest: &Side) -> anyhow::Result<PairCheck> {
    use crate::manifest::{merge_sorted, sameness, Merged, Sameness};
    let mut out = PairCheck::default();
    let mut pending: Vec<(FileEntry, FileEntry, Pending)> = Vec::new();
    let (s, d) = (&src.manifest.files, &dest.manifest.files);
    let mut platform_files = std::collections::BTreeSet::new();
    for step in merge_sorted(s, d) {
        let path = match step {
            Merged::Right(j) => &d[j].path,
            Merged::Left(i) | Merged::Both(i, _) => &s[i].path,
        };
        if PLATFORM_FILES.contains(&path.as_str()) {
            platform_files.insert(path.clone());
            continue;
        }
        match step {
            Merged::Left(i) => {
                out.files += 1;
                out.bytes += s[i].size;
                out.missing.push(s[i].path.clone());
            }
            Merged::Right(j) => out.extra.push(d[j].path.clone()),
            Merged::Both(i, j) => {
                let (a, b) = (&s[i], &d[j]);
                out.files += 1;
                out.bytes += a.size;
                let by_sha = a.sha256.is_some() && b.sha256.is_some();
                match sameness(a, b) {
                    Sameness::Same => {
                        out.matched += 1;
                        *out.matched_by
                            .entry(if by_sha { "sha256" } else { "git_oid" })
                            .or_default() += 1;
                    }
                    Sameness::Different
                        if a.path == "README.md" && a.size.max(b.size) < CONTENT_CHECK_MAX =>
                    {
                        pending.push((a.clone(), b.clone(), Pending::Readme))
                    }
                    Sameness::Different => out.mismatched.push(a.path.clone()),
                    Sameness::SizeOnly if a.size > CONTENT_CHECK_MAX => {
                        out.matched += 1;
                        out.size_only.push(a.path.clone());
                    }
                    Sameness::SizeOnly => pending.push((a.clone(), b.clone(), Pending::SizeOnly)),
                }
            }
        }
    }
    out.platform_files = platform_files.into_iter().collect();

    let hubs = Arc::new(Hubs::new(creds));
    let (src_at, dest_at) = (
        Arc::new(src.listed_at.clone()),
        Arc::new(dest.listed_at.clone()),
    );
    let (src_ref, dest_ref) = (Arc::new(src.repo.clone()), Arc::new(dest.repo.clone()));
    let permits = Arc::new(tokio::sync::Semaphore::new(CONTENT_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (a, b, kind) in pending {
        let hubs = hubs.clone();
        let (src_at, dest_at) = (src_at.clone(), dest_at.clone());
        let (src_ref, dest_ref) = (src_ref.clone(), dest_ref.clone());
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let fetch = |r: &RepoRef, at: &str, path: &str| {
                let (hubs, r, at, path) =
                    (hubs.clone(), r.clone(), at.to_string(), path.to_string());
                async move {
                    hubs.fetch_file(r.platform, r.repo_type_or_model(), &r.id, &at, &path)
                        .await
                        .map_err(|e| hub_error(&format!("downloading {path} of"), &r, e))
                }
            };
            let settled = match kind {
                Pending::SizeOnly => {
                    let data = fetch(&src_ref, &src_at, &a.path).await?;
                    let (sha, oid) = content_ids(&data);
                    let src_ok =
                        ids_agree(&a, &sha, &oid).unwrap_or(true) && data.len() as u64 == a.size;
                    let dest_ok = match ids_agree(&b, &sha, &oid) {
                        Some(ok) => ok,
                        None => {
                            let other = fetch(&dest_ref, &dest_at, &b.path).await?;
                            other == data
                        }
                    };
                    if src_ok && dest_ok {
                        Settled::Match
                    } else {
                        Settled::Mismatch
                    }
                }
                Pending::Readme => {
                    let (x, y) = tokio::try_join!(
                        fetch(&src_ref, &src_at, &a.path),
                        fetch(&dest_ref, &dest_at, &b.path)
                    )?;
                    if x == y {
                        Settled::Match
                    } else if (without_license_lines(&x).is_some()
                        && without_license_lines(&x) == without_license_lines(&y))
                        || crate::cards::is_mapped_card(&x, &y, src_ref.platform, dest_ref.platform)
                    {
                        Settled::Rewritten
                    } else {
                        Settled::Mismatch
                    }
                }
            };
            anyhow::Ok((a.path, settled))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (path, settled) = joined.map_err(|e| anyhow::anyhow!("content check task: {e}"))??;
        match settled {
            Settled::Match => {
                out.matched += 1;
                *out.matched_by.entry("content").or_default() += 1;
            }
            Settled::Rewritten => out.rewritten.push(path),
            Settled::Mismatch => out.mismatched.push(path),
        }
    }
    out.mismatched.sort();
    out.rewritten.sort();
    out.ok = out.mismatched.is_empty() && out.missing.is_empty() && out.extra.is_empty();
    Ok(out)
}

/// Prints a pair check: one JSON object, or a verdict and the differing paths.
pub fn print_check(p: &Printer, src: &Side, dest: &Side, c: &PairCheck) {
    let json = crate::schemas::VerifyObject {
        kind: "verify".into(),
        source: src.describe(),
        dest: dest.describe(),
        check: c.clone(),
    };
    p.json(&serde_json::to_value(json).unwrap_or_default());
    let by: Vec<String> = c
        .matched_by
        .iter()
        .map(|(k, n)| format!("{n} by {}", k.replace('_', " ")))
        .collect();
    let mut lines = vec![if c.ok {
        format!(
            "{} {} = {}: {} files ({}) match ({})",
            p.paint("same", Tone::Good),
            src.describe(),
            dest.describe(),
            c.matched,
            human_bytes(c.bytes),
            by.join(", ")
        )
    } else {
        format!(
            "{} {} ≠ {}: {} of {} files match; {} mismatched, {} missing, {} extra",
            p.paint("DIFFERENT", Tone::Bad),
            src.describe(),
            dest.describe(),
            c.matched,
            c.files,
            c.mismatched.len(),
            c.missing.len(),
            c.extra.len()
        )
    }];
    for (label, paths) in [
        ("mismatched", &c.mismatched),
        ("missing   ", &c.missing),
        ("extra     ", &c.extra),
    ] {
        for path in paths.iter().take(50) {
            lines.push(format!("  {label} {path}"));
        }
        if paths.len() > 50 {
            lines.push(format!("  {label} … {} more", paths.len() - 50));
        }
    }
    for path in &c.rewritten {
        lines.push(format!(
            "  rewritten  {path} (only its front-matter license differs)"
        ));
    }
    for path in &c.size_only {
        lines.push(format!(
            "  size only  {path} (no shared hash; too large to download here)"
        ));
    }
    if let Some(prov) = &c.provenance {
        lines.push(format!("  {}", prov.describe()));
    }
    if !c.platform_files.is_empty() {
        lines.push(format!(
            "  not compared: {} (platform-generated)",
            c.platform_files.join(", ")
        ));
    }
    p.out(&lines.join("\n"));
}

/// True when every file the plan would move is already at the destination as far as a content
/// check can tell, so the destination is current and no worker needs to start (`sync`, and a
/// `migrate` or `batch` re-run). The plan moves a file whose listings share no content id:
/// ModelScope stores a dataset's `.jsonl` in LFS (sha256 listed) where HF keeps it inline (git
/// blob id listed), and a `README.md` going to HF carries the license lines `migrate` rewrote.
/// Without this check such a repo would start a worker on every sync or re-run. Costs one small
/// download per such file (two for a README); any file that differs by a listed id, is absent, or
/// cannot be fetched means "changed" (the worker runs, as without this check).
pub async fn settled_by_content(creds: &Credentials, plan: &Plan) -> bool {
    // Nothing to settle, or a destination still to be created (an empty source): the job runs.
    if !plan.transfer.to_delete.is_empty()
        || plan.files_to_move().next().is_none()
        || !plan.dest_exists
    {
        return false;
    }
    let mut src_files = Vec::new();
    let mut dest_files = Vec::new();
    for f in plan.files_to_move() {
        let Some(d) = plan.dest_manifest.get(&f.path) else {
            return false;
        };
        let readme_into_hf =
            plan.dest.platform == Platform::Hf && REWRITTEN_FILES.contains(&f.path.as_str());
        if sameness(f, d) == Sameness::Different && !readme_into_hf {
            return false;
        }
        src_files.push(f.clone());
        dest_files.push(d.clone());
    }
    let side = |r: &crate::repo_ref::RepoRef, at: Option<&String>, files: Vec<FileEntry>| Side {
        repo: r.clone(),
        listed_at: at.cloned().unwrap_or_else(|| {
            r.revision
                .clone()
                .unwrap_or_else(|| r.platform.default_revision().to_string())
        }),
        manifest: Manifest::from_entries(files),
    };
    let (src, dest) = (
        side(&plan.source, plan.source_sha.as_ref(), src_files),
        side(&plan.dest, None, dest_files),
    );
    let Ok(c) = check_pair(creds, &src, &dest).await else {
        return false;
    };
    c.mismatched.is_empty()
        && c.missing.is_empty()
        && c.extra.is_empty()
        && c.size_only.is_empty()
        && (c.rewritten.is_empty() || plan.dest.platform == Platform::Hf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_match_git_and_sha256() {
        let (sha, oid) = content_ids(b"hello\n");
        assert_eq!(
            sha.to_hex(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(oid.to_hex(), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn downloaded_content_is_checked_against_whichever_id_is_listed() {
        let (sha, oid) = content_ids(b"{}");
        let (other_sha, other_oid) = content_ids(b"[]");
        let entry = |sha256, git_oid| FileEntry {
            path: "config.json".into(),
            size: 2,
            sha256,
            git_oid,
            lfs: false,
        };
        assert_eq!(ids_agree(&entry(Some(sha), None), &sha, &oid), Some(true));
        assert_eq!(ids_agree(&entry(None, Some(oid)), &sha, &oid), Some(true));
        assert_eq!(
            ids_agree(&entry(Some(other_sha), Some(oid)), &sha, &oid),
            Some(false)
        );
        assert_eq!(
            ids_agree(&entry(None, Some(other_oid)), &sha, &oid),
            Some(false)
        );
        assert_eq!(ids_agree(&entry(None, None), &sha, &oid), None);
    }

    #[test]
    fn license_lines_are_the_only_allowed_readme_difference() {
        let a = b"---\nlicense: Apache License 2.0\ntags: [x]\n---\n# card\nlicense: stays\n";
        let b = b"---\nlicense: apache-2.0\ntags: [x]\n---\n# card\nlicense: stays\n";
        let c = b"---\nlicense: apache-2.0\ntags: [y]\n---\n# card\nlicense: stays\n";
        let d = b"---\nlicense: other\nlicense_name: my-license\ntags: [x]\n---\n# card\nlicense: stays\n";
        assert_eq!(without_license_lines(a), without_license_lines(b));
        assert_ne!(without_license_lines(a), without_license_lines(c));
        assert_eq!(without_license_lines(a), without_license_lines(d));
        assert_ne!(
            without_license_lines(b"# no front matter\n"),
            without_license_lines(b"# no front matter!\n")
        );
    }
}
