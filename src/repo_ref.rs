//! Repository references: what a user types as SOURCE (`ns/name`, `hf:…`, `modelscope:…`, a hub web URL)
//! turned into a platform, an optional repo type, a validated `ns/name` id and an optional revision.
//!
//! Parsing is pure (no network): the repo type is only known here when the user said it (a URL path
//! such as `/datasets/…`, or a `datasets/` segment after a prefix); preflight detects it otherwise.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A hub hubferry can read from and write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// The Hugging Face Hub.
    Hf,
    /// ModelScope.
    Ms,
}

impl Platform {
    /// The other hub: where a migration from `self` goes by default.
    pub fn other(self) -> Platform {
        match self {
            Platform::Hf => Platform::Ms,
            Platform::Ms => Platform::Hf,
        }
    }

    /// The short name used in job files, events and prefixes (`hf`, `ms`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Hf => "hf",
            Platform::Ms => "ms",
        }
    }

    /// The name people know the hub by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::Hf => "Hugging Face",
            Platform::Ms => "ModelScope",
        }
    }

    /// The branch a new repository starts with: `main` on HF, `master` on ModelScope.
    pub fn default_revision(self) -> &'static str {
        match self {
            Platform::Hf => "main",
            Platform::Ms => "master",
        }
    }

    /// The environment variable naming this hub's endpoint.
    pub fn endpoint_var(self) -> &'static str {
        match self {
            Platform::Hf => "HF_ENDPOINT",
            Platform::Ms => "MODELSCOPE_ENDPOINT",
        }
    }

    /// The environment variable hubferry reads this hub's token from first.
    pub fn token_var(self) -> &'static str {
        match self {
            Platform::Hf => "HF_TOKEN",
            Platform::Ms => "MODELSCOPE_API_TOKEN",
        }
    }

    /// How to give hubferry a valid token for this hub.
    pub fn token_hint(self) -> String {
        match self {
            Platform::Hf => {
                "set HF_TOKEN (or run `hf auth login`) with a valid Hugging Face token".into()
            }
            Platform::Ms => {
                "set MODELSCOPE_API_TOKEN (or MODELSCOPE_TOKEN) to a valid ModelScope access token"
                    .into()
            }
        }
    }

    /// The page where a user creates a token for this hub.
    pub fn token_page(self) -> &'static str {
        match self {
            Platform::Hf => "https://huggingface.co/settings/tokens",
            Platform::Ms => "https://modelscope.cn/my/myaccesstoken",
        }
    }

    /// The hub's own CLI command that saves a token hubferry reads.
    pub fn login_command(self) -> &'static str {
        match self {
            Platform::Hf => "hf auth login",
            Platform::Ms => "modelscope login",
        }
    }

    /// Parses `hf`/`huggingface`/`ms`/`modelscope` (case-insensitive).
    pub fn parse(s: &str) -> Option<Platform> {
        match s.to_ascii_lowercase().as_str() {
            "hf" | "huggingface" => Some(Platform::Hf),
            "ms" | "modelscope" => Some(Platform::Ms),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of repository. ModelScope has no spaces (its "studios" are not migrated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// `model`, `dataset`, `space`: the names used in job files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// The plural path segment both hubs use in URLs and APIs (`models`, `datasets`, `spaces`).
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// Parses a singular or plural type name.
    pub fn parse(s: &str) -> Option<RepoType> {
        match s.to_ascii_lowercase().as_str() {
            "model" | "models" => Some(RepoType::Model),
            "dataset" | "datasets" => Some(RepoType::Dataset),
            "space" | "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A repository on one hub. `repo_type` and `revision` are `None` until known (given or detected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    pub platform: Platform,
    pub repo_type: Option<RepoType>,
    /// `namespace/name`, validated by [`validate_repo_id`].
    pub id: String,
    pub revision: Option<String>,
}

impl RepoRef {
    /// The namespace (user or organization) part of the id.
    pub fn namespace(&self) -> &str {
        self.id
            .split_once('/')
            .map_or(self.id.as_str(), |(ns, _)| ns)
    }

    /// The name part of the id.
    pub fn name(&self) -> &str {
        self.id.split_once('/').map_or(self.id.as_str(), |(_, n)| n)
    }

    /// `hf:model:ns/name@rev`, the revision defaulting to the hub's default branch.
    pub fn describe(&self) -> String {
        format!(
            "{}:{}:{}@{}",
            self.platform.as_str(),
            self.repo_type_or_model().as_str(),
            self.id,
            self.revision
                .as_deref()
                .unwrap_or(self.platform.default_revision())
        )
    }

    /// The repo type, `model` when not known yet.
    pub fn repo_type_or_model(&self) -> RepoType {
        self.repo_type.unwrap_or(RepoType::Model)
    }
}

impl fmt::Display for RepoRef {
    /// `hf:ns/name`, `ms:datasets/ns/name@rev`: the form `parse_source` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.platform)?;
        match self.repo_type {
            Some(RepoType::Dataset) | Some(RepoType::Space) => {
                write!(f, "{}/", self.repo_type_or_model().plural())?
            }
            _ => {}
        }
        f.write_str(&self.id)?;
        if let Some(rev) = &self.revision {
            write!(f, "@{rev}")?;
        }
        Ok(())
    }
}

/// Why a SOURCE or `--dest` string could not be understood. Every variant is a bad-input error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("empty repository reference")]
    Empty,
    #[error("cannot tell which hub `{0}` is on")]
    NoPlatform(String),
    #[error("`{input}`: {reason}")]
    BadRepoId { input: String, reason: String },
    #[error("`{0}` is not a Hugging Face or ModelScope URL")]
    ForeignUrl(String),
    #[error("`{input}`: unrecognised {platform} URL ({reason})")]
    BadUrl {
        input: String,
        platform: &'static str,
        reason: String,
    },
    #[error("destination `{input}`: give `namespace/name` without a hub prefix (the destination is always the other hub)")]
    DestPrefix { input: String, id: String },
    #[error("source `{input}` is already on {platform}, and --to asks for {platform} too")]
    SamePlatform {
        input: String,
        platform: &'static str,
    },
}

impl RefError {
    /// A one-line suggestion the user can act on.
    pub fn hint(&self) -> String {
        match self {
            RefError::Empty => "give a repository as ns/name, hf:ns/name, ms:ns/name or a hub URL".into(),
            RefError::NoPlatform(s) => format!(
                "say where it is: `hf:{s}` (to ModelScope) or `ms:{s}` (to Hugging Face), or pass --to hf|ms"
            ),
            RefError::BadRepoId { .. } => {
                "repository ids look like `namespace/name`, using letters, digits, '-', '_' and '.'".into()
            }
            RefError::ForeignUrl(_) => {
                "use a https://huggingface.co/… or https://modelscope.cn/… URL, or hf:ns/name / ms:ns/name".into()
            }
            RefError::BadUrl { .. } => {
                "copy the repository page URL, e.g. https://huggingface.co/datasets/ns/name or https://modelscope.cn/models/ns/name".into()
            }
            RefError::DestPrefix { id, .. } => format!("give the destination as `{id}`"),
            RefError::SamePlatform { .. } => {
                "migrations go between hubs: drop --to, or pass the other hub with --to".into()
            }
        }
    }
}

/// Parses a SOURCE as typed on the command line.
///
/// Accepted forms:
/// - `ns/name` (needs `to`: the source is then on the other hub), optionally `@REV`;
/// - `hf:`, `huggingface:`, `ms:`, `modelscope:` followed by `[models/|datasets/|spaces/]ns/name[@REV]`;
/// - web URLs of either hub: `https://huggingface.co/[datasets/|spaces/]ns/name[/tree/REV/…|/blob/REV/…]`
///   (also `hf.co`), `https://modelscope.cn/{models|datasets}/ns/name[/files|/summary|/file/view/REV/…]`
///   (also `www.`, `modelscope.ai`, and `?Revision=REV`).
///
/// URLs under the configured endpoints (`HF_ENDPOINT`, `MODELSCOPE_ENDPOINT` or
/// `MODELSCOPE_DOMAIN`, from the environment or `.env`: a mirror, the sandbox) are read like the
/// public hubs' URLs.
///
/// `to`, when given, must be the other hub. Anything else is a [`RefError`].
pub fn parse_source(s: &str, to: Option<Platform>) -> Result<RepoRef, RefError> {
    parse_source_with(s, to, &endpoints_from_env())
}

/// `batch --dest-namespace NS`: the destination of SOURCE keeps its name under NS.
pub fn dest_in_namespace(source: &str, to: Option<Platform>, ns: &str) -> Result<String, RefError> {
    parse_source(source, to).map(|r| format!("{ns}/{}", r.name()))
}

/// The configured hub endpoints, read as the credentials read them (the environment, then `.env`;
/// `MODELSCOPE_DOMAIN` when `MODELSCOPE_ENDPOINT` is unset). Invalid settings leave none: loading
/// the credentials reports them.
pub fn endpoints_from_env() -> Vec<(Platform, url::Url)> {
    crate::credentials::Credentials::from_env()
        .map(|c| c.configured_endpoints())
        .unwrap_or_default()
}

/// [`parse_source`] with an explicit list of extra hub endpoints whose URLs are accepted.
pub fn parse_source_with(
    s: &str,
    to: Option<Platform>,
    endpoints: &[(Platform, url::Url)],
) -> Result<RepoRef, RefError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(RefError::Empty);
    }
    let parsed = if input.contains("://") || looks_like_bare_host(input) {
        parse_url(input, endpoints)?
    } else if let Some((prefix, rest)) = input.split_once(':') {
        let platform = Platform::parse(prefix).ok_or_else(|| RefError::BadRepoId {
            input: input.into(),
            reason: format!(
                "unknown hub prefix `{prefix}:` (use hf:, huggingface:, ms: or modelscope:)"
            ),
        })?;
        parse_prefixed(input, platform, rest)?
    } else {
        let platform = to
            .map(Platform::other)
            .ok_or_else(|| RefError::NoPlatform(input.into()))?;
        parse_prefixed(input, platform, input)?
    };
    if let Some(to) = to {
        if to == parsed.platform {
            return Err(RefError::SamePlatform {
                input: input.into(),
                platform: to.display_name(),
            });
        }
    }
    Ok(parsed)
}

