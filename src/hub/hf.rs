//! Hugging Face Hub read API: `whoami-v2`, repo info at a revision, recursive tree listing with
//! `Link` pagination, `auth-check/write`, and repo listing by author.
//!
//! The tree is listed with `expand=false`: the `lfs` object (sha256) is part of the plain listing,
//! while `expand=true` adds per-file last-commit data the plan does not need and that makes the Hub
//! page far more slowly.

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use url::Url;

use super::{
    build_url, error_from, json_body, send_with_retry, HubError, HubErrorKind, RepoListing,
};
use super::{Endpoint, WriteAccess};
use crate::credentials::Secret;
use crate::manifest::{FileEntry, GitOid, Sha256};
use crate::repo_ref::{Platform, RepoRef, RepoType};

/// Assumed per-connection rate of the Hugging Face Hub and its CDN (bytes per second).
pub const CONNECTION_BPS: f64 = 50e6;

const P: Platform = Platform::Hf;

mod refs;

/// A client for one HF endpoint, with or without a token.
#[derive(Clone)]
pub struct HfClient {
    ep: Endpoint,
}

/// The token's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfUser {
    pub name: String,
    pub orgs: Vec<String>,
    /// Orgs in which the user's role is `read` (they cannot create repos there).
    pub read_only_orgs: Vec<String>,
    /// `read`, `write`, `fineGrained`…, when the Hub says.
    pub token_role: Option<String>,
}

/// Repo metadata at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfRepoInfo {
    pub id: String,
    /// The commit the revision points at (`None` for an empty repo).
    pub sha: Option<String>,
    pub private: bool,
    /// `auto`/`manual` gating counts as gated.
    pub gated: bool,
    pub disabled: bool,
}

#[derive(Deserialize)]
struct WhoamiJson {
    name: String,
    #[serde(default)]
    orgs: Vec<NameJson>,
    #[serde(default)]
    auth: Option<AuthJson>,
}

#[derive(Deserialize)]
struct NameJson {
    name: String,
    #[serde(rename = "roleInOrg", default)]
    role_in_org: Option<String>,
}

#[derive(Deserialize)]
struct AuthJson {
    #[serde(rename = "accessToken", default)]
    access_token: Option<AccessTokenJson>,
}

#[derive(Deserialize)]
struct AccessTokenJson {
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
struct RepoJson {
    id: String,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    gated: serde_json::Value,
    #[serde(default)]
    disabled: bool,
    #[serde(rename = "createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "lastModified", default)]
    last_modified: Option<String>,
}

/// `gated` is `false`, `"auto"` or `"manual"` (older answers: `true`).
fn is_gated(gated: &serde_json::Value) -> bool {
    match gated {
        serde_json::Value::String(s) => !s.is_empty() && s != "false",
        serde_json::Value::Bool(b) => *b,
        _ => false,
    }
}

#[derive(Deserialize)]
struct TreeEntryJson {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    lfs: Option<LfsJson>,
}

#[derive(Deserialize)]
struct LfsJson {
    oid: String,
}

impl HfClient {
    /// A client for `base` (e.g. `https://huggingface.co`).
    pub fn new(http: reqwest::Client, base: Url, token: Option<Secret>) -> Self {
        HfClient {
            ep: Endpoint { http, base, token },
        }
    }

    /// The endpoint, for the requests [`super::Hubs`] makes itself.
    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    /// True when a token is configured.
    pub fn has_token(&self) -> bool {
        self.ep.token.is_some()
    }

    /// The web URL of a repo (`{base}/datasets/ns/name`).
    pub fn web_url(&self, repo_type: RepoType, id: &str) -> String {
        let prefix = match repo_type {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        };
        format!(
            "{}/{prefix}{id}",
            self.ep.base.as_str().trim_end_matches('/')
        )
    }

