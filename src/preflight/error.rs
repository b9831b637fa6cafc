//! Preflight failures: their class (which decides the exit code), the message naming the repo and
//! the step, and the `hint:` the user can act on.

use serde::Serialize;

use crate::credentials::CredentialsError;
use crate::hub::{HubError, HubErrorKind};
use crate::repo_ref::{Platform, RefError, RepoRef};

/// The class of a preflight failure; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong (exit 2).
    BadInput,
    /// A token is missing or refused (exit 3).
    Credentials,
    /// The token may not do what is needed (exit 3).
    Permission,
    /// The source repo or revision does not exist or is invisible to the token (exit 2).
    NotFound,
    /// A hub could not be reached or answered nonsense (exit 1).
    Network,
}

impl ErrorKind {
    /// The process exit code for this class (design.md).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::BadInput | ErrorKind::NotFound => 2,
            ErrorKind::Credentials | ErrorKind::Permission => 3,
            ErrorKind::Network => 1,
        }
    }
}

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
    let (kind, hint) = match e.kind {
        HubErrorKind::Network => (
            ErrorKind::Network,
            Some(format!(
                "check the network and {}",
                endpoint_var(e.platform)
            )),
        ),
        HubErrorKind::Unauthorized => (ErrorKind::Credentials, Some(token_hint(e.platform))),
        HubErrorKind::Forbidden if e.message.contains("Access to this resource is disabled") => {
            return disabled_error(repo).with_source(e)
        }
        HubErrorKind::Forbidden => (
            ErrorKind::Permission,
            Some(format!(
                "check that your {} token can access {repo}",
                e.platform.display_name()
            )),
        ),
        HubErrorKind::NotFound => (
            ErrorKind::NotFound,
            Some(
                "check the repository id, type and revision; a private repository looks missing \
                 to users who cannot read it"
                    .to_string(),
            ),
        ),
        _ => (
            ErrorKind::Network,
            Some("try again later; if it persists, the hub may be having trouble".to_string()),
        ),
    };
    PreflightError::new(kind, format!("{step} for {repo} failed: {e}"), hint).with_source(e)
}

/// The hub has disabled the repository (legal or abuse reasons): nothing can be read from it.
pub(super) fn disabled_error(repo: &RepoRef) -> PreflightError {
    PreflightError::new(
        ErrorKind::Permission,
        format!("{repo} is disabled on its hub, so its files cannot be read"),
        Some("nothing to do from here; the repository's page on the hub says why".to_string()),
    )
}

pub(super) fn endpoint_var(p: Platform) -> &'static str {
    match p {
        Platform::Hf => "HF_ENDPOINT",
        Platform::Ms => "MODELSCOPE_ENDPOINT",
    }
}

pub(super) fn token_hint(p: Platform) -> String {
    match p {
        Platform::Hf => {
            "set HF_TOKEN (or run `hf auth login`) with a valid Hugging Face token".into()
        }
        Platform::Ms => {
            "set MODELSCOPE_API_TOKEN (or MODELSCOPE_TOKEN) to a valid ModelScope access token"
                .into()
        }
    }
}