/// A destination `ns/name` that passed [`parse_dest_id`]: the only way to make one, so code that
/// takes a `RepoId` never validates it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoId(String);

impl RepoId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a destination id given with `--dest` (`ns/name`, no prefix, no revision).
pub fn parse_dest_id(s: &str) -> Result<RepoId, RefError> {
    let s = s.trim();
    if let Some((prefix, rest)) = s.split_once(':') {
        if Platform::parse(prefix).is_some() && validate_repo_id(rest).is_ok() {
            return Err(RefError::DestPrefix {
                input: s.into(),
                id: rest.into(),
            });
        }
    }
    validate_repo_id(s).map_err(|reason| RefError::BadRepoId {
        input: s.into(),
        reason,
    })?;
    Ok(RepoId(s.to_string()))
}

/// Checks `ns/name` the way the hubs' own clients do: exactly one `/`, each part 1–96 characters of
/// letters, digits, `-`, `_`, `.`, not starting or ending with `-`/`.`, no `--` or `..`, no `.git` suffix.
pub fn validate_repo_id(id: &str) -> Result<(), String> {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 2 {
        return Err("a repository id is `namespace/name` with exactly one '/'".into());
    }
    for (what, part) in [("namespace", parts[0]), ("name", parts[1])] {
        if part.is_empty() {
            return Err(format!("the {what} is empty"));
        }
        if part.len() > 96 {
            return Err(format!("the {what} is longer than 96 characters"));
        }
        if let Some(c) = part
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "the {what} contains {c:?}; only letters, digits, '-', '_' and '.' are allowed"
            ));
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return Err(format!("the {what} cannot start or end with '-' or '.'"));
        }
        if part.contains("--") || part.contains("..") {
            return Err(format!("the {what} cannot contain '--' or '..'"));
        }
    }
    if id.ends_with(".git") {
        return Err("the name cannot end with `.git`".into());
    }
    Ok(())
}

