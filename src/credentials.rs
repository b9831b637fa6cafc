//! Credentials and hub endpoints, read the way the hubs' own clients read them.
//!
//! Sources, first hit wins (empty values count as unset):
//! - HF token: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file `$HF_TOKEN_PATH`, else
//!   `$HF_HOME/token`, else `$XDG_CACHE_HOME/huggingface/token`, else `~/.cache/huggingface/token`.
//! - ModelScope token: `MODELSCOPE_API_TOKEN`, then `MODELSCOPE_TOKEN` (the seed script's name), then
//!   the login `modelscope login` saved: the `m_session_id` cookie in
//!   `$MODELSCOPE_HOME/credentials/cookies` (default `~/.modelscope/credentials/cookies`), unless it
//!   has expired — as the SDK's `HubConfig` reads it. As in the SDK, a `MODELSCOPE_API_TOKEN` that is
//!   set but empty means "no token" and turns the saved login off. The jar is a pickle; it is read
//!   as data by [`crate::cookie_jar`], never unpickled.
//! - Endpoints: `HF_ENDPOINT` (default `https://huggingface.co`); `MODELSCOPE_ENDPOINT`, else
//!   `MODELSCOPE_DOMAIN` as `https://DOMAIN`, else `https://www.modelscope.cn`.
//! - `HUBFERRY_MS_ORGS`: comma-separated ModelScope organizations the user may create repos in
//!   (ModelScope has no API to list them; see `preflight`).
//!
//! A `.env` file (found by dotenvy from the working directory upwards) fills in variables that the
//! process environment does not set; it is read into a map, never written into the process
//! environment. Children that need the tokens get them from [`Credentials::child_env`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::cookie_jar::{read_saved_login, SavedLogin};
use crate::repo_ref::Platform;

/// A token. `Debug` and `Display` print `***`; only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The token itself: only for an `Authorization` header or a child's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a token was found, for `doctor` and error messages (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(&'static str),
    DotEnv(&'static str),
    File(PathBuf),
    /// The cookie jar `modelscope login` wrote.
    SavedLogin(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(var) => write!(f, "${var}"),
            TokenSource::DotEnv(var) => write!(f, "{var} in .env"),
            TokenSource::File(path) => write!(f, "{}", path.display()),
            TokenSource::SavedLogin(path) => write!(f, "`modelscope login` ({})", path.display()),
        }
    }
}

/// Tokens and endpoints for both hubs.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub hf_token: Option<Secret>,
    pub hf_token_source: Option<TokenSource>,
    pub ms_token: Option<Secret>,
    pub ms_token_source: Option<TokenSource>,
    /// No trailing slash.
    pub hf_endpoint: Url,
    /// No trailing slash.
    pub ms_endpoint: Url,
    /// Organizations named in `HUBFERRY_MS_ORGS`.
    pub ms_orgs: Vec<String>,
    /// Why a saved `modelscope login` was not used (expired, unreadable), for `doctor`.
    pub ms_saved_login_note: Option<String>,
}

/// Settings that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{var} is not a valid http(s) URL: `{value}`")]
    Endpoint { var: &'static str, value: String },
    /// A `.env` line that does not parse would otherwise be dropped without a word, and with it
    /// a token or endpoint the user believes is set.
    #[error("{path}: {reason}")]
    DotEnv { path: String, reason: String },
}

impl CredentialsError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            CredentialsError::Endpoint { var, .. } => {
                format!("set {var} to a URL such as https://host[:port], or unset it")
            }
            CredentialsError::DotEnv { .. } => {
                "write each line as NAME=value, quoting a value with spaces (NAME=\"a, b\")".into()
            }
        }
    }
}

