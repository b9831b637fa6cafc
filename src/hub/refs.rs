//! Branches, tags and commits of a repository on either hub: what `--revisions` mirrors and what
//! the provenance trailer is read from.
//!
//! What each hub's API can do (read in the pinned SDKs; docs/mirrors.md, "Branches and tags"):
//! - Hugging Face: `GET …/refs` (branches and tags with their commits), `GET …/commits/{rev}`
//!   (history with messages, paged), `POST …/branch/{name}` (from a start point), `POST
//!   …/tag/{rev}`, and deleting either.
//! - ModelScope: `GET …/revisions` (branches and tags; the commit id when the service names it),
//!   `POST …/repo/tag` (`TagName` at a `Ref`), commits onto an *existing* branch, and the latest
//!   commit of a revision in its file listing (`Data.LatestCommitter`). Its API cannot create or
//!   delete a branch, delete or move a tag, or list a revision's history.

use super::{HubError, HubErrorKind, Hubs};
use crate::repo_ref::{Platform, RepoType};

/// A branch or tag and the commit it points at (`None` when the hub does not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRef {
    pub name: String,
    pub commit: Option<String>,
}

/// A repository's branches and tags, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefList {
    pub branches: Vec<NamedRef>,
    pub tags: Vec<NamedRef>,
}

impl RefList {
    pub fn branch(&self, name: &str) -> Option<&NamedRef> {
        self.branches.iter().find(|r| r.name == name)
    }

    pub fn tag(&self, name: &str) -> Option<&NamedRef> {
        self.tags.iter().find(|r| r.name == name)
    }

    pub(crate) fn sorted(mut self) -> Self {
        self.branches.sort_by(|a, b| a.name.cmp(&b.name));
        self.tags.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }
}

/// One commit: its id and full message (title, blank line, body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub message: String,
}

/// How far a revision's history has gone past a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    /// This many commits were made after it (0: the revision still points at it).
    Commits(usize),
    /// The revision points elsewhere and the hub lists no history to count the commits (ModelScope).
    Moved,
    /// The commit is not in the revision's history (rewritten, or another branch).
    NotInHistory,
}

impl Hubs {
    /// The repository's branches and tags.
    pub async fn refs(&self, p: Platform, t: RepoType, id: &str) -> Result<RefList, HubError> {
        match p {
            Platform::Hf => self.hf.refs(t, id).await,
            Platform::Ms => self.ms.refs(t, id).await,
        }
    }

    /// The commit `revision` points at, with its message; `None` for a repo without commits.
    pub async fn last_commit(
        &self,
        p: Platform,
        t: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Option<CommitInfo>, HubError> {
        match p {
            Platform::Hf => Ok(self
                .hf
                .commits(t, id, revision, None)
                .await?
                .into_iter()
                .next()),
            Platform::Ms => self.ms.latest_commit(t, id, revision).await,
        }
    }

    /// How many commits `revision` has gained since `commit`: counted in HF's history; on
    /// ModelScope (no history API) only whether it still points at it.
    pub async fn behind(
        &self,
        p: Platform,
        t: RepoType,
        id: &str,
        revision: &str,
        commit: &str,
    ) -> Result<Behind, HubError> {
        match p {
            Platform::Hf => {
                let history = self.hf.commits(t, id, revision, Some(commit)).await?;
                Ok(match history.iter().position(|c| c.id == commit) {
                    Some(n) => Behind::Commits(n),
                    None => Behind::NotInHistory,
                })
            }
            Platform::Ms => {
                let head = self.ms.latest_commit(t, id, revision).await?;
                Ok(match head {
                    Some(c) if c.id == commit => Behind::Commits(0),
                    _ => Behind::Moved,
                })
            }
        }
    }

    /// Creates branch `name` at commit `start` (HF only: ModelScope's API has no branch creation).
    pub async fn create_branch(
        &self,
        p: Platform,
        t: RepoType,
        id: &str,
        name: &str,
        start: &str,
    ) -> Result<(), HubError> {
        match p {
            Platform::Hf => self.hf.create_branch(t, id, name, start).await,
            Platform::Ms => Err(ms_cannot(t, id, "POST", &format!("create branch {name}"))),
        }
    }

    /// Deletes tag `tag` (HF only: ModelScope's API cannot delete or move a tag).
    pub async fn delete_tag(
        &self,
        p: Platform,
        t: RepoType,
        id: &str,
        tag: &str,
    ) -> Result<(), HubError> {
        match p {
            Platform::Hf => self.hf.delete_tag(t, id, tag).await,
            Platform::Ms => Err(ms_cannot(t, id, "DELETE", &format!("delete tag {tag}"))),
        }
    }

    /// Creates tag `tag` at `commit` (a commit id, or a branch name when the hub named no commit).
    pub async fn create_tag(
        &self,
        p: Platform,
        t: RepoType,
        id: &str,
        tag: &str,
        commit: &str,
        message: &str,
    ) -> Result<(), HubError> {
        match p {
            Platform::Hf => self.hf.create_tag(t, id, tag, commit, message).await,
            Platform::Ms => self.ms.create_tag(t, id, tag, commit).await,
        }
    }
}

/// What ModelScope's API has no call for, as the error a call would have given.
fn ms_cannot(t: RepoType, id: &str, method: &'static str, what: &str) -> HubError {
    HubError {
        platform: Platform::Ms,
        kind: HubErrorKind::Other,
        status: None,
        method,
        path: format!("/{}/{id}", t.plural()),
        message: format!("ModelScope's API cannot {what}"),
    }
}