    /// The Hub takes the token as a Bearer.
    pub(super) fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.ep.token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        }
    }

    async fn get(&self, url: &Url) -> Result<reqwest::Response, HubError> {
        send_with_retry(P, "GET", url, || self.authed(self.ep.http.get(url.clone()))).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(T, HeaderMap), HubError> {
        let resp = self.get(url).await?;
        if !resp.status().is_success() {
            return Err(error_from(P, "GET", url, resp, hf_message).await);
        }
        let headers = resp.headers().clone();
        Ok((json_body(P, "GET", url, resp).await?, headers))
    }

    /// `GET /api/whoami-v2`: the user, their orgs and the token's role. 401 = bad token.
    pub async fn whoami(&self) -> Result<HfUser, HubError> {
        let url = build_url(&self.ep.base, &["api", "whoami-v2"], &[]);
        let (w, _): (WhoamiJson, _) = self.get_json(&url).await?;
        let read_only_orgs = w
            .orgs
            .iter()
            .filter(|o| o.role_in_org.as_deref() == Some("read"))
            .map(|o| o.name.clone())
            .collect();
        Ok(HfUser {
            name: w.name,
            orgs: w.orgs.into_iter().map(|o| o.name).collect(),
            read_only_orgs,
            token_role: w.auth.and_then(|a| a.access_token).and_then(|t| t.role),
        })
    }

    /// `GET /api/{type}s/{id}[/revision/{rev}]`. A missing or invisible repo is a `NotFound` error
    /// (the Hub answers 401 to anonymous callers for those, with `X-Error-Code: RepoNotFound`).
    pub async fn repo_info(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: Option<&str>,
    ) -> Result<HfRepoInfo, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let mut segs = vec!["api", repo_type.plural(), ns, name];
        if let Some(rev) = revision {
            segs.extend(["revision", rev]);
        }
        let url = build_url(&self.ep.base, &segs, &[]);
        let (r, _): (RepoJson, _) = self.get_json(&url).await.map_err(repo_not_found_is_404)?;
        Ok(HfRepoInfo {
            id: r.id,
            sha: r.sha,
            private: r.private,
            gated: is_gated(&r.gated),
            disabled: r.disabled,
        })
    }

    /// Every file of the repo at `revision` (recursive tree, following `Link: rel="next"`).
    pub async fn list_files(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Vec<FileEntry>, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let mut url = build_url(
            &self.ep.base,
            &["api", repo_type.plural(), ns, name, "tree", revision],
            &[("recursive", "true"), ("expand", "false")],
        );
        let mut files = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let (page, headers): (Vec<TreeEntryJson>, _) =
                self.get_json(&url).await.map_err(repo_not_found_is_404)?;
            for e in page {
                if e.kind != "file" {
                    continue;
                }
                let sha256 = e.lfs.as_ref().and_then(|l| Sha256::from_hex(&l.oid));
                // For LFS files `oid` is the pointer file's blob id, not the content's.
                let git_oid = if e.lfs.is_none() {
                    e.oid.as_deref().and_then(GitOid::from_hex)
                } else {
                    None
                };
                files.push(FileEntry {
                    path: e.path,
                    size: e.size,
                    sha256,
                    git_oid,
                    lfs: e.lfs.is_some(),
                });
            }
            match next_page(&headers, &url, &mut seen)? {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(files)
    }

    /// `GET /api/{type}s/{id}/auth-check[/write]`: `Ok(true)` when the token may read (and pass the
    /// gate of) or, with `write`, write to the repo; `Ok(false)` on 401/403; other failures are errors.
    pub async fn auth_check(
        &self,
        repo_type: RepoType,
        id: &str,
        write: bool,
    ) -> Result<bool, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let mut segs = vec!["api", repo_type.plural(), ns, name, "auth-check"];
        if write {
            segs.push("write");
        }
        let url = build_url(&self.ep.base, &segs, &[]);
        let resp = self.get(&url).await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            401 | 403 => Ok(false),
            _ => Err(error_from(P, "GET", &url, resp, hf_message).await),
        }
    }

    /// Whether `user` (this client's validated token) may create or write `dest`: the namespace
    /// is the user's or one of its orgs (not one where its role is `read`), the token is not
    /// read-only, and for an existing repo `auth-check/write` agrees.
    pub async fn write_access(
        &self,
        user: &HfUser,
        dest: &RepoRef,
        exists: bool,
    ) -> Result<WriteAccess, HubError> {
        let (ns, name) = (dest.namespace(), dest.name());
        let refused = |message: String, hint: String| Ok(WriteAccess::Refused { message, hint });
        if user.token_role.as_deref() == Some("read") {
            return refused(
                format!("the Hugging Face token of `{}` is read-only, and writing {dest} needs write access", user.name),
                "create a token with the `write` role and set HF_TOKEN to it".to_string(),
            );
        }
        let mine = user.name.eq_ignore_ascii_case(ns)
            || user.orgs.iter().any(|o| o.eq_ignore_ascii_case(ns));
        if !mine {
            let orgs = if user.orgs.is_empty() {
                "none".to_string()
            } else {
                user.orgs.join(", ")
            };
            return refused(
                format!(
                    "cannot write {dest}: `{ns}` is neither the token's user `{}` nor one of its organizations ({orgs})",
                    user.name
                ),
                format!("check the namespace spelling, or pass --dest {}/{name}", user.name),
            );
        }
        if user
            .read_only_orgs
            .iter()
            .any(|o| o.eq_ignore_ascii_case(ns))
        {
            return refused(
                format!(
                    "cannot write {dest}: `{}` has only the read role in `{ns}`",
                    user.name
                ),
                format!(
                    "ask an admin of `{ns}` for the write role, or pass --dest {}/{name}",
                    user.name
                ),
            );
        }
        if exists
            && !self
                .auth_check(dest.repo_type_or_model(), &dest.id, true)
                .await?
        {
            return refused(
                format!("user `{}` may not write to the existing {dest}", user.name),
                format!(
                    "ask an admin of `{ns}` for write access, or pass --dest {}/{name}",
                    user.name
                ),
            );
        }
        Ok(WriteAccess::Granted)
    }

    /// `GET /api/{type}s?author=NS&full=true`, all pages (`full` adds `lastModified`).
    pub async fn list_repos(
        &self,
        repo_type: RepoType,
        author: &str,
    ) -> Result<Vec<RepoListing>, HubError> {
        let mut url = build_url(
            &self.ep.base,
            &["api", repo_type.plural()],
            &[("author", author), ("full", "true"), ("limit", "1000")],
        );
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let (page, headers): (Vec<RepoJson>, _) = self.get_json(&url).await?;
            out.extend(page.into_iter().map(|r| RepoListing {
                repo_type,
                gated: is_gated(&r.gated),
                id: r.id,
                private: r.private,
                created: r.created_at,
                updated: r.last_modified,
            }));
            match next_page(&headers, &url, &mut seen)? {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }
}

