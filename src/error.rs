//! How a failure becomes an exit code: the one exit-status table, the user-facing error type, the
//! mapping of a hub's refusal to a status and a `hint:`, and the rule that folds many
//! repositories' statuses (batch, sync) into one.
//!
//! Exit codes (docs/report.md): 0 done and verified, 1 failed or not verified, 2 bad input,
//! 3 credentials/permission, 4 partial, 130 interrupted.

use serde::Serialize;

use crate::hub::{HubError, HubErrorKind};
use crate::repo_ref::RepoRef;

/// Exit codes (docs/report.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done and verified.
    Success,
    /// Failed, or not verified.
    Failure,
    /// Bad input (arguments, ids, files).
    BadInput,
    /// Credentials missing or wrong, or no permission.
    Credentials,
    /// Some repositories or chunks failed.
    Partial,
    /// Interrupted by the user.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::Credentials => 3,
            ExitStatus::Partial => 4,
            ExitStatus::Interrupted => 130,
        }
    }

    /// The status a recorded exit code stands for.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::BadInput,
            3 => ExitStatus::Credentials,
            4 => ExitStatus::Partial,
            130 => ExitStatus::Interrupted,
            _ => ExitStatus::Failure,
        }
    }
}

/// The class of a failure found before anything runs; it decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong (exit 2).
    BadInput,
    /// A token is missing or refused (exit 3).
    Credentials,
    /// The token may not do what is needed (exit 3).
    Permission,
    /// The repo or revision does not exist or is invisible to the token (exit 2).
    NotFound,
    /// A hub could not be reached or answered nonsense (exit 1).
    Network,
}

impl From<ErrorKind> for ExitStatus {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::BadInput | ErrorKind::NotFound => ExitStatus::BadInput,
            ErrorKind::Credentials | ErrorKind::Permission => ExitStatus::Credentials,
            ErrorKind::Network => ExitStatus::Failure,
        }
    }
}

impl ErrorKind {
    /// The process exit code for this class.
    pub fn exit_code(self) -> u8 {
        ExitStatus::from(self).code()
    }
}

/// An error the user can act on: its exit status and an optional `hint:`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub status: ExitStatus,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            hint: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::BadInput, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// What a hub's failure about `repo` means: its class and what the user can do about it.
pub fn hub_failure(e: &HubError, repo: &RepoRef) -> (ErrorKind, String) {
    match e.kind {
        HubErrorKind::Network => (
            ErrorKind::Network,
            format!("check the network and {}", e.platform.endpoint_var()),
        ),
        HubErrorKind::Unauthorized => (ErrorKind::Credentials, e.platform.token_hint()),
        HubErrorKind::Forbidden => (
            ErrorKind::Permission,
            format!(
                "check that your {} token can access {repo}",
                e.platform.display_name()
            ),
        ),
        HubErrorKind::NotFound => (
            ErrorKind::NotFound,
            "check the repository id, type and revision; a private repository looks missing \
             to users who cannot read it"
                .to_string(),
        ),
        _ => (
            ErrorKind::Network,
            "try again later; if it persists, the hub may be having trouble".to_string(),
        ),
    }
}

/// A hub failure while doing `what` to `repo` as an error with its exit status and hint.
pub fn hub_error(what: &str, repo: &RepoRef, err: HubError) -> anyhow::Error {
    let (kind, hint) = hub_failure(&err, repo);
    anyhow::Error::from(CliError::new(kind.into(), format!("{what} {repo}: {err}")).with_hint(hint))
}

/// Maps an error chain to its exit status and the first hint found along it.
pub fn classify(err: &anyhow::Error) -> (ExitStatus, Option<String>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return (e.status, e.hint.clone());
        }
        if let Some(e) = cause.downcast_ref::<crate::preflight::PreflightError>() {
            return (e.kind().into(), e.hint().map(str::to_owned));
        }
        if let Some(e) = cause.downcast_ref::<crate::repo_ref::RefError>() {
            return (ExitStatus::BadInput, Some(e.hint()));
        }
    }
    (ExitStatus::Failure, None)
}

/// The overall status of a command that handles many repositories (batch, sync): success when
/// all succeeded; when all failed, their shared status if they agree and failure (1) if they do
/// not; partial (4) when some but not all failed, since 4 promises that something landed.
pub fn overall(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
    let statuses: Vec<ExitStatus> = statuses.into_iter().collect();
    let failed: Vec<ExitStatus> = statuses
        .iter()
        .copied()
        .filter(|s| *s != ExitStatus::Success)
        .collect();
    match failed.first() {
        None => ExitStatus::Success,
        Some(_) if failed.len() < statuses.len() => ExitStatus::Partial,
        Some(first) if failed.iter().all(|s| s == first) => *first,
        Some(_) => ExitStatus::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        use ExitStatus::*;
        for s in [
            Success,
            Failure,
            BadInput,
            Credentials,
            Partial,
            Interrupted,
        ] {
            assert_eq!(ExitStatus::from_code(s.code()), s);
        }
        assert_eq!(ExitStatus::from_code(77), Failure);
    }

    #[test]
    fn overall_is_shared_status_when_all_failed_alike_else_failure_or_partial() {
        use ExitStatus::*;
        assert_eq!(overall([]), Success);
        assert_eq!(overall([Success, Success]), Success);
        assert_eq!(overall([Credentials, Credentials]), Credentials);
        assert_eq!(overall([BadInput, Failure]), Failure);
        assert_eq!(overall([Credentials, BadInput, Failure]), Failure);
        assert_eq!(overall([Success, Failure]), Partial);
        assert_eq!(overall([Success, BadInput, Credentials]), Partial);
    }
}
