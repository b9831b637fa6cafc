//! ModelScope read API: login + `users/me`, repo metadata (OpenAPI, then the legacy API as the SDK
//! does), file listings (models: `repo/files`, re-listed per directory past the 3000-entry cap;
//! datasets: `repo/tree`, paged), revisions, and repo listing by owner.
//!
//! Every call sends the token both as `Authorization: Bearer` and as the `m_session_id` cookie, like
//! the SDK. ModelScope has no organizations endpoint (see `preflight` for what follows from that).

use std::collections::VecDeque;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    build_url, error_from, json_body, send_with_retry, HubError, HubErrorKind, RepoListing,
};
use super::{Endpoint, WriteAccess};
use crate::credentials::Secret;
use crate::manifest::{FileEntry, GitOid, Sha256};
use crate::repo_ref::{Platform, RepoRef, RepoType};

/// Assumed per-connection rate of ModelScope (bytes per second; the seed's runs saw about
/// 4–5 MB/s per stream).
pub const CONNECTION_BPS: f64 = 5e6;

const P: Platform = Platform::Ms;

mod refs;
/// `repo/files` answers at most this many entries; exactly this many means truncated.
const FILES_CAP: usize = 3000;
/// Page size of `repo/tree` (the SDK's).
const TREE_PAGE: usize = 200;
/// Concurrent page requests when the total is known.
const PAGE_CONCURRENCY: usize = 8;

/// A client for one ModelScope endpoint, with or without a token.
#[derive(Clone)]
pub struct MsClient {
    ep: Endpoint,
}

/// The token's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsUser {
    pub username: String,
}

/// Repo metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsRepoInfo {
    pub id: String,
    /// Visibility 1 (private) or 3 (internal) count as private.
    pub private: bool,
    pub gated: bool,
}

#[derive(Deserialize)]
struct FileJson {
    #[serde(rename = "Path")]
    path: String,
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Size", default)]
    size: u64,
    #[serde(rename = "Sha256", default)]
    sha256: Option<String>,
    #[serde(rename = "BlobId", default)]
    blob_id: Option<String>,
    #[serde(rename = "IsLFS", default)]
    is_lfs: bool,
    #[serde(rename = "Lfs", default)]
    lfs: Option<Value>,
}

impl FileJson {
    fn into_entry(self) -> FileEntry {
        let lfs = self.is_lfs || self.lfs.as_ref().is_some_and(|v| !v.is_null());
        // An LFS file's BlobId names its pointer, not its content: comparing it with the other
        // hub's content blob id (HF keeps small files out of LFS) would call equal bytes different.
        let git_oid = if lfs {
            None
        } else {
            self.blob_id.as_deref().and_then(GitOid::from_hex)
        };
        FileEntry {
            sha256: self.sha256.as_deref().and_then(Sha256::from_hex),
            git_oid,
            path: self.path,
            size: self.size,
            lfs,
        }
    }
}

#[derive(Deserialize)]
struct FilesData {
    #[serde(rename = "Files", default)]
    files: Vec<FileJson>,
    #[serde(rename = "TotalCount", default)]
    total_count: Option<usize>,
}

#[derive(Deserialize)]
struct Legacy<T> {
    #[serde(rename = "Data")]
    data: Option<T>,
}

