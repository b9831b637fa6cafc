//! Refs and history on the Hub: `GET …/refs`, `GET …/commits/{rev}` (paged by `Link`), `POST
//! …/branch/{name}`, `POST …/tag/{rev}` — the routes `list_repo_refs`, `list_repo_commits`,
//! `create_branch` and `create_tag` of huggingface_hub send.

use std::collections::HashSet;

use serde::Deserialize;

use super::{build_url, error_from, hf_message, next_page, repo_not_found_is_404, HfClient, P};
use crate::hub::refs::{CommitInfo, NamedRef, RefList};
use crate::hub::{send_once, HubError};
use crate::repo_ref::RepoType;

#[derive(Deserialize)]
struct RefsJson {
    #[serde(default)]
    branches: Vec<RefJson>,
    #[serde(default)]
    tags: Vec<RefJson>,
}

#[derive(Deserialize)]
struct RefJson {
    name: String,
    #[serde(rename = "targetCommit", default)]
    target_commit: Option<String>,
}

#[derive(Deserialize)]
struct CommitJson {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
}

impl HfClient {
    /// `GET /api/{type}s/{id}/refs`.
    pub async fn refs(&self, t: RepoType, id: &str) -> Result<RefList, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(&self.ep.base, &["api", t.plural(), ns, name, "refs"], &[]);
        let (r, _): (RefsJson, _) = self.get_json(&url).await.map_err(repo_not_found_is_404)?;
        let named = |v: Vec<RefJson>| {
            v.into_iter()
                .map(|r| NamedRef {
                    name: r.name,
                    commit: r.target_commit,
                })
                .collect()
        };
        Ok(RefList {
            branches: named(r.branches),
            tags: named(r.tags),
        }
        .sorted())
    }

    /// The history of `revision`, newest first, read page by page until `until` is seen (or to
    /// the end). The Hub's `message` may or may not repeat the title: both are kept.
    pub async fn commits(
        &self,
        t: RepoType,
        id: &str,
        revision: &str,
        until: Option<&str>,
    ) -> Result<Vec<CommitInfo>, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let mut url = build_url(
            &self.ep.base,
            &["api", t.plural(), ns, name, "commits", revision],
            &[],
        );
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let (page, headers): (Vec<CommitJson>, _) =
                self.get_json(&url).await.map_err(repo_not_found_is_404)?;
            let first_page = out.is_empty();
            for c in page {
                let message = if c.message.starts_with(&c.title) {
                    c.message
                } else {
                    format!("{}\n\n{}", c.title, c.message)
                };
                out.push(CommitInfo { id: c.id, message });
            }
            let found = until.is_some_and(|u| out.iter().any(|c| c.id == u));
            if found || (until.is_none() && first_page) {
                break;
            }
            match next_page(&headers, &url, &mut seen)? {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// `POST /api/{type}s/{id}/branch/{name}` with `startingPoint`.
    pub async fn create_branch(
        &self,
        t: RepoType,
        id: &str,
        branch: &str,
        start: &str,
    ) -> Result<(), HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", t.plural(), ns, name, "branch", branch],
            &[],
        );
        self.post(&url, serde_json::json!({ "startingPoint": start }))
            .await
    }

    /// `POST /api/{type}s/{id}/tag/{commit}` with `tag` and `message`.
    pub async fn create_tag(
        &self,
        t: RepoType,
        id: &str,
        tag: &str,
        commit: &str,
        message: &str,
    ) -> Result<(), HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", t.plural(), ns, name, "tag", commit],
            &[],
        );
        self.post(&url, serde_json::json!({ "tag": tag, "message": message }))
            .await
    }

    /// `DELETE /api/{type}s/{id}/tag/{tag}` (huggingface_hub's `delete_tag`).
    pub async fn delete_tag(&self, t: RepoType, id: &str, tag: &str) -> Result<(), HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", t.plural(), ns, name, "tag", tag],
            &[],
        );
        let req = self.authed(self.ep.http.delete(url.clone()));
        let resp = send_once(P, "DELETE", &url, req).await?;
        if !resp.status().is_success() {
            return Err(error_from(P, "DELETE", &url, resp, hf_message).await);
        }
        Ok(())
    }

    /// One POST, not retried (creating a ref twice is refused, not repeated).
    async fn post(&self, url: &url::Url, body: serde_json::Value) -> Result<(), HubError> {
        let req = self.authed(self.ep.http.post(url.clone()).json(&body));
        let resp = send_once(P, "POST", url, req).await?;
        if !resp.status().is_success() {
            return Err(error_from(P, "POST", url, resp, hf_message).await);
        }
        Ok(())
    }
}
