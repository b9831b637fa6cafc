//! Both hubs behind one interface: the clients built once from the credentials, and the calls the
//! rest of hubferry makes without caring which hub answers. What differs between the hubs (which
//! repo types exist, how an empty repo lists, where a listing is taken) is decided here, not at
//! each call site.

use super::hf::HfUser;
use super::ms::MsUser;
use super::{http_client, HfClient, HubError, HubErrorKind, MsClient};
use crate::credentials::Credentials;
use crate::manifest::FileEntry;
use crate::repo_ref::{Platform, RepoRef, RepoType};

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

    /// Whether the hub can say if a token's user may read a gated repo: HF grants access per user
    /// and answers `auth-check`; ModelScope has no such check (the worker's download tells).
    pub fn checks_gated_access(self) -> bool {
        self == Platform::Hf
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

/// What a hub says about one repo (at one revision).
#[derive(Debug, Clone)]
pub struct RepoFacts {
    pub repo_type: RepoType,
    pub private: bool,
    pub gated: bool,
    /// Commit the revision points at, when known (informational on ModelScope).
    pub sha: Option<String>,
    /// HF disables repos (legal or abuse reasons); their files cannot be read.
    pub disabled: bool,
    /// What its files are listed at (see [`Hubs::listing_point`]): `None` for a repo without
    /// commits.
    pub listing_point: Option<String>,
}

/// Who the tokens belong to (validated), per hub; `None` where no token is set.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    pub hf: Option<HfUser>,
    pub ms: Option<MsUser>,
}

impl Identities {
    /// How messages name the token's user on `platform`: ``user `alice` ``, or "your token".
    pub fn describe(&self, platform: Platform) -> String {
        let name = match platform {
            Platform::Hf => self.hf.as_ref().map(|u| u.name.as_str()),
            Platform::Ms => self.ms.as_ref().map(|u| u.username.as_str()),
        };
        name.map_or("your token".into(), |n| format!("user `{n}`"))
    }
}

/// A hub's answer to whether the token's user may create or write a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAccess {
    Granted,
    /// The hub gives no way to check; the warning says so (the run's first write will tell).
    Unknown {
        warning: String,
    },
    Refused {
        message: String,
        hint: String,
    },
}

/// The user a token belongs to ([`Hubs::token_owner`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: String,
    /// `None` when the hub cannot list them.
    pub orgs: Option<Vec<String>>,
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

    /// A repo's page on its hub.
    pub fn web_url(&self, platform: Platform, t: RepoType, id: &str) -> String {
        match platform {
            Platform::Hf => self.hf.web_url(t, id),
            Platform::Ms => self.ms.web_url(t, id),
        }
    }

    /// Who `platform`'s token belongs to, and the organizations the hub lists for them
    /// (`None` on ModelScope, which has no API that lists them).
    pub async fn token_owner(&self, platform: Platform) -> Result<TokenOwner, HubError> {
        match platform {
            Platform::Hf => self.hf.whoami().await.map(|u| TokenOwner {
                user: u.name,
                orgs: Some(u.orgs),
            }),
            Platform::Ms => self.ms.login().await.map(|u| TokenOwner {
                user: u.username,
                orgs: None,
            }),
        }
    }

    /// Validates whichever tokens are set, both at once (HF `whoami-v2`; ModelScope login and
    /// `users/me`); the error names the hub that refused.
    pub async fn identities(&self) -> Result<Identities, HubError> {
        let hf = async {
            match self.hf.has_token() {
                true => self.hf.whoami().await.map(Some),
                false => Ok(None),
            }
        };
        let ms = async {
            match self.ms.has_token() {
                true => self.ms.login().await.map(Some),
                false => Ok(None),
            }
        };
        let (hf, ms) = tokio::join!(hf, ms);
        Ok(Identities { hf: hf?, ms: ms? })
    }

    /// The repo's type, visibility, gating and the commit `revision` (default branch when `None`)
    /// points at. ModelScope's commit comes from a second request and is informational: its
    /// listings take the revision's name.
    pub async fn repo_facts(
        &self,
        platform: Platform,
        t: RepoType,
        id: &str,
        revision: Option<&str>,
    ) -> Result<RepoFacts, HubError> {
        match platform {
            Platform::Hf => {
                let info = self.hf.repo_info(t, id, revision).await?;
                Ok(RepoFacts {
                    repo_type: t,
                    private: info.private,
                    gated: info.gated,
                    listing_point: info.sha.clone(),
                    sha: info.sha,
                    disabled: info.disabled,
                })
            }
            Platform::Ms => {
                let info = self.ms.repo_info(t, id).await?;
                let rev = revision.unwrap_or(platform.default_revision());
                let sha = self.ms.resolve_revision(t, id, rev).await.ok().flatten();
                Ok(RepoFacts {
                    repo_type: t,
                    private: info.private,
                    gated: info.gated,
                    sha,
                    disabled: false,
                    listing_point: Some(rev.to_string()),
                })
            }
        }
    }

    /// A source's files, at its commit when the hub gave one: none for a repo without commits.
    pub async fn source_files(
        &self,
        source: &RepoRef,
        facts: &RepoFacts,
    ) -> Result<Vec<FileEntry>, HubError> {
        let Some(at) = facts.sha.as_ref().or(facts.listing_point.as_ref()) else {
            return Ok(Vec::new());
        };
        let t = source.repo_type_or_model();
        self.list_files(source.platform, t, &source.id, at).await
    }

    /// Whether the token's user has been granted access to a gated repo (only asked of a hub that
    /// [`Platform::checks_gated_access`]).
    pub async fn may_read_gated(
        &self,
        platform: Platform,
        t: RepoType,
        id: &str,
    ) -> Result<bool, HubError> {
        match platform {
            Platform::Hf => self.hf.auth_check(t, id, false).await,
            Platform::Ms => Ok(true),
        }
    }

    /// Whether the validated token of `dest`'s hub may create or write `dest`; each hub's rules
    /// are its client's (`HfClient::write_access`, `ms::write_access`). `ms_orgs` is
    /// `HUBFERRY_MS_ORGS`.
    pub async fn write_access(
        &self,
        ids: &Identities,
        dest: &RepoRef,
        exists: bool,
        ms_orgs: &[String],
    ) -> Result<WriteAccess, HubError> {
        const VALIDATED: &str = "the destination token was validated";
        match dest.platform {
            Platform::Hf => {
                let user = ids.hf.as_ref().expect(VALIDATED);
                self.hf.write_access(user, dest, exists).await
            }
            Platform::Ms => {
                let user = ids.ms.as_ref().expect(VALIDATED);
                Ok(super::ms::write_access(user, dest, exists, ms_orgs))
            }
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