impl Credentials {
    /// Reads the process environment, then `.env` for what it leaves unset, then token files.
    pub fn from_env() -> Result<Self, CredentialsError> {
        let mut dotenv = HashMap::new();
        // No `.env` (in this directory or a parent, as dotenvy looks) is the usual case; one that
        // does not parse is an error, not a silently dropped token.
        if let Some(path) = find_dotenv() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in dotenvy::from_read_iter(text.as_bytes()) {
                match line {
                    Ok((k, v)) => {
                        dotenv.insert(k, v);
                    }
                    Err(e) => return Err(dotenv_error(&path, &text, e)),
                }
            }
        }
        Self::from_sources(|k| std::env::var(k).ok(), |k| dotenv.get(k).cloned())
    }

    /// Like [`Credentials::from_env`] with explicit lookups (process env first, then `.env`).
    pub fn from_sources(
        env: impl Fn(&str) -> Option<String>,
        dotenv: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CredentialsError> {
        // Which of the two a value came from matters only for token provenance.
        let get = |k: &'static str| -> Option<(String, bool)> {
            let set = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            set(env(k))
                .map(|v| (v, false))
                .or_else(|| set(dotenv(k)).map(|v| (v, true)))
        };
        let token_from = |vars: &[&'static str]| {
            vars.iter().find_map(|&var| {
                get(var).map(|(v, from_dotenv)| {
                    let source = if from_dotenv {
                        TokenSource::DotEnv(var)
                    } else {
                        TokenSource::Env(var)
                    };
                    (Secret::new(v), source)
                })
            })
        };
        let (hf_token, hf_token_source) = match token_from(&["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
        {
            Some((t, s)) => (Some(t), Some(s)),
            None => match hf_token_file(&|k| get(k).map(|(v, _)| v)) {
                Some(path) => match read_token_file(&path) {
                    Some(t) => (Some(t), Some(TokenSource::File(path))),
                    None => (None, None),
                },
                None => (None, None),
            },
        };
        let mut ms_saved_login_note = None;
        let (ms_token, ms_token_source) =
            match token_from(&["MODELSCOPE_API_TOKEN", "MODELSCOPE_TOKEN"]) {
                Some((t, s)) => (Some(t), Some(s)),
                None if env("MODELSCOPE_API_TOKEN").is_some() => (None, None),
                None => {
                    let path = ms_saved_login_file(&|k| get(k).map(|(v, _)| v));
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    match path.as_deref().map(|p| read_saved_login(p, now)) {
                        Some(SavedLogin::Token(t)) => {
                            (Some(Secret::new(t)), path.map(TokenSource::SavedLogin))
                        }
                        Some(SavedLogin::Expired) => {
                            ms_saved_login_note = path.map(|p| {
                                format!(
                                    "the `modelscope login` saved in {} has expired",
                                    p.display()
                                )
                            });
                            (None, None)
                        }
                        Some(SavedLogin::Unreadable(why)) => {
                            ms_saved_login_note = path.map(|p| {
                                format!(
                                    "{} is not a cookie jar hubferry can read ({why})",
                                    p.display()
                                )
                            });
                            (None, None)
                        }
                        Some(SavedLogin::Absent) | None => (None, None),
                    }
                }
            };
        let hf_endpoint = match get("HF_ENDPOINT") {
            Some((v, _)) => parse_endpoint("HF_ENDPOINT", &v)?,
            None => parse_endpoint("HF_ENDPOINT", HF_DEFAULT_ENDPOINT)?,
        };
        let ms_endpoint = match (get("MODELSCOPE_ENDPOINT"), get("MODELSCOPE_DOMAIN")) {
            (Some((v, _)), _) => parse_endpoint("MODELSCOPE_ENDPOINT", &v)?,
            (None, Some((domain, _))) => {
                let v = if domain.contains("://") {
                    domain
                } else {
                    format!("https://{domain}")
                };
                parse_endpoint("MODELSCOPE_DOMAIN", &v)?
            }
            (None, None) => parse_endpoint("MODELSCOPE_ENDPOINT", MS_DEFAULT_ENDPOINT)?,
        };
        let ms_orgs = get("HUBFERRY_MS_ORGS")
            .map(|(v, _)| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Credentials {
            hf_token,
            hf_token_source,
            ms_token,
            ms_token_source,
            hf_endpoint,
            ms_endpoint,
            ms_orgs,
            ms_saved_login_note,
        })
    }

    /// The endpoints configured away from the public hubs (a mirror, the sandbox): web URLs under
    /// them are read as that hub's URLs ([`crate::repo_ref::parse_source_with`]).
    pub fn configured_endpoints(&self) -> Vec<(Platform, Url)> {
        [
            (Platform::Hf, &self.hf_endpoint, HF_DEFAULT_ENDPOINT),
            (Platform::Ms, &self.ms_endpoint, MS_DEFAULT_ENDPOINT),
        ]
        .into_iter()
        .filter(|(_, url, default)| url.as_str().trim_end_matches('/') != *default)
        .map(|(p, url, _)| (p, url.clone()))
        .collect()
    }

    /// `platform`'s endpoint (as [`Credentials::hf_base`]) and token.
    pub fn hub(&self, platform: Platform) -> (String, Option<&Secret>) {
        match platform {
            Platform::Hf => (self.hf_base(), self.hf_token.as_ref()),
            Platform::Ms => (self.ms_base(), self.ms_token.as_ref()),
        }
    }

    /// Where `platform`'s token came from, if one is set.
    pub fn token_source(&self, platform: Platform) -> Option<&TokenSource> {
        match platform {
            Platform::Hf => self.hf_token_source.as_ref(),
            Platform::Ms => self.ms_token_source.as_ref(),
        }
    }

    /// Why a saved login of `platform`'s own CLI gave no token (only ModelScope's can expire).
    pub fn saved_login_note(&self, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Hf => None,
            Platform::Ms => self.ms_saved_login_note.as_deref(),
        }
    }

    /// The endpoint as a string without a trailing slash (`http://127.0.0.1:8080`).
    pub fn hf_base(&self) -> String {
        self.hf_endpoint.as_str().trim_end_matches('/').to_string()
    }

    /// The endpoint as a string without a trailing slash.
    pub fn ms_base(&self) -> String {
        self.ms_endpoint.as_str().trim_end_matches('/').to_string()
    }

    /// The variables a worker process needs (tokens and endpoints, in the names the SDKs read).
    /// Pass them as the child's environment, never as arguments.
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("HF_ENDPOINT".to_string(), self.hf_base()),
            ("MODELSCOPE_ENDPOINT".to_string(), self.ms_base()),
        ];
        if let Some(t) = &self.hf_token {
            env.push(("HF_TOKEN".into(), t.expose().into()));
        }
        if let Some(t) = &self.ms_token {
            env.push(("MODELSCOPE_API_TOKEN".into(), t.expose().into()));
        }
        env
    }

    /// Every token value held, so callers can scrub them from text they show.
    pub fn secrets(&self) -> Vec<&str> {
        [&self.hf_token, &self.ms_token]
            .into_iter()
            .flatten()
            .map(Secret::expose)
            .collect()
    }
}

