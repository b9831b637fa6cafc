//! The mirrors file read by `hubferry sync --config mirrors.toml`: a list of `[[mirror]]` tables,
//! each one source repository kept copied to one destination.
//!
//! ```toml
//! [[mirror]]
//! name = "qwen-small"                 # unique; `--only NAME` picks it
//! source = "hf:acme/qwen-small"       # any SOURCE form of `migrate` (prefix or URL, @REV)
//! dest = "ms:acme-org/qwen-small"     # prefixed: the hub and ns/name of the copy
//! backend = "local"                   # optional: modal (default) or local
//! repo_type = "model"                 # optional: model | dataset | space [default: detected]
//! revision = "main"                   # optional source revision
//! include = ["*.safetensors"]         # optional globs, as --include / --exclude
//! exclude = ["*.bin"]
//! delete = true                       # optional: remove destination files the source lacks
//! method = "api"                      # optional: auto (default) | api | git
//! revisions = "all"                   # optional: also branches and tags ("all" or "main,v1")
//! ```
//! Unknown keys are errors (a typo must not silently change what a nightly job does).

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::CliError;
use crate::plan::Method;
use crate::repo_ref::{self, Platform, RepoId, RepoRef, RepoType};
use crate::settings::Backend;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    mirror: Vec<MirrorToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorToml {
    name: String,
    source: String,
    dest: String,
    #[serde(default)]
    backend: Option<String>,
    #[serde(default)]
    repo_type: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    revisions: Option<String>,
}

/// One validated mirror, in domain values ([`crate::settings::mirror_request`] makes it a
/// preflight request).
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub name: String,
    /// The source as the file writes it (reports show it so).
    pub source_text: String,
    /// The source, parsed and checked to be on the other hub than `to`.
    pub source: RepoRef,
    /// The destination hub.
    pub to: Platform,
    /// The destination `ns/name`.
    pub dest_id: RepoId,
    pub backend: Backend,
    pub repo_type: Option<RepoType>,
    pub revision: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub delete: bool,
    pub method: Method,
    /// Branches and tags to mirror besides the default branch (`revisions`).
    pub revisions: Option<crate::revisions::RevisionSet>,
}

