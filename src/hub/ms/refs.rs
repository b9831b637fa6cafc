//! Revisions on ModelScope: `GET …/revisions` (`list_repo_revisions`), `POST …/repo/tag`
//! (`create_repo_tag`), and the latest commit of a revision, which the file listing carries as
//! `Data.LatestCommitter` (`Id`, `Title`, `Message`). The SDK offers nothing else for refs.

use serde::Deserialize;
use serde_json::Value;

use super::{build_url, error_from, ms_message, Legacy, MsClient, P};
use crate::hub::refs::{CommitInfo, NamedRef, RefList};
use crate::hub::{send_once, HubError, HubErrorKind};
use crate::repo_ref::RepoType;

#[derive(Deserialize)]
struct LatestJson {
    #[serde(rename = "LatestCommitter", default)]
    latest: Option<CommitterJson>,
}

#[derive(Deserialize)]
struct CommitterJson {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "Title", default)]
    title: String,
    #[serde(rename = "Message", default)]
    message: String,
}

impl MsClient {
    /// `GET /api/v1/{type}s/{id}/revisions`: `RevisionMap.Branches` and `.Tags`.
    pub async fn refs(&self, t: RepoType, id: &str) -> Result<RefList, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", "v1", t.plural(), ns, name, "revisions"],
            &[],
        );
        let v: Legacy<Value> = self.get_json(&url).await?;
        let map = v.data.as_ref().and_then(|d| d.get("RevisionMap"));
        let named = |key: &str| -> Vec<NamedRef> {
            map.and_then(|m| m.get(key))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|r| {
                            Some(NamedRef {
                                name: r.get("Revision")?.as_str()?.to_string(),
                                commit: r
                                    .get("CommitId")
                                    .and_then(Value::as_str)
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_string),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(RefList {
            branches: named("Branches"),
            tags: named("Tags"),
        }
        .sorted())
    }

    /// The commit `revision` points at, from the first page of its listing; `None` for an
    /// empty repo (no branch yet: 404) or a listing that names no commit.
    pub async fn latest_commit(
        &self,
        t: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<Option<CommitInfo>, HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = match t {
            RepoType::Dataset => build_url(
                &self.ep.base,
                &["api", "v1", "datasets", ns, name, "repo", "tree"],
                &[
                    ("Revision", revision),
                    ("Recursive", "False"),
                    ("PageNumber", "1"),
                    ("PageSize", "1"),
                ],
            ),
            _ => build_url(
                &self.ep.base,
                &["api", "v1", "models", ns, name, "repo", "files"],
                &[("Revision", revision), ("Recursive", "False")],
            ),
        };
        let v: Legacy<LatestJson> = match self.get_json(&url).await {
            Err(e) if e.kind == HubErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        Ok(v.data
            .and_then(|d| d.latest)
            .filter(|c| !c.id.is_empty())
            .map(|c| CommitInfo {
                message: if c.message.starts_with(&c.title) {
                    c.message
                } else {
                    format!("{}\n\n{}", c.title, c.message)
                },
                id: c.id,
            }))
    }

    /// `POST /api/v1/{type}s/{id}/repo/tag` with `{"TagName", "Ref"}` (a branch, tag or commit).
    pub async fn create_tag(
        &self,
        t: RepoType,
        id: &str,
        tag: &str,
        at: &str,
    ) -> Result<(), HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let url = build_url(
            &self.ep.base,
            &["api", "v1", t.plural(), ns, name, "repo", "tag"],
            &[],
        );
        let body = serde_json::json!({ "TagName": tag, "Ref": at });
        let req = self.authed(self.ep.http.post(url.clone()).json(&body));
        let resp = send_once(P, "POST", &url, req).await?;
        if !resp.status().is_success() {
            return Err(error_from(P, "POST", &url, resp, ms_message).await);
        }
        // ModelScope may answer a refusal with HTTP 200 and `Code` != 200 in the body.
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match v.get("Code").and_then(Value::as_i64) {
            Some(code) if code != 200 => Err(HubError {
                platform: P,
                kind: HubErrorKind::Other,
                status: Some(200),
                method: "POST",
                path: crate::hub::path_of(&url),
                message: ms_message(&Default::default(), &text),
            }),
            _ => Ok(()),
        }
    }
}
