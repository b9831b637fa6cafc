//! What `verify`, `inventory`, `retire` and `download` need from the hubs beyond preflight's reads:
//! a repo's type when the user did not say it, file content (streamed), repo listings with dates
//! and sizes, and repo deletion.
//!
//! Endpoints (the ones the pinned SDKs use):
//! - HF: `GET /{datasets/|spaces/}ns/name/resolve/{rev}/{path}`, `DELETE /api/repos/delete`
//!   with `{"name","organization","type"}`.
//! - ModelScope: `GET /api/v1/{models|datasets}/ns/name/repo?Revision=&FilePath=`,
//!   `DELETE /api/v1/{models|datasets}/ns/name`.
//!
//! Listings are the hub clients' (`HfClient::list_repos`, `MsClient::list_repos`). These are
//! methods of [`Hubs`], the one interface to both hubs, like those in `hubs.rs`.

use serde_json::Value;
use url::Url;

use super::{build_url, error_from, send_with_retry, Endpoint, HubError, HubErrorKind, Hubs};
use crate::repo_ref::{Platform, RepoType};

pub use super::RepoListing;

impl Hubs {
    fn endpoint(&self, platform: Platform) -> &Endpoint {
        match platform {
            Platform::Hf => self.hf.endpoint(),
            Platform::Ms => self.ms.endpoint(),
        }
    }

    /// `req` with `platform`'s token, the way that hub's client sends it.
    fn authed(&self, platform: Platform, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match platform {
            Platform::Hf => self.hf.authed(req),
            Platform::Ms => self.ms.authed(req),
        }
    }

    /// The URL a file's content is served at.
    pub fn file_url(
        &self,
        platform: Platform,
        repo_type: RepoType,
        id: &str,
        revision: &str,
        path: &str,
    ) -> Url {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let base = &self.endpoint(platform).base;
        match platform {
            Platform::Hf => {
                let mut segs: Vec<&str> = match repo_type {
                    RepoType::Model => vec![],
                    RepoType::Dataset => vec!["datasets"],
                    RepoType::Space => vec!["spaces"],
                };
                segs.extend([ns, name, "resolve", revision]);
                segs.extend(path.split('/'));
                build_url(base, &segs, &[])
            }
            Platform::Ms => build_url(
                base,
                &["api", "v1", repo_type.plural(), ns, name, "repo"],
                &[("Revision", revision), ("FilePath", path)],
            ),
        }
    }

    /// Starts a download of `path` at `revision`, from byte `offset` on (a `Range` request when
    /// `offset > 0`; the caller checks for `206`). Redirects (HF's LFS CDN) are followed.
    pub async fn open_file(
        &self,
        platform: Platform,
        repo_type: RepoType,
        id: &str,
        revision: &str,
        path: &str,
        offset: u64,
    ) -> Result<reqwest::Response, HubError> {
        let url = self.file_url(platform, repo_type, id, revision, path);
        let http = &self.endpoint(platform).http;
        let resp = send_with_retry(platform, "GET", &url, || {
            let req = self.authed(platform, http.get(url.clone()));
            if offset > 0 {
                req.header("Range", format!("bytes={offset}-"))
            } else {
                req
            }
        })
        .await?;
        if !resp.status().is_success() {
            return Err(error_from(platform, "GET", &url, resp, hub_message).await);
        }
        Ok(resp)
    }

    /// The whole content of a (small) file.
    pub async fn fetch_file(
        &self,
        platform: Platform,
        repo_type: RepoType,
        id: &str,
        revision: &str,
        path: &str,
    ) -> Result<Vec<u8>, HubError> {
        let url = self.file_url(platform, repo_type, id, revision, path);
        let resp = self
            .open_file(platform, repo_type, id, revision, path, 0)
            .await?;
        let bytes = resp.bytes().await.map_err(|e| HubError {
            platform,
            kind: HubErrorKind::Network,
            status: None,
            method: "GET",
            path: super::path_of(&url),
            message: e.without_url().to_string(),
        })?;
        Ok(bytes.to_vec())
    }

    /// Every repo of `owner` of one type, with visibility, gating and dates (the hub client's
    /// listing).
    pub async fn list_repos(
        &self,
        platform: Platform,
        repo_type: RepoType,
        owner: &str,
    ) -> Result<Vec<RepoListing>, HubError> {
        match platform {
            Platform::Hf => self.hf.list_repos(repo_type, owner).await,
            Platform::Ms => self.ms.list_repos(repo_type, owner).await,
        }
    }

    /// Deletes a whole repository (needs a token with write access to it).
    pub async fn delete_repo(
        &self,
        platform: Platform,
        repo_type: RepoType,
        id: &str,
    ) -> Result<(), HubError> {
        let (ns, name) = id.split_once('/').unwrap_or((id, ""));
        let Endpoint { http, base, .. } = self.endpoint(platform);
        let (url, body) = match platform {
            Platform::Hf => {
                let mut body = serde_json::json!({"name": name, "organization": ns});
                if repo_type != RepoType::Model {
                    body["type"] = repo_type.as_str().into();
                }
                (
                    build_url(base, &["api", "repos", "delete"], &[]),
                    Some(body),
                )
            }
            Platform::Ms => (
                build_url(base, &["api", "v1", repo_type.plural(), ns, name], &[]),
                None,
            ),
        };
        let resp = send_with_retry(platform, "DELETE", &url, || {
            let req = self.authed(platform, http.delete(url.clone()));
            match &body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await?;
        if !resp.status().is_success() {
            return Err(error_from(platform, "DELETE", &url, resp, hub_message).await);
        }
        Ok(())
    }
}

/// The hub's message from either hub's error shapes: `X-Error-Message` (HF), else the body's
/// `error` (HF), `Message` (ModelScope legacy) or `message` (ModelScope OpenAPI).
fn hub_message(headers: &reqwest::header::HeaderMap, body: &str) -> String {
    if let Some(m) = headers.get("x-error-message").and_then(|v| v.to_str().ok()) {
        return m.to_string();
    }
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            ["error", "Message", "message"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

/// Epoch seconds (number or numeric string) as `YYYY-MM-DDTHH:MM:SSZ`; ISO strings pass through.
pub(super) fn epoch_to_iso(v: &Value) -> Option<String> {
    let secs = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return Some(s.clone()),
        },
        _ => return None,
    };
    Some(iso_from_epoch(secs))
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn iso_from_epoch(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_dates() {
        assert_eq!(iso_from_epoch(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_from_epoch(1_763_900_000), "2025-11-23T12:13:20Z");
        assert_eq!(iso_from_epoch(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            epoch_to_iso(&Value::String("2024-01-01T00:00:00.000Z".into())).unwrap(),
            "2024-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn file_urls() {
        let env = |k: &str| match k {
            "HF_ENDPOINT" | "MODELSCOPE_ENDPOINT" => Some("http://h/".to_string()),
            _ => None,
        };
        let hubs =
            Hubs::new(&crate::credentials::Credentials::from_sources(env, |_| None).unwrap());
        assert_eq!(
            hubs.file_url(
                Platform::Hf,
                RepoType::Dataset,
                "a/b",
                "main",
                "dir/x y.txt"
            )
            .as_str(),
            "http://h/datasets/a/b/resolve/main/dir/x%20y.txt"
        );
        assert_eq!(
            hubs.file_url(Platform::Ms, RepoType::Model, "a/b", "master", "dir/x.txt")
                .as_str(),
            "http://h/api/v1/models/a/b/repo?Revision=master&FilePath=dir%2Fx.txt"
        );
    }
}