/// An anonymous 401 carrying `RepoNotFound` means "not found (or private)".
fn repo_not_found_is_404(mut e: HubError) -> HubError {
    if e.kind == HubErrorKind::Unauthorized && e.message.starts_with("[RepoNotFound]") {
        e.kind = HubErrorKind::NotFound;
    }
    e
}

/// The Hub's message: `X-Error-Message`, else the body's `error`, prefixed with `[X-Error-Code]`.
fn hf_message(headers: &HeaderMap, body: &str) -> String {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let message = header("x-error-message")
        .or_else(|| {
            serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    match header("x-error-code") {
        Some(code) => format!("[{code}] {message}"),
        None => message,
    }
}

/// The next page's URL from the `Link` header, refusing a link back to a page already read (a
/// server bug that would otherwise loop forever).
pub(crate) fn next_page(
    headers: &HeaderMap,
    current: &Url,
    seen: &mut HashSet<String>,
) -> Result<Option<Url>, HubError> {
    seen.insert(current.as_str().to_string());
    let Some(next) = next_link(headers) else {
        return Ok(None);
    };
    let bad = |message: &str| HubError {
        platform: P,
        kind: HubErrorKind::BadResponse,
        status: None,
        method: "GET",
        path: super::path_of(current),
        message: message.to_string(),
    };
    let url = Url::parse(&next).map_err(|_| bad("unparseable Link header"))?;
    if seen.contains(url.as_str()) {
        return Err(bad("the Link header points back to a page already read"));
    }
    Ok(Some(url))
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<http://h/api/models/a/b/tree/main?recursive=true&cursor=50>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).unwrap(),
            "http://h/api/models/a/b/tree/main?recursive=true&cursor=50"
        );
        h.insert(
            "link",
            r#"<http://h/x?p=1>; rel="prev", <http://h/x?p=3>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).unwrap(), "http://h/x?p=3");
        h.insert("link", r#"<http://h/x?p=1>; rel="prev""#.parse().unwrap());
        assert!(next_link(&h).is_none());
    }

    #[test]
    fn pagination_refuses_loops() {
        let mut seen = HashSet::new();
        let p1 = Url::parse("http://h/x?cursor=0").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<http://h/x?cursor=1>; rel="next""#.parse().unwrap(),
        );
        let p2 = next_page(&h, &p1, &mut seen).unwrap().unwrap();
        h.insert(
            "link",
            r#"<http://h/x?cursor=0>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            next_page(&h, &p2, &mut seen).unwrap_err().kind,
            HubErrorKind::BadResponse
        );
        assert!(next_page(&HeaderMap::new(), &p2, &mut seen)
            .unwrap()
            .is_none());
    }

    #[test]
    fn hub_messages() {
        let mut h = HeaderMap::new();
        h.insert("x-error-code", "RepoNotFound".parse().unwrap());
        h.insert("x-error-message", "Repository Not Found".parse().unwrap());
        assert_eq!(hf_message(&h, ""), "[RepoNotFound] Repository Not Found");
        assert_eq!(hf_message(&HeaderMap::new(), r#"{"error":"nope"}"#), "nope");
    }
}