/// `huggingface.co/ns/name` typed without a scheme is still a URL.
fn looks_like_bare_host(s: &str) -> bool {
    let host = s.split('/').next().unwrap_or("");
    host.contains('.') && s.contains('/') && host_platform(host).is_some()
}

/// `[models/|datasets/|spaces/]ns/name[@REV]` after a prefix (or bare with --to).
fn parse_prefixed(input: &str, platform: Platform, rest: &str) -> Result<RepoRef, RefError> {
    let (path, revision) = match rest.rsplit_once('@') {
        Some((p, rev)) if !rev.is_empty() => (p, Some(rev.to_string())),
        Some(_) => return Err(bad_id(input, "empty revision after '@'")),
        None => (rest, None),
    };
    let path = path.trim_matches('/');
    let mut repo_type = None;
    let mut id = path;
    if let Some((first, tail)) = path.split_once('/') {
        if tail.contains('/') {
            repo_type = Some(RepoType::parse(first).ok_or_else(|| {
                bad_id(
                    input,
                    "expected `namespace/name` (or `datasets/namespace/name`)",
                )
            })?);
            id = tail;
        }
    }
    validate_repo_id(id).map_err(|reason| bad_id(input, &reason))?;
    if platform == Platform::Ms && repo_type == Some(RepoType::Space) {
        return Err(bad_id(input, "ModelScope has no spaces"));
    }
    Ok(RepoRef {
        platform,
        repo_type,
        id: id.to_string(),
        revision,
    })
}