impl MsClient {
    /// A client for `base` (e.g. `https://www.modelscope.cn`).
    pub fn new(http: reqwest::Client, base: Url, token: Option<Secret>) -> Self {
        MsClient {
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

    /// The web URL of a repo (`{base}/models/ns/name`).
    pub fn web_url(&self, repo_type: RepoType, id: &str) -> String {
        format!(
            "{}/{}/{id}",
            self.ep.base.as_str().trim_end_matches('/'),
            repo_type.plural()
        )
    }

    /// ModelScope takes the token as a Bearer and as its session cookie.
    pub(super) fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.ep.token {
            Some(t) => req
                .bearer_auth(t.expose())
                .header("Cookie", format!("m_session_id={}", t.expose())),
            None => req,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url) -> Result<T, HubError> {
        let resp =
            send_with_retry(P, "GET", url, || self.authed(self.ep.http.get(url.clone()))).await?;
        if !resp.status().is_success() {
            return Err(error_from(P, "GET", url, resp, ms_message).await);
        }
        json_body(P, "GET", url, resp).await
    }

    /// `POST /api/v1/login` then `GET /openapi/v1/users/me`. A refused token is `Unauthorized`.
    pub async fn login(&self) -> Result<MsUser, HubError> {
        let Some(token) = &self.ep.token else {
            return Err(HubError {
                platform: P,
                kind: HubErrorKind::Unauthorized,
                status: None,
                method: "POST",
                path: "/api/v1/login".into(),
                message: "no token".into(),
            });
        };
        let url = build_url(&self.ep.base, &["api", "v1", "login"], &[]);
        let body = serde_json::json!({ "AccessToken": token.expose() });
        let resp = send_with_retry(P, "POST", &url, || {
            self.ep.http.post(url.clone()).json(&body)
        })
        .await?;
        if !resp.status().is_success() {
            let mut e = error_from(P, "POST", &url, resp, ms_message).await;
            // ModelScope refuses a bad token at login with 400, not 401.
            if matches!(e.status, Some(400 | 401 | 403)) {
                e.kind = HubErrorKind::Unauthorized;
            }
            return Err(e);
        }
        let url = build_url(&self.ep.base, &["openapi", "v1", "users", "me"], &[]);
        let me: Value = self.get_json(&url).await?;
        let data = me.get("data").unwrap_or(&me);
        let username = ["username", "Username", "name", "Name"]
            .iter()
            .find_map(|k| data.get(*k).and_then(Value::as_str))
            .ok_or_else(|| HubError {
                platform: P,
                kind: HubErrorKind::BadResponse,
                status: None,
                method: "GET",
                path: super::path_of(&url),
                message: "no username in the answer".into(),
            })?;
        Ok(MsUser {
            username: username.to_string(),
        })
    }

    /// Repo metadata: OpenAPI first, then the legacy API (as the SDK does). Missing or invisible
    /// (private to others) is a `NotFound` error. Spaces do not exist on ModelScope.
    pub async fn repo_info(&self, repo_type: RepoType, id: &str) -> Result<MsRepoInfo, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["openapi", "v1", repo_type.plural(), ns, name],
            &[],
        );
        match self.get_json::<Value>(&url).await {
            Ok(v) => {
                let d = v.get("data").unwrap_or(&Value::Null);
                let visibility = d.get("visibility").and_then(Value::as_i64);
                let private = d
                    .get("private")
                    .and_then(Value::as_bool)
                    .unwrap_or(visibility.is_some_and(|v| v != 5));
                let gated = d.get("gated").and_then(Value::as_bool).unwrap_or(false);
                Ok(MsRepoInfo {
                    id: id.to_string(),
                    private,
                    gated,
                })
            }
            Err(e) if e.kind == HubErrorKind::NotFound => {
                let url = build_url(
                    &self.ep.base,
                    &["api", "v1", repo_type.plural(), ns, name],
                    &[],
                );
                let v: Legacy<Value> = self.get_json(&url).await?;
                let d = v.data.unwrap_or(Value::Null);
                let visibility = d.get("Visibility").and_then(Value::as_i64).unwrap_or(5);
                let gated = d.get("ProtectedMode").and_then(Value::as_i64) == Some(1);
                Ok(MsRepoInfo {
                    id: id.to_string(),
                    private: visibility != 5,
                    gated,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The commit id a branch or tag points at (`None` when the hub does not say).
    pub async fn resolve_revision(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Option<String>, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", "v1", repo_type.plural(), ns, name, "revisions"],
            &[],
        );
        let v: Legacy<Value> = self.get_json(&url).await?;
        let map = v.data.as_ref().and_then(|d| d.get("RevisionMap"));
        let found = ["Branches", "Tags"].iter().find_map(|k| {
            map?.get(*k)?.as_array()?.iter().find_map(|r| {
                (r.get("Revision")?.as_str()? == revision)
                    .then(|| r.get("CommitId")?.as_str().map(str::to_string))?
            })
        });
        Ok(found)
    }

    /// Every file of the repo at `revision`.
    pub async fn list_files(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Vec<FileEntry>, HubError> {
        match repo_type {
            RepoType::Dataset => self.list_dataset_files(id, revision).await,
            _ => self.list_model_files(id, revision).await,
        }
    }

    async fn model_files_page(
        &self,
        id: &str,
        revision: &str,
        root: Option<&str>,
        recursive: bool,
    ) -> Result<Vec<FileJson>, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let mut query = vec![
            ("Revision", revision),
            ("Recursive", if recursive { "True" } else { "False" }),
        ];
        if let Some(r) = root {
            query.push(("Root", r));
        }
        let url = build_url(
            &self.ep.base,
            &["api", "v1", "models", ns, name, "repo", "files"],
            &query,
        );
        let v: Legacy<FilesData> = self.get_json(&url).await?;
        Ok(v.data.map(|d| d.files).unwrap_or_default())
    }

    /// Recursive listing; a directory whose listing hits the cap is split into its children,
    /// which are listed a few at a time concurrently.
    async fn list_model_files(&self, id: &str, revision: &str) -> Result<Vec<FileEntry>, HubError> {
        let mut out = Vec::new();
        let mut roots: VecDeque<Option<String>> = VecDeque::from([None]);
        let mut set = tokio::task::JoinSet::new();
        loop {
            while set.len() < PAGE_CONCURRENCY {
                let Some(root) = roots.pop_front() else { break };
                let (me, id, rev) = (self.clone(), id.to_string(), revision.to_string());
                set.spawn(async move { me.model_dir(&id, &rev, root).await });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let (files, subdirs) = joined.map_err(|e| HubError {
                platform: P,
                kind: HubErrorKind::Network,
                status: None,
                method: "GET",
                path: format!("/api/v1/models/{id}/repo/files"),
                message: format!("listing task failed: {e}"),
            })??;
            out.extend(files);
            roots.extend(subdirs.into_iter().map(Some));
        }
        Ok(out)
    }

    /// One directory (`None` = the root): all its files when the recursive listing fits under the
    /// cap, else its direct files and its subdirectories to list next.
    async fn model_dir(
        &self,
        id: &str,
        revision: &str,
        root: Option<String>,
    ) -> Result<(Vec<FileEntry>, Vec<String>), HubError> {
        let page = self
            .model_files_page(id, revision, root.as_deref(), true)
            .await?;
        if page.len() < FILES_CAP {
            let files = page
                .into_iter()
                .filter(|f| f.kind != "tree")
                .map(FileJson::into_entry);
            return Ok((files.collect(), Vec::new()));
        }
        let level = self
            .model_files_page(id, revision, root.as_deref(), false)
            .await?;
        if level.len() >= FILES_CAP {
            return Err(HubError {
                platform: P,
                kind: HubErrorKind::BadResponse,
                status: None,
                method: "GET",
                path: format!("/api/v1/models/{id}/repo/files"),
                message: format!(
                    "directory `{}` has {FILES_CAP} or more direct entries, more than ModelScope lists",
                    root.as_deref().unwrap_or("/")
                ),
            });
        }
        let (dirs, files): (Vec<FileJson>, Vec<FileJson>) =
            level.into_iter().partition(|f| f.kind == "tree");
        Ok((
            files.into_iter().map(FileJson::into_entry).collect(),
            dirs.into_iter().map(|d| d.path).collect(),
        ))
    }

    async fn dataset_page(
        &self,
        id: &str,
        revision: &str,
        page: usize,
    ) -> Result<FilesData, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let (page_s, size_s) = (page.to_string(), TREE_PAGE.to_string());
        let url = build_url(
            &self.ep.base,
            &["api", "v1", "datasets", ns, name, "repo", "tree"],
            &[
                ("Revision", revision),
                ("Recursive", "True"),
                ("PageNumber", &page_s),
                ("PageSize", &size_s),
            ],
        );
        let v: Legacy<FilesData> = self.get_json(&url).await?;
        Ok(v.data.unwrap_or(FilesData {
            files: Vec::new(),
            total_count: Some(0),
        }))
    }

    /// Paged tree listing. When the first page gives `TotalCount`, the rest are fetched a few at a
    /// time concurrently; otherwise pages are read until the first short one.
    async fn list_dataset_files(
        &self,
        id: &str,
        revision: &str,
    ) -> Result<Vec<FileEntry>, HubError> {
        let first = self.dataset_page(id, revision, 1).await?;
        let mut entries: Vec<FileJson> = Vec::new();
        let first_len = first.files.len();
        entries.extend(first.files);
        match first.total_count {
            Some(total) if total > TREE_PAGE => {
                let pages = total.div_ceil(TREE_PAGE);
                let mut next = 2;
                let mut set = tokio::task::JoinSet::new();
                let mut results: Vec<(usize, Vec<FileJson>)> = Vec::new();
                while next <= pages || !set.is_empty() {
                    while next <= pages && set.len() < PAGE_CONCURRENCY {
                        let (me, id, rev, n) =
                            (self.clone(), id.to_string(), revision.to_string(), next);
                        set.spawn(async move {
                            me.dataset_page(&id, &rev, n).await.map(|d| (n, d.files))
                        });
                        next += 1;
                    }
                    if let Some(joined) = set.join_next().await {
                        let page = joined.map_err(|e| HubError {
                            platform: P,
                            kind: HubErrorKind::Network,
                            status: None,
                            method: "GET",
                            path: format!("/api/v1/datasets/{id}/repo/tree"),
                            message: format!("listing task failed: {e}"),
                        })??;
                        results.push(page);
                    }
                }
                results.sort_by_key(|(n, _)| *n);
                entries.extend(results.into_iter().flat_map(|(_, f)| f));
            }
            Some(_) => {}
            None => {
                let mut page = 1;
                let mut last_len = first_len;
                while last_len == TREE_PAGE {
                    page += 1;
                    let d = self.dataset_page(id, revision, page).await?;
                    last_len = d.files.len();
                    entries.extend(d.files);
                }
            }
        }
        Ok(entries
            .into_iter()
            .filter(|f| f.kind != "tree")
            .map(FileJson::into_entry)
            .collect())
    }

    /// `GET /openapi/v1/{models|datasets}?owner=NS`, all pages (the API caps at 3000 repos).
    pub async fn list_repos(
        &self,
        repo_type: RepoType,
        owner: &str,
    ) -> Result<Vec<RepoListing>, HubError> {
        const SIZE: usize = 100;
        let mut out = Vec::new();
        for page in 1..=(3000 / SIZE) {
            let (p, s) = (page.to_string(), SIZE.to_string());
            let url = build_url(
                &self.ep.base,
                &["openapi", "v1", repo_type.plural()],
                &[("owner", owner), ("page_number", &p), ("page_size", &s)],
            );
            let v: Value = self.get_json(&url).await?;
            let items = v
                .get("data")
                .and_then(|d| d.get(repo_type.plural()))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items.iter().filter_map(|r| {
                let date = |k: &str| r.get(k).and_then(super::content::epoch_to_iso);
                Some(RepoListing {
                    repo_type,
                    id: r.get("id")?.as_str()?.to_string(),
                    private: r.get("private").and_then(Value::as_bool).unwrap_or(false),
                    gated: r.get("gated").and_then(Value::as_bool).unwrap_or(false),
                    created: date("created_at"),
                    updated: date("last_modified"),
                })
            }));
            if n < SIZE {
                break;
            }
        }
        Ok(out)
    }
}

/// ModelScope's message: `Message` (legacy) or `message` (OpenAPI) in the body.
fn ms_message(_headers: &HeaderMap, body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            ["Message", "message"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

/// Whether `user` (the validated token's) may create or write `dest`. ModelScope has no API
/// listing a user's organizations: a namespace other than the user's is accepted when named in
/// `orgs` (`HUBFERRY_MS_ORGS`), or, with a warning, when the repo already exists (the worker's
/// first write then checks); otherwise refused, since a typo would only surface as a 403 inside
/// the container.
pub fn write_access(user: &MsUser, dest: &RepoRef, exists: bool, orgs: &[String]) -> WriteAccess {
    let (ns, name) = (dest.namespace(), dest.name());
    let known_org = orgs.iter().any(|o| o.eq_ignore_ascii_case(ns));
    if user.username.eq_ignore_ascii_case(ns) || known_org {
        return WriteAccess::Granted;
    }
    if exists {
        return WriteAccess::Unknown {
            warning: format!(
                "ModelScope cannot say whether `{}` may write to the existing {dest}; the run will tell",
                user.username
            ),
        };
    }
    WriteAccess::Refused {
        message: format!(
            "cannot create {dest}: `{ns}` is not the token's user `{}`, and ModelScope cannot tell whether `{}` may create repositories there",
            user.username, user.username
        ),
        hint: format!(
            "check the namespace spelling or pass --dest {}/{name}; if `{ns}` is a ModelScope organization you belong to, set HUBFERRY_MS_ORGS={ns}",
            user.username
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_entries_from_listing_json() {
        let j = r#"{"Path":"a/b.bin","Name":"b.bin","Type":"blob","Size":7,
            "Sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "BlobId":"30d74d258442c7c65512eafab474568dd706c430","IsLFS":true}"#;
        let f: FileJson = serde_json::from_str(j).unwrap();
        let e = f.into_entry();
        assert_eq!(e.path, "a/b.bin");
        assert_eq!(e.size, 7);
        assert!(e.lfs && e.sha256.is_some() && e.git_oid.is_none());
        let plain: FileJson = serde_json::from_str(
            r#"{"Path":"c.json","Type":"blob","Size":2,"Sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "BlobId":"30d74d258442c7c65512eafab474568dd706c430","IsLFS":false}"#,
        )
        .unwrap();
        assert!(plain.into_entry().git_oid.is_some());
        let f: FileJson =
            serde_json::from_str(r#"{"Path":"x","Type":"blob","Size":1,"Sha256":""}"#).unwrap();
        assert!(f.into_entry().sha256.is_none());
    }

    #[test]
    fn messages() {
        assert_eq!(
            ms_message(&HeaderMap::new(), r#"{"Code":404,"Message":"not found"}"#),
            "not found"
        );
        assert_eq!(
            ms_message(&HeaderMap::new(), r#"{"success":false,"message":"nope"}"#),
            "nope"
        );
    }
}
