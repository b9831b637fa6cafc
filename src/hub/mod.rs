//! HTTP clients for the two hubs' read-only APIs (identity, repo metadata, file listings, repo
//! listings), used by preflight, verification and inventory. Writing is the worker's job.
//!
//! Errors carry the platform, the request's method and URL path (never a token) and the hub's own
//! message. Idempotent GETs are retried on 429/5xx and connection errors (waits: [`retry`]).

pub mod content;
pub mod hf;
mod hubs;
pub mod ms;
pub mod refs;
pub mod retry;

use std::fmt;
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use url::Url;

use crate::repo_ref::Platform;

pub use hf::HfClient;
pub use hubs::{ms_git_basic, Hubs, Identities, RepoFacts, TokenOwner, WriteAccess};
pub use ms::MsClient;

/// The rate one connection to `platform` is assumed to carry (bytes per second): the hubs cap
/// single streams far below a container's link (docs/job-file.md, "Streams").
pub fn connection_bps(platform: Platform) -> f64 {
    match platform {
        Platform::Hf => hf::CONNECTION_BPS,
        Platform::Ms => ms::CONNECTION_BPS,
    }
}

/// One hub's endpoint as its client holds it: the shared HTTP client, the base URL, the token.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) token: Option<crate::credentials::Secret>,
}

/// One repo of an owner's listing (either hub), with what the inventory shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoListing {
    pub id: String,
    pub repo_type: crate::repo_ref::RepoType,
    pub private: bool,
    /// HF: `auto`/`manual` gating; ModelScope: `gated`.
    pub gated: bool,
    /// ISO 8601 (UTC) when the hub says (ModelScope's epoch seconds are converted).
    pub created: Option<String>,
    pub updated: Option<String>,
}

/// What went wrong with a hub request, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubErrorKind {
    /// 401, or a token the hub does not accept.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404 (a private repo one cannot read looks the same).
    NotFound,
    /// 429 after retries.
    RateLimited,
    /// 5xx after retries.
    Server,
    /// No answer: connection refused, DNS, timeout.
    Network,
    /// An answer that is not what the API documents.
    BadResponse,
    /// Any other status.
    Other,
}