fn bad_id(input: &str, reason: &str) -> RefError {
    RefError::BadRepoId {
        input: input.into(),
        reason: reason.into(),
    }
}

fn host_platform(host: &str) -> Option<Platform> {
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    match host {
        "huggingface.co" | "hf.co" => Some(Platform::Hf),
        "modelscope.cn" | "modelscope.ai" => Some(Platform::Ms),
        _ => None,
    }
}

/// The platform of an endpoint serving `url`, and the length of the endpoint's path prefix.
fn endpoint_platform(
    url: &url::Url,
    endpoints: &[(Platform, url::Url)],
) -> Option<(Platform, usize)> {
    endpoints.iter().find_map(|(p, ep)| {
        let prefix = ep.path().trim_end_matches('/');
        let same_origin = ep.host_str().is_some()
            && url.host_str().map(str::to_ascii_lowercase)
                == ep.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == ep.port_or_known_default();
        let under = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
        (same_origin && under).then_some((*p, prefix.len()))
    })
}

fn parse_url(input: &str, endpoints: &[(Platform, url::Url)]) -> Result<RepoRef, RefError> {
    let with_scheme;
    let text = if input.contains("://") {
        input
    } else {
        with_scheme = format!("https://{input}");
        &with_scheme
    };
    let url = url::Url::parse(text).map_err(|_| RefError::ForeignUrl(input.into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RefError::ForeignUrl(input.into()));
    }
    let (platform, prefix_len) = match url.host_str().and_then(host_platform) {
        Some(p) => (p, 0),
        None => {
            endpoint_platform(&url, endpoints).ok_or_else(|| RefError::ForeignUrl(input.into()))?
        }
    };
    let segments: Vec<String> = url.path()[prefix_len..]
        .split('/')
        .filter(|p| !p.is_empty())
        .map(percent_decode)
        .collect();
    let bad = |reason: &str| RefError::BadUrl {
        input: input.into(),
        platform: platform.display_name(),
        reason: reason.into(),
    };
    let (repo_type, rest) = match platform {
        Platform::Hf => match segments.first().map(String::as_str) {
            Some("datasets") => (Some(RepoType::Dataset), &segments[1..]),
            Some("spaces") => (Some(RepoType::Space), &segments[1..]),
            Some("models") => (Some(RepoType::Model), &segments[1..]),
            Some(_) => (Some(RepoType::Model), &segments[..]),
            None => return Err(bad("no repository in the path")),
        },
        Platform::Ms => match segments.first().map(String::as_str) {
            Some("models") => (Some(RepoType::Model), &segments[1..]),
            Some("datasets") => (Some(RepoType::Dataset), &segments[1..]),
            Some("studios") => return Err(bad("ModelScope studios are not migrated")),
            _ => return Err(bad("expected /models/ns/name or /datasets/ns/name")),
        },
    };
    if rest.len() < 2 {
        return Err(bad("expected namespace/name in the path"));
    }
    let id = format!("{}/{}", rest[0], rest[1]);
    validate_repo_id(&id).map_err(|reason| bad(&reason))?;
    let tail: Vec<&str> = rest[2..].iter().map(String::as_str).collect();
    let mut revision = match (platform, tail.as_slice()) {
        (_, []) => None,
        (Platform::Hf, ["tree" | "blob" | "resolve" | "commit" | "raw" | "edit", rev, ..]) => {
            Some(rev.to_string())
        }
        (Platform::Hf, ["tree" | "blob" | "resolve" | "commit"]) => {
            return Err(bad("missing revision after the view"))
        }
        (Platform::Hf, ["discussions" | "commits" | "settings" | "viewer" | "community", ..]) => {
            None
        }
        (Platform::Ms, ["file" | "files", "view", rev, ..]) => Some(rev.to_string()),
        (Platform::Ms, ["resolve" | "tree", rev, ..]) => Some(rev.to_string()),
        (
            Platform::Ms,
            ["summary" | "files" | "file" | "feedback" | "dataPeview" | "dataPreview" | "quickstart", ..],
        ) => None,
        _ => return Err(bad(&format!("unknown page `/{}`", tail.join("/")))),
    };
    if platform == Platform::Ms {
        if let Some((_, rev)) = url
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("revision"))
        {
            if !rev.is_empty() {
                revision = Some(rev.into_owned());
            }
        }
    }
    Ok(RepoRef {
        platform,
        repo_type,
        id,
        revision,
    })
}