/// Reads and validates a mirrors file.
pub fn load(path: &Path) -> Result<Vec<Mirror>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::bad_input(format!("reading the mirrors file {}: {e}", path.display()))
            .with_hint("pass an existing file to --config")
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses the text of a mirrors file; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Mirror>, CliError> {
    let file: FileToml = toml::from_str(text).map_err(|e| {
        CliError::bad_input(format!("{origin}: {}", e.to_string().trim_end())).with_hint(
            "each mirror is a [[mirror]] table with name, source and dest; optional: backend, repo_type, revision, revisions, include, exclude, delete, method",
        )
    })?;
    if file.mirror.is_empty() {
        return Err(
            CliError::bad_input(format!("{origin}: no [[mirror]] tables")).with_hint(
                "add one, e.g. [[mirror]] name = \"x\" source = \"hf:ns/x\" dest = \"ms:ns/x\"",
            ),
        );
    }
    let mut names = HashSet::new();
    file.mirror
        .into_iter()
        .map(|m| {
            let bad = |msg: String, hint: &str| {
                CliError::bad_input(format!("{origin}: mirror `{}`: {msg}", m.name)).with_hint(hint)
            };
            if m.name.trim().is_empty() {
                return Err(bad("empty name".into(), "give every mirror a unique name"));
            }
            if !names.insert(m.name.clone()) {
                return Err(bad(
                    "the name is used twice".into(),
                    "give every mirror a unique name",
                ));
            }
            let dest_hint =
                "write the destination with its hub prefix, e.g. ms:org/name or hf:org/name";
            let dest = repo_ref::parse_source(&m.dest, None)
                .map_err(|e| bad(format!("dest: {e}"), dest_hint))?;
            let dest_id = repo_ref::parse_dest_id(&dest.id)
                .map_err(|e| bad(format!("dest: {e}"), dest_hint))?;
            let source = repo_ref::parse_source(&m.source, None).map_err(|e| {
                bad(
                    format!("source: {e}"),
                    "write the source with its hub prefix, e.g. hf:org/name, or its web URL",
                )
            })?;
            if source.platform == dest.platform {
                return Err(bad(
                    format!(
                        "source and dest are both on {}",
                        dest.platform.display_name()
                    ),
                    "a mirror copies between the two hubs",
                ));
            }
            let backend = match m.backend.as_deref() {
                None | Some("modal") => Backend::Modal,
                Some("local") => Backend::Local,
                Some(other) => {
                    return Err(bad(
                        format!("unknown backend `{other}`"),
                        "backend is \"modal\" or \"local\"",
                    ))
                }
            };
            let repo_type = match m.repo_type.as_deref() {
                None => None,
                Some("model") => Some(RepoType::Model),
                Some("dataset") => Some(RepoType::Dataset),
                Some("space") => Some(RepoType::Space),
                Some(other) => {
                    return Err(bad(
                        format!("unknown repo_type `{other}`"),
                        "repo_type is \"model\", \"dataset\" or \"space\"",
                    ))
                }
            };
            crate::settings::check_repo_type(&source, repo_type, &m.source).map_err(|e| {
                CliError {
                    message: format!("{origin}: mirror `{}`: {}", m.name, e.message),
                    ..e
                }
            })?;
            let method = match m.method.as_deref() {
                None | Some("auto") => Method::Auto,
                Some("api") => Method::Api,
                Some("git") => Method::Git,
                Some(other) => {
                    return Err(bad(
                        format!("unknown method `{other}`"),
                        "method is \"auto\", \"api\" or \"git\"",
                    ))
                }
            };
            let revisions = match m.revisions.as_deref() {
                None => None,
                Some(r) => Some(crate::revisions::RevisionSet::parse(r).map_err(|e| {
                    bad(
                        format!("revisions: {e}"),
                        "revisions is \"all\" or branch and tag names separated by commas",
                    )
                })?),
            };
            if revisions.is_some() && m.revision.is_some() {
                return Err(bad(
                    "both revision and revisions".into(),
                    "keep one: revision follows one ref, revisions mirrors several",
                ));
            }
            Ok(Mirror {
                name: m.name.clone(),
                source_text: m.source.clone(),
                source,
                to: dest.platform,
                dest_id,
                backend,
                repo_type,
                revision: m.revision.clone(),
                include: m.include.clone(),
                exclude: m.exclude.clone(),
                delete: m.delete,
                method,
                revisions,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let m = parse(
            r#"
[[mirror]]
name = "qwen-small"
source = "hf:acme/qwen-small"
dest = "ms:acme-org/qwen-small"
backend = "local"

[[mirror]]
name = "data"
source = "ms:acme-org/data"
dest = "hf:acme/data"
repo_type = "dataset"
include = ["*.parquet"]
delete = true
"#,
            "mirrors.toml",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].to, Platform::Ms);
        assert_eq!(m[0].dest_id.as_str(), "acme-org/qwen-small");
        assert_eq!(m[0].backend, Backend::Local);
        assert_eq!(m[1].backend, Backend::Modal);
        assert_eq!(m[1].repo_type, Some(RepoType::Dataset));
        assert!(m[1].delete);
    }

    #[test]
    fn a_repo_type_that_contradicts_the_source_is_refused_when_the_file_is_read() {
        let e = parse(
            "[[mirror]]\nname = \"d\"\nsource = \"hf:datasets/acme/d\"\ndest = \"ms:acme/d\"\nrepo_type = \"model\"\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("m.toml: mirror `d`: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("contradicts"), "{}", e.message);
        assert!(e.hint.is_some());
    }

    #[test]
    fn refuses_typos_duplicates_and_same_hub() {
        let base = "[[mirror]]\nname = \"a\"\nsource = \"hf:x/a\"\ndest = \"ms:x/a\"\n";
        let e = parse(&format!("{base}delet = true\n"), "m.toml").unwrap_err();
        assert!(e.message.contains("delet"), "{}", e.message);
        let e = parse(&format!("{base}{base}"), "m.toml").unwrap_err();
        assert!(e.message.contains("used twice"), "{}", e.message);
        let e = parse(
            "[[mirror]]\nname = \"a\"\nsource = \"hf:x/a\"\ndest = \"hf:x/b\"\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.message.contains("both on"), "{}", e.message);
        let e = parse(&format!("{base}backend = \"cloud\"\n"), "m.toml").unwrap_err();
        assert!(e.message.contains("cloud"), "{}", e.message);
        assert!(parse("", "m.toml").is_err());
    }
}