/// A failed hub request.
#[derive(Debug, Clone)]
pub struct HubError {
    pub platform: Platform,
    pub kind: HubErrorKind,
    pub status: Option<u16>,
    pub method: &'static str,
    /// Path and query of the request URL (no credentials are ever put in URLs).
    pub path: String,
    /// The hub's message, or the transport error.
    pub message: String,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.platform.display_name(),
            self.method,
            self.path
        )?;
        match self.status {
            Some(s) => write!(f, " answered {s}")?,
            None => f.write_str(" failed")?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for HubError {}

impl HubError {
    fn new(
        platform: Platform,
        kind: HubErrorKind,
        method: &'static str,
        url: &Url,
        message: impl Into<String>,
    ) -> Self {
        HubError {
            platform,
            kind,
            status: None,
            method,
            path: path_of(url),
            message: message.into(),
        }
    }
}

/// The path and query of `url`, for messages.
pub(crate) fn path_of(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// One HTTP client for all hub calls: rustls, bounded timeouts, a hubferry user agent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("hubferry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(16)
        .build()
        .expect("a reqwest client with static settings builds")
}

/// `base` with `segments` appended as path segments (each percent-encoded, `/` included) and `query`.
pub(crate) fn build_url(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    {
        let mut path = url.path_segments_mut().expect("http(s) URLs have a path");
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// Sends a request built by `make` (called again for each attempt), retrying 429, 5xx and transport
/// errors with the waits of [`retry`]. Returns the final response whatever its status; transport
/// failure is a `Network` error, and a hub asking for a wait beyond [`retry::MAX_WAIT`] a
/// `RateLimited` error naming that wait.
pub(crate) async fn send_with_retry(
    platform: Platform,
    method: &'static str,
    url: &Url,
    make: impl Fn() -> RequestBuilder,
) -> Result<Response, HubError> {
    let mut attempt = 0;
    let mut attempts = retry::ATTEMPTS;
    loop {
        attempt += 1;
        match make().send().await {
            Ok(resp) => {
                let status = resp.status();
                let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                if !retryable || attempt >= attempts {
                    return Ok(resp);
                }
                let server_wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
                let mut floor = Duration::ZERO;
                if status == StatusCode::TOO_MANY_REQUESTS && platform == Platform::Ms {
                    // Reading the body spends this response; it is retried, not returned.
                    if retry::is_e1021(&resp.text().await.unwrap_or_default()) {
                        attempts = attempts.max(retry::E1021_ATTEMPTS);
                        floor = retry::E1021_FLOOR;
                    }
                }
                let wait = match server_wait {
                    Some(w) if w > retry::MAX_WAIT => {
                        return Err(HubError::new(
                            platform,
                            HubErrorKind::RateLimited,
                            method,
                            url,
                            format!(
                                "HTTP {} and the hub asks to wait {:.0} s before retrying, longer than hubferry waits here ({} s)",
                                status.as_u16(),
                                w.as_secs_f64(),
                                retry::MAX_WAIT.as_secs()
                            ),
                        ));
                    }
                    Some(w) => retry::after_server_wait(w.max(floor)),
                    None => retry::backoff(attempt, floor),
                };
                tokio::time::sleep(wait).await;
            }
            Err(err) => {
                if attempt >= attempts || !(err.is_connect() || err.is_timeout()) {
                    return Err(transport_error(platform, method, url, err));
                }
                tokio::time::sleep(retry::backoff(attempt, Duration::ZERO)).await;
            }
        }
    }
}

/// Sends a request once (a write that must not be repeated, such as creating a ref); transport
/// failure is a `Network` error worded as [`send_with_retry`]'s.
pub(crate) async fn send_once(
    platform: Platform,
    method: &'static str,
    url: &Url,
    req: RequestBuilder,
) -> Result<Response, HubError> {
    req.send()
        .await
        .map_err(|err| transport_error(platform, method, url, err))
}

/// A request that got no response: timed out, could not connect (with the certificate problem,
/// if that was it), or failed in transit.
fn transport_error(
    platform: Platform,
    method: &'static str,
    url: &Url,
    err: reqwest::Error,
) -> HubError {
    let what = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        format!(
            "could not connect to {}{}",
            url.origin().ascii_serialization(),
            crate::tls::certificate_note(&err)
        )
    } else {
        err.without_url().to_string()
    };
    HubError::new(platform, HubErrorKind::Network, method, url, what)
}

/// Turns a non-success response into a [`HubError`] with the hub's message (`message` picks it from
/// headers and body, which differ per hub).
pub(crate) async fn error_from(
    platform: Platform,
    method: &'static str,
    url: &Url,
    resp: Response,
    message: impl Fn(&reqwest::header::HeaderMap, &str) -> String,
) -> HubError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    let kind = match status.as_u16() {
        401 => HubErrorKind::Unauthorized,
        403 => HubErrorKind::Forbidden,
        404 => HubErrorKind::NotFound,
        429 => HubErrorKind::RateLimited,
        500..=599 => HubErrorKind::Server,
        _ => HubErrorKind::Other,
    };
    let mut msg = message(&headers, &body);
    if msg.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| msg.is_char_boundary(i))
            .unwrap_or(0);
        msg.truncate(cut);
        msg.push('…');
    }
    HubError {
        platform,
        kind,
        status: Some(status.as_u16()),
        method,
        path: path_of(url),
        message: msg,
    }
}

/// Reads a JSON body, mapping a decode failure to `BadResponse`.
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(
    platform: Platform,
    method: &'static str,
    url: &Url,
    resp: Response,
) -> Result<T, HubError> {
    let bytes = resp.bytes().await.map_err(|e| {
        HubError::new(
            platform,
            HubErrorKind::Network,
            method,
            url,
            e.without_url().to_string(),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        HubError::new(
            platform,
            HubErrorKind::BadResponse,
            method,
            url,
            format!("unexpected answer: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_each_segment() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let u = build_url(
            &base,
            &["api", "models", "acme", "bert", "revision", "refs/pr/1"],
            &[("a", "b c")],
        );
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/api/models/acme/bert/revision/refs%2Fpr%2F1?a=b+c"
        );
        let base = Url::parse("http://h/prefix").unwrap();
        assert_eq!(build_url(&base, &["x"], &[]).as_str(), "http://h/prefix/x");
        assert_eq!(
            path_of(&u),
            "/api/models/acme/bert/revision/refs%2Fpr%2F1?a=b+c"
        );
    }

    #[test]
    fn error_display_names_platform_path_and_status() {
        let e = HubError {
            platform: Platform::Hf,
            kind: HubErrorKind::NotFound,
            status: Some(404),
            method: "GET",
            path: "/api/models/acme/x".into(),
            message: "Repository not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "Hugging Face GET /api/models/acme/x answered 404: Repository not found"
        );
    }
}
