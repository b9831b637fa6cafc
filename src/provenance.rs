//! Provenance on the destination: every commit hubferry makes ends with a trailer naming what it
//! mirrored, `Mirrored-From: hf:acme/x@<commit>` (the worker writes it, `provenance_trailer` in
//! `modal/hubferry_worker/phases.py`). Reading the destination's last commit back tells a
//! stateless run (a CI job with no state directory) what the copy mirrors and how far the source
//! has moved since: counted in the source's commit list on Hugging Face; on ModelScope, whose API
//! lists no history, only whether the source still points at that commit.

use serde::Serialize;

use crate::hub::refs::Behind;
use crate::hub::{HubError, Hubs};
use crate::repo_ref::{self, RepoRef, RepoType};

/// The trailer's key.
pub const TRAILER: &str = "Mirrored-From:";

/// What the destination's last commit says it mirrors, and how the source stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `hf:acme/x`, `ms:datasets/acme/x` (no revision).
    pub source: String,
    /// The source commit (or revision name, when the source hub named no commit) it mirrors.
    pub commit: String,
    /// The destination commit whose message carries it.
    pub dest_commit: String,
    /// Commits made on the source revision since; `None` when they cannot be counted.
    pub commits_behind: Option<usize>,
    /// The source revision no longer points at `commit` (also when the count is unknown).
    pub moved: bool,
    /// `commit` is not in the source revision's history (rewritten, or mirrored from elsewhere).
    pub in_history: bool,
}

impl Provenance {
    /// `mirrors hf:acme/x@abc1234, 2 commits behind`.
    pub fn describe(&self) -> String {
        let short: String = self.commit.chars().take(7).collect();
        let state = match (self.commits_behind, self.in_history) {
            (Some(0), _) => "current".to_string(),
            (Some(1), _) => "1 commit behind".to_string(),
            (Some(n), _) => format!("{n} commits behind"),
            (None, false) => "not in the source's history (rewritten, or another branch)".into(),
            (None, true) => "the source moved since (its hub lists no history to count)".into(),
        };
        format!("mirrors {}@{short}, {state}", self.source)
    }
}

/// The mirrored source and commit named by a commit message's last `Mirrored-From:` trailer.
pub fn parse_trailer(message: &str) -> Option<(RepoRef, String)> {
    let value = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(TRAILER))?
        .trim();
    let mut r = repo_ref::parse_source(value, None).ok()?;
    let commit = r.revision.take()?;
    if r.repo_type.is_none() {
        r.repo_type = Some(RepoType::Model);
    }
    Some((r, commit))
}

/// Reads `dest`'s last commit at `dest_revision` and, when it carries a trailer, how the source
/// stands: its history is read at `source_revision` (the branch the mirror follows). `Ok(None)`
/// for a destination without commits or whose last commit names no source.
pub async fn read(
    hubs: &Hubs,
    dest: &RepoRef,
    dest_revision: &str,
    source_revision: Option<&str>,
) -> Result<Option<Provenance>, HubError> {
    let t = dest.repo_type_or_model();
    let Some(last) = hubs
        .last_commit(dest.platform, t, &dest.id, dest_revision)
        .await?
    else {
        return Ok(None);
    };
    let Some((source, commit)) = parse_trailer(&last.message) else {
        return Ok(None);
    };
    let revision = source_revision.unwrap_or(source.platform.default_revision());
    let behind = hubs
        .behind(
            source.platform,
            source.repo_type_or_model(),
            &source.id,
            revision,
            &commit,
        )
        .await?;
    let (commits_behind, moved, in_history) = match behind {
        Behind::Commits(n) => (Some(n), n > 0, true),
        Behind::Moved => (None, true, true),
        Behind::NotInHistory => (None, true, false),
    };
    Ok(Some(Provenance {
        source: source.to_string(),
        commit,
        dest_commit: last.id,
        commits_behind,
        moved,
        in_history,
    }))
}

/// [`read`] for a report line: a failure to read it is a warning, never the command's failure.
/// `source_revision` `None` = the source's default branch.
pub async fn read_or_warn(
    p: &crate::printer::Printer,
    hubs: &Hubs,
    dest: &RepoRef,
    dest_revision: &str,
    source_revision: Option<&str>,
) -> Option<Provenance> {
    match read(hubs, dest, dest_revision, source_revision).await {
        Ok(found) => found,
        Err(e) => {
            p.warn(&format!("could not read the provenance of {dest}: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trip() {
        let msg =
            "hubferry: copy from hf:acme/x@abc (batch 1)\n\nMirrored-From: hf:acme/x@0123abcd";
        let (r, c) = parse_trailer(msg).unwrap();
        assert_eq!(r.to_string(), "hf:acme/x");
        assert_eq!(c, "0123abcd");
        let (r, _) = parse_trailer("t\n\nMirrored-From: ms:datasets/acme/d@master").unwrap();
        assert_eq!(r.repo_type, Some(RepoType::Dataset));
        assert_eq!(r.to_string(), "ms:datasets/acme/d");
        assert!(parse_trailer("Upload 3 files").is_none());
        assert!(parse_trailer("Mirrored-From: hf:acme/x").is_none());
    }

    #[test]
    fn describes_the_distance() {
        let mut p = Provenance {
            source: "hf:acme/x".into(),
            commit: "abcdef0123".into(),
            dest_commit: "d".into(),
            commits_behind: Some(2),
            moved: true,
            in_history: true,
        };
        assert_eq!(p.describe(), "mirrors hf:acme/x@abcdef0, 2 commits behind");
        p.commits_behind = Some(0);
        assert_eq!(p.describe(), "mirrors hf:acme/x@abcdef0, current");
        p.commits_behind = None;
        assert!(p.describe().ends_with("lists no history to count)"));
    }
}