/// The HF token file path, following huggingface_hub's constants.
fn hf_token_file(get: &dyn Fn(&'static str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = get("HF_TOKEN_PATH") {
        return Some(PathBuf::from(p));
    }
    if let Some(home) = get("HF_HOME") {
        return Some(Path::new(&home).join("token"));
    }
    let cache = match get("XDG_CACHE_HOME") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(get("HOME")?).join(".cache"),
    };
    Some(cache.join("huggingface").join("token"))
}

/// Where `modelscope login` saves the session cookie, following `modelscope_hub.config.HubConfig`
/// (`config_dir` is `$MODELSCOPE_HOME`, else `~/.modelscope`; not the cache directory).
fn ms_saved_login_file(get: &dyn Fn(&'static str) -> Option<String>) -> Option<PathBuf> {
    let config_dir = match get("MODELSCOPE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(get("HOME")?).join(".modelscope"),
    };
    Some(config_dir.join("credentials").join("cookies"))
}

fn read_token_file(path: &Path) -> Option<Secret> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| Secret::new(token))
}

const HF_DEFAULT_ENDPOINT: &str = "https://huggingface.co";
const MS_DEFAULT_ENDPOINT: &str = "https://www.modelscope.cn";

/// The `.env` of the working directory or its nearest ancestor that has one.
fn find_dotenv() -> Option<std::path::PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join(".env"))
        .find(|candidate| candidate.is_file())
}

/// The error for a `.env` that does not parse: its path and the line's variable, never the
/// value (which may be a token; dotenvy's error quotes it).
fn dotenv_error(path: &std::path::Path, text: &str, e: dotenvy::Error) -> CredentialsError {
    let reason = match e {
        dotenvy::Error::LineParse(fragment, _) => {
            let bad = text
                .lines()
                .enumerate()
                .find(|(_, line)| line.contains(fragment.trim_end()));
            match bad {
                Some((n, line)) => match line.split_once('=') {
                    Some((name, _)) => format!(
                        "line {} ({}) does not parse",
                        n + 1,
                        name.trim().trim_start_matches("export ").trim()
                    ),
                    None => format!("line {} is not NAME=value", n + 1),
                },
                None => "a line does not parse".to_owned(),
            }
        }
        other => format!("cannot be read: {other}"),
    };
    CredentialsError::DotEnv {
        path: path.display().to_string(),
        reason,
    }
}

