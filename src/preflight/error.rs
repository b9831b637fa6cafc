//! Preflight failures: their class (which decides the exit code), the message naming the repo and
//! the step, and the `hint:` the user can act on.

use crate::credentials::CredentialsError;
use crate::error::hub_failure;
pub use crate::error::ErrorKind;
use crate::hub::{HubError, HubErrorKind};
use crate::repo_ref::{RefError, RepoRef};

/// A preflight failure: what failed, for which repo, at which step, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PreflightError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    #[source]
    source: Option<Box<HubError>>,
}

impl PreflightError {
    pub(super) fn new(
        kind: ErrorKind,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        PreflightError {
            kind,
            message: message.into(),
            hint: hint.into(),
            source: None,
        }
    }

    pub(super) fn with_source(mut self, e: HubError) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// The class of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A suggestion the user can act on.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl From<RefError> for PreflightError {
    fn from(e: RefError) -> Self {
        PreflightError::new(ErrorKind::BadInput, e.to_string(), Some(e.hint()))
    }
}

impl From<CredentialsError> for PreflightError {
    fn from(e: CredentialsError) -> Self {
        PreflightError::new(ErrorKind::BadInput, e.to_string(), Some(e.hint()))
    }
}

/// A hub failure at `step` for `repo`, classed by what the hub said.
pub(super) fn hub_error(step: &str, repo: &RepoRef, e: HubError) -> PreflightError {
    if e.kind == HubErrorKind::Forbidden
        && e.message.contains("Access to this resource is disabled")
    {
        return disabled_error(repo).with_source(e);
    }
    let (kind, hint) = hub_failure(&e, repo);
    PreflightError::new(kind, format!("{step} for {repo} failed: {e}"), Some(hint)).with_source(e)
}

/// The hub has disabled the repository (legal or abuse reasons): nothing can be read from it.
pub(super) fn disabled_error(repo: &RepoRef) -> PreflightError {
    PreflightError::new(
        ErrorKind::Permission,
        format!("{repo} is disabled on its hub, so its files cannot be read"),
        Some("nothing to do from here; the repository's page on the hub says why".to_string()),
    )
}
