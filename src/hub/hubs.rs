//! Both hubs behind one interface: the clients built once from the credentials, and the calls the
//! rest of hubferry makes without caring which hub answers. What differs between the hubs (which
//! repo types exist, how an empty repo lists, where a listing is taken) is decided here, not at
//! each call site.

use super::{http_client, HfClient, HubError, HubErrorKind, MsClient};
use crate::credentials::Credentials;
use crate::manifest::FileEntry;
use crate::repo_ref::{Platform, RepoType};

/// The repo types each hub has, in the order a type is detected when the user does not say it.
const HF_TYPES: &[RepoType] = &[RepoType::Model, RepoType::Dataset, RepoType::Space];
/// ModelScope has no spaces (its studios are not migrated).
const MS_TYPES: &[RepoType] = &[RepoType::Model, RepoType::Dataset];

impl Platform {
    /// The repo types this hub has, in detection order.
    pub fn repo_types(self) -> &'static [RepoType] {
        match self {
            Platform::Hf => HF_TYPES,
            Platform::Ms => MS_TYPES,
        }
    }

    /// The clone URL of a repo on this hub at `base` (no credentials in it).
    pub fn git_url(self, base: &str, t: RepoType, id: &str) -> String {
        let base = base.trim_end_matches('/');
        match self {
            Platform::Hf => {
                let prefix = match t {
                    RepoType::Model => "",
                    RepoType::Dataset => "datasets/",
                    RepoType::Space => "spaces/",
                };
                format!("{base}/{prefix}{id}")
            }
            Platform::Ms => format!("{base}/{}/{id}.git", t.plural()),
        }
    }

    /// The Authorization header git sends: a Bearer token on Hugging Face, Basic `oauth2:{token}`
    /// on ModelScope (the form its git remote documents).
    pub fn git_auth_header(self, token: &str) -> String {
        match self {
            Platform::Hf => format!("Authorization: Bearer {token}"),
            Platform::Ms => format!("Authorization: Basic {}", ms_git_basic(token)),
        }
    }

    /// `given`, else every type this hub has, in detection order.
    pub fn candidate_types(self, given: Option<RepoType>) -> Vec<RepoType> {
        match given {
            Some(t) => vec![t],
            None => self.repo_types().to_vec(),
        }
    }
}

/// The base64 credentials of the ModelScope git header (a form of the token to redact as well).
pub fn ms_git_basic(token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{token}"))
}

/// Clients of both hubs with the endpoints and tokens of one set of credentials.
#[derive(Clone)]
pub struct Hubs {
    pub hf: HfClient,
    pub ms: MsClient,
}

impl Hubs {
    pub fn new(creds: &Credentials) -> Self {
        let http = http_client();
        Hubs {
            hf: HfClient::new(
                http.clone(),
                creds.hf_endpoint.clone(),
                creds.hf_token.clone(),
            ),
            ms: MsClient::new(http, creds.ms_endpoint.clone(), creds.ms_token.clone()),
        }
    }

    /// True when `platform`'s token is configured.
    pub fn has_token(&self, platform: Platform) -> bool {
        match platform {
            Platform::Hf => self.hf.has_token(),
            Platform::Ms => self.ms.has_token(),
        }
    }

    /// Whether the repo exists as type `t`, and what its files are listed at: HF the commit the
    /// revision points at (none for a repo without commits); ModelScope the branch or tag itself
    /// (its listings take names, not commits).
    pub async fn listing_point(
        &self,
        platform: Platform,
        t: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Option<String>, HubError> {
        match platform {
            Platform::Hf => Ok(self.hf.repo_info(t, id, Some(revision)).await?.sha),
            Platform::Ms => {
                self.ms.repo_info(t, id).await?;
                Ok(Some(revision.to_string()))
            }
        }
    }

    /// The files of `id` at `revision`.
    pub async fn list_files(
        &self,
        platform: Platform,
        t: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Vec<FileEntry>, HubError> {
        match platform {
            Platform::Hf => self.hf.list_files(t, id, revision).await,
            Platform::Ms => self.ms.list_files(t, id, revision).await,
        }
    }

    /// The files of an existing repo at `at` ([`Hubs::listing_point`]): none when it has no
    /// commit yet (HF), or no branch yet (an empty ModelScope repo answers 404).
    pub async fn list_existing(
        &self,
        platform: Platform,
        t: RepoType,
        id: &str,
        at: Option<&str>,
    ) -> Result<Vec<FileEntry>, HubError> {
        let Some(at) = at else {
            return Ok(Vec::new());
        };
        match self.list_files(platform, t, id, at).await {
            Err(e) if platform == Platform::Ms && e.kind == HubErrorKind::NotFound => {
                Ok(Vec::new())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_auth_follows_each_hub() {
        assert_eq!(
            Platform::Ms.git_auth_header("tok"),
            "Authorization: Basic b2F1dGgyOnRvaw=="
        );
        assert_eq!(
            Platform::Hf.git_auth_header("hf_x"),
            "Authorization: Bearer hf_x"
        );
    }
}