/// Decodes `%xx` in one path segment (revisions such as `refs%2Fpr%2F1`).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&segment[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str, to: Option<Platform>) -> RepoRef {
        parse_source(s, to).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn r(platform: Platform, ty: Option<RepoType>, id: &str, rev: Option<&str>) -> RepoRef {
        RepoRef {
            platform,
            repo_type: ty,
            id: id.into(),
            revision: rev.map(Into::into),
        }
    }

    use Platform::{Hf, Ms};
    use RepoType::{Dataset, Model, Space};

    #[test]
    fn bare_ids_need_to() {
        assert_eq!(ok("acme/bert", Some(Ms)), r(Hf, None, "acme/bert", None));
        assert_eq!(ok("acme/bert", Some(Hf)), r(Ms, None, "acme/bert", None));
        assert_eq!(
            ok("acme/bert@v1.0", Some(Hf)),
            r(Ms, None, "acme/bert", Some("v1.0"))
        );
        assert_eq!(
            ok("datasets/acme/squad", Some(Ms)),
            r(Hf, Some(Dataset), "acme/squad", None)
        );
        assert!(matches!(
            parse_source("acme/bert", None),
            Err(RefError::NoPlatform(_))
        ));
    }

    #[test]
    fn prefixes() {
        assert_eq!(ok("hf:acme/bert", None), r(Hf, None, "acme/bert", None));
        assert_eq!(
            ok("huggingface:acme/bert", None),
            r(Hf, None, "acme/bert", None)
        );
        assert_eq!(ok("ms:acme/bert", None), r(Ms, None, "acme/bert", None));
        assert_eq!(
            ok("modelscope:acme/bert", Some(Hf)),
            r(Ms, None, "acme/bert", None)
        );
        assert_eq!(ok("HF:acme/bert", None), r(Hf, None, "acme/bert", None));
        assert_eq!(
            ok("hf:datasets/acme/squad@refs/pr/1", None),
            r(Hf, Some(Dataset), "acme/squad", Some("refs/pr/1"))
        );
        assert_eq!(
            ok("hf:spaces/acme/demo", None),
            r(Hf, Some(Space), "acme/demo", None)
        );
        assert_eq!(
            ok("ms:models/acme/bert", None),
            r(Ms, Some(Model), "acme/bert", None)
        );
        assert_eq!(ok("  ms:acme/bert  ", None), r(Ms, None, "acme/bert", None));
    }

    #[test]
    fn same_platform_both_sides_is_refused() {
        assert!(matches!(
            parse_source("hf:acme/bert", Some(Hf)),
            Err(RefError::SamePlatform { .. })
        ));
        assert!(matches!(
            parse_source("https://modelscope.cn/models/acme/bert", Some(Ms)),
            Err(RefError::SamePlatform { .. })
        ));
    }

    #[test]
    fn hf_urls() {
        let cases = [
            (
                "https://huggingface.co/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://huggingface.co/acme/bert/",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "http://huggingface.co/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://www.huggingface.co/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://hf.co/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "huggingface.co/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://huggingface.co/models/acme/bert",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://huggingface.co/datasets/acme/squad",
                r(Hf, Some(Dataset), "acme/squad", None),
            ),
            (
                "https://huggingface.co/spaces/acme/demo",
                r(Hf, Some(Space), "acme/demo", None),
            ),
            (
                "https://huggingface.co/acme/bert/tree/main",
                r(Hf, Some(Model), "acme/bert", Some("main")),
            ),
            (
                "https://huggingface.co/acme/bert/tree/v2/sub/dir",
                r(Hf, Some(Model), "acme/bert", Some("v2")),
            ),
            (
                "https://huggingface.co/acme/bert/blob/main/config.json",
                r(Hf, Some(Model), "acme/bert", Some("main")),
            ),
            (
                "https://huggingface.co/acme/bert/resolve/abc123/model.bin",
                r(Hf, Some(Model), "acme/bert", Some("abc123")),
            ),
            (
                "https://huggingface.co/datasets/acme/squad/tree/refs%2Fconvert%2Fparquet",
                r(
                    Hf,
                    Some(Dataset),
                    "acme/squad",
                    Some("refs/convert/parquet"),
                ),
            ),
            (
                "https://huggingface.co/acme/bert/discussions/3",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://huggingface.co/acme/bert?library=transformers",
                r(Hf, Some(Model), "acme/bert", None),
            ),
            (
                "https://huggingface.co/acme/bert#readme",
                r(Hf, Some(Model), "acme/bert", None),
            ),
        ];
        for (url, want) in cases {
            assert_eq!(ok(url, None), want, "{url}");
        }
        assert_eq!(
            ok("https://huggingface.co/acme/bert", Some(Ms)).platform,
            Hf
        );
    }

    #[test]
    fn ms_urls() {
        let cases = [
            (
                "https://modelscope.cn/models/acme/bert",
                r(Ms, Some(Model), "acme/bert", None),
            ),
            (
                "https://www.modelscope.cn/models/acme/bert",
                r(Ms, Some(Model), "acme/bert", None),
            ),
            (
                "https://modelscope.ai/models/acme/bert/summary",
                r(Ms, Some(Model), "acme/bert", None),
            ),
            (
                "https://www.modelscope.cn/models/acme/bert/files",
                r(Ms, Some(Model), "acme/bert", None),
            ),
            (
                "https://www.modelscope.cn/datasets/acme/squad",
                r(Ms, Some(Dataset), "acme/squad", None),
            ),
            (
                "https://www.modelscope.cn/datasets/acme/squad/files?Revision=v1",
                r(Ms, Some(Dataset), "acme/squad", Some("v1")),
            ),
            (
                "https://www.modelscope.cn/models/acme/bert/file/view/master/config.json",
                r(Ms, Some(Model), "acme/bert", Some("master")),
            ),
            (
                "https://www.modelscope.cn/models/acme/bert/resolve/v2/model.bin",
                r(Ms, Some(Model), "acme/bert", Some("v2")),
            ),
            (
                "modelscope.cn/models/acme/bert",
                r(Ms, Some(Model), "acme/bert", None),
            ),
        ];
        for (url, want) in cases {
            assert_eq!(ok(url, None), want, "{url}");
        }
    }

    #[test]
    fn other_sites_and_bad_urls_are_refused() {
        for url in [
            "https://github.com/acme/bert",
            "https://gitlab.com/acme/bert",
            "https://huggingface.com/acme/bert",
            "https://evil.example/huggingface.co/acme/bert",
            "ftp://huggingface.co/acme/bert",
            "https://modelscope.com/models/acme/bert",
        ] {
            assert!(
                matches!(parse_source(url, None), Err(RefError::ForeignUrl(_))),
                "{url}"
            );
        }
        for url in [
            "https://huggingface.co/",
            "https://huggingface.co/acme",
            "https://huggingface.co/acme/bert/tree",
            "https://huggingface.co/acme/bert/nonsense",
            "https://modelscope.cn/acme/bert",
            "https://modelscope.cn/models/acme",
            "https://modelscope.cn/studios/acme/demo",
            "https://huggingface.co/acme/be rt",
        ] {
            assert!(
                matches!(parse_source(url, None), Err(RefError::BadUrl { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn urls_of_configured_endpoints() {
        let eps = vec![
            (Hf, url::Url::parse("http://127.0.0.1:8080").unwrap()),
            (Ms, url::Url::parse("https://mirror.example/ms/").unwrap()),
        ];
        let parse = |s: &str| parse_source_with(s, None, &eps);
        assert_eq!(
            parse("http://127.0.0.1:8080/datasets/acme/squad/tree/v1").unwrap(),
            r(Hf, Some(Dataset), "acme/squad", Some("v1"))
        );
        assert_eq!(
            parse("https://mirror.example/ms/models/acme/bert").unwrap(),
            r(Ms, Some(Model), "acme/bert", None)
        );
        for foreign in [
            "http://127.0.0.1:8081/acme/bert",
            "https://mirror.example/other/models/acme/bert",
            "https://mirror.example/msx/models/acme/bert",
        ] {
            assert!(
                matches!(parse(foreign), Err(RefError::ForeignUrl(_))),
                "{foreign}"
            );
        }
        assert_eq!(
            parse("https://huggingface.co/acme/bert").unwrap().platform,
            Hf
        );
    }

    #[test]
    fn malformed_ids() {
        for s in [
            "",
            "hf:",
            "hf:acme",
            "hf:/bert",
            "hf:acme/",
            "hf:a/b/c/d",
            "hf:acme/bert@",
            "hf:-acme/bert",
            "hf:acme/bert.",
            "hf:ac--me/bert",
            "hf:acme/be..rt",
            "hf:acme/bert.git",
            "hf:acme/b ert",
            "hf:acme/bért",
            "gh:acme/bert",
            "ms:spaces/acme/demo",
            "hf:widgets/acme/bert",
        ] {
            let err = parse_source(s, None).expect_err(s);
            assert!(!err.hint().is_empty());
            assert!(!matches!(err, RefError::NoPlatform(_)), "{s}: {err}");
        }
        let long = format!("hf:acme/{}", "x".repeat(97));
        assert!(parse_source(&long, None).is_err());
    }

    #[test]
    fn dest_ids() {
        assert_eq!(
            parse_dest_id("acme/bert-v2").unwrap().as_str(),
            "acme/bert-v2"
        );
        assert!(parse_dest_id("acme").is_err());
        assert!(parse_dest_id("hf:acme/bert").is_err());
        // A hub prefix on --dest gets its own message and a hint with the bare id.
        let err = parse_dest_id("ms:acme/bert").unwrap_err();
        assert!(matches!(err, RefError::DestPrefix { .. }), "{err}");
        assert_eq!(err.hint(), "give the destination as `acme/bert`");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "hf:acme/bert",
            "ms:datasets/acme/squad@v1",
            "hf:spaces/acme/demo@main",
        ] {
            let parsed = ok(s, None);
            assert_eq!(parsed.to_string(), s);
            assert_eq!(ok(&parsed.to_string(), None), parsed);
        }
    }

    #[test]
    fn platform_defaults() {
        assert_eq!(Hf.default_revision(), "main");
        assert_eq!(Ms.default_revision(), "master");
        assert_eq!(Hf.other(), Ms);
        let rf = r(Hf, None, "acme/bert", None);
        assert_eq!((rf.namespace(), rf.name()), ("acme", "bert"));
    }
}