fn parse_endpoint(var: &'static str, value: &str) -> Result<Url, CredentialsError> {
    let err = || CredentialsError::Endpoint {
        var,
        value: value.to_string(),
    };
    let url = Url::parse(value.trim_end_matches('/')).map_err(|_| err())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(env: &[(&str, &str)], dotenv: &[(&str, &str)]) -> Credentials {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dotenv: HashMap<String, String> = dotenv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Credentials::from_sources(|k| env.get(k).cloned(), |k| dotenv.get(k).cloned()).unwrap()
    }

    #[test]
    fn defaults_without_anything() {
        let home = tempfile::tempdir().unwrap();
        let c = creds(&[("HOME", home.path().to_str().unwrap())], &[]);
        assert!(c.hf_token.is_none() && c.ms_token.is_none());
        assert_eq!(c.hf_base(), "https://huggingface.co");
        assert_eq!(c.ms_base(), "https://www.modelscope.cn");
    }

    #[test]
    fn env_tokens_in_order_and_empty_means_unset() {
        let c = creds(
            &[
                ("HF_TOKEN", ""),
                ("HUGGING_FACE_HUB_TOKEN", "hf_b"),
                ("MODELSCOPE_TOKEN", "ms_b"),
            ],
            &[],
        );
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "hf_b");
        assert_eq!(
            c.hf_token_source,
            Some(TokenSource::Env("HUGGING_FACE_HUB_TOKEN"))
        );
        assert_eq!(c.ms_token.as_ref().unwrap().expose(), "ms_b");
        let c = creds(
            &[
                ("HF_TOKEN", "hf_a"),
                ("MODELSCOPE_API_TOKEN", "ms_a"),
                ("MODELSCOPE_TOKEN", "ms_b"),
            ],
            &[],
        );
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "hf_a");
        assert_eq!(c.ms_token.as_ref().unwrap().expose(), "ms_a");
    }

    #[test]
    fn dotenv_never_overrides_the_environment() {
        let c = creds(
            &[("HF_TOKEN", "from-env")],
            &[
                ("HF_TOKEN", "from-dotenv"),
                ("MODELSCOPE_API_TOKEN", "ms-dotenv"),
                ("HF_ENDPOINT", "http://127.0.0.1:9"),
            ],
        );
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "from-env");
        assert_eq!(c.ms_token.as_ref().unwrap().expose(), "ms-dotenv");
        assert_eq!(
            c.ms_token_source,
            Some(TokenSource::DotEnv("MODELSCOPE_API_TOKEN"))
        );
        assert_eq!(c.hf_base(), "http://127.0.0.1:9");
    }

    #[test]
    fn hf_token_file_locations() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".cache/huggingface")).unwrap();
        std::fs::write(h.join(".cache/huggingface/token"), "hf_default\n").unwrap();
        let c = creds(&[("HOME", h.to_str().unwrap())], &[]);
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "hf_default");
        assert_eq!(
            c.hf_token_source,
            Some(TokenSource::File(h.join(".cache/huggingface/token")))
        );

        std::fs::create_dir_all(h.join("hfhome")).unwrap();
        std::fs::write(h.join("hfhome/token"), "hf_home").unwrap();
        let c = creds(
            &[
                ("HOME", h.to_str().unwrap()),
                ("HF_HOME", h.join("hfhome").to_str().unwrap()),
            ],
            &[],
        );
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "hf_home");

        std::fs::write(h.join("explicit"), "  hf_explicit  ").unwrap();
        let c = creds(
            &[
                ("HOME", h.to_str().unwrap()),
                ("HF_HOME", h.join("hfhome").to_str().unwrap()),
                ("HF_TOKEN_PATH", h.join("explicit").to_str().unwrap()),
            ],
            &[],
        );
        assert_eq!(c.hf_token.as_ref().unwrap().expose(), "hf_explicit");

        let c = creds(
            &[("HOME", h.to_str().unwrap()), ("HF_TOKEN", "hf_env")],
            &[],
        );
        assert_eq!(
            c.hf_token.as_ref().unwrap().expose(),
            "hf_env",
            "the variable beats the file"
        );

        let c = creds(&[("HOME", h.join("nowhere").to_str().unwrap())], &[]);
        assert!(c.hf_token.is_none());
    }

    #[test]
    fn the_saved_modelscope_login_comes_after_the_variables() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().to_str().unwrap();
        let jar = home.path().join(".modelscope/credentials/cookies");
        std::fs::create_dir_all(jar.parent().unwrap()).unwrap();
        std::fs::write(&jar, crate::cookie_jar::sdk_like_jar("ms_saved", b"N")).unwrap();
        let c = creds(&[("HOME", h)], &[]);
        assert_eq!(c.ms_token.as_ref().unwrap().expose(), "ms_saved");
        assert_eq!(
            c.ms_token_source,
            Some(TokenSource::SavedLogin(jar.clone()))
        );
        let c = creds(&[("HOME", h), ("MODELSCOPE_TOKEN", "ms_env")], &[]);
        assert_eq!(c.ms_token.as_ref().unwrap().expose(), "ms_env");
        // Set but empty: no token, as in the SDK.
        let c = creds(&[("HOME", h), ("MODELSCOPE_API_TOKEN", "")], &[]);
        assert!(c.ms_token.is_none());
        // MODELSCOPE_HOME moves it; an expired cookie is named, not used.
        let other = home.path().join("elsewhere/credentials/cookies");
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, crate::cookie_jar::sdk_like_jar("ms_old", b"K\x01")).unwrap();
        let elsewhere = home.path().join("elsewhere");
        let c = creds(
            &[
                ("HOME", h),
                ("MODELSCOPE_HOME", elsewhere.to_str().unwrap()),
            ],
            &[],
        );
        assert!(c.ms_token.is_none());
        assert!(c.ms_saved_login_note.unwrap().contains("has expired"));
    }

    #[test]
    fn endpoints() {
        let c = creds(
            &[
                ("HF_ENDPOINT", "http://127.0.0.1:8080/"),
                ("MODELSCOPE_ENDPOINT", "http://127.0.0.1:8081"),
            ],
            &[],
        );
        assert_eq!(c.hf_base(), "http://127.0.0.1:8080");
        assert_eq!(c.ms_base(), "http://127.0.0.1:8081");
        let c = creds(&[("MODELSCOPE_DOMAIN", "modelscope.ai")], &[]);
        assert_eq!(c.ms_base(), "https://modelscope.ai");
        let c = creds(
            &[
                ("MODELSCOPE_DOMAIN", "x.example"),
                ("MODELSCOPE_ENDPOINT", "http://127.0.0.1:1"),
            ],
            &[],
        );
        assert_eq!(c.ms_base(), "http://127.0.0.1:1");
        let err = Credentials::from_sources(
            |k| (k == "HF_ENDPOINT").then(|| "not a url".to_string()),
            |_| None,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            CredentialsError::Endpoint {
                var: "HF_ENDPOINT",
                ..
            }
        ));
        assert!(err.hint().contains("HF_ENDPOINT"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let c = creds(
            &[
                ("HF_TOKEN", "hf_canary_123"),
                ("MODELSCOPE_API_TOKEN", "ms_canary_456"),
            ],
            &[],
        );
        let shown = format!(
            "{c:?} {} {}",
            c.hf_token.as_ref().unwrap(),
            c.ms_token.as_ref().unwrap()
        );
        assert!(!shown.contains("canary"), "{shown}");
        let env = c.child_env();
        assert!(env.contains(&("HF_TOKEN".into(), "hf_canary_123".into())));
        assert!(env.contains(&("MODELSCOPE_API_TOKEN".into(), "ms_canary_456".into())));
        assert_eq!(c.secrets(), vec!["hf_canary_123", "ms_canary_456"]);
    }

    #[test]
    fn a_dotenv_line_that_does_not_parse_names_its_variable_but_never_its_value() {
        let text = "A=1\nHF_TOKEN=hf_canary secret\n";
        let e = dotenvy::from_read_iter(text.as_bytes())
            .find_map(Result::err)
            .unwrap();
        let err = dotenv_error(std::path::Path::new("/w/.env"), text, e);
        let msg = err.to_string();
        assert_eq!(msg, "/w/.env: line 2 (HF_TOKEN) does not parse");
        assert!(err.hint().contains("quot"));
    }

    #[test]
    fn ms_orgs_list() {
        let c = creds(&[("HUBFERRY_MS_ORGS", " acme-ms, ,other ")], &[]);
        assert_eq!(c.ms_orgs, vec!["acme-ms", "other"]);
    }

    #[test]
    fn web_urls_under_endpoints_from_dotenv_or_modelscope_domain_are_read_as_that_hub() {
        use crate::repo_ref::{parse_source_with, RepoType};
        let c = creds(
            &[("MODELSCOPE_DOMAIN", "ms.example")],
            &[("HF_ENDPOINT", "http://127.0.0.1:8080")],
        );
        let eps = c.configured_endpoints();
        let hf =
            parse_source_with("http://127.0.0.1:8080/datasets/acme/squad", None, &eps).unwrap();
        assert_eq!(
            (hf.platform, hf.repo_type),
            (Platform::Hf, Some(RepoType::Dataset))
        );
        let ms = parse_source_with("https://ms.example/models/acme/bert", None, &eps).unwrap();
        assert_eq!((ms.platform, ms.id.as_str()), (Platform::Ms, "acme/bert"));
        assert!(creds(&[], &[]).configured_endpoints().is_empty());
    }
}
