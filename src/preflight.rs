//! Preflight: everything checked over HTTP before any container starts, ending in a [`Plan`].
//!
//! Steps: resolve the request (direction, destination id, type, revision, globs) → validate the
//! tokens (HF `whoami-v2`; ModelScope login + `users/me`) → find the source (detecting its type:
//! model, dataset, space on HF; model, dataset on ModelScope), its visibility, gating and revision
//! sha → list the source and the destination (an absent repo is empty) → check the destination
//! namespace is writable → decide the destination's visibility → diff and chunk ([`crate::plan`]).
//! Independent requests run concurrently.
//!
//! Decisions worth knowing:
//! - The destination is written on its hub's default branch (HF `main`, ModelScope `master`),
//!   whatever the source revision; the source is read at the resolved commit when the hub gives one.
//! - HF namespaces: writable when the namespace is the token's user or one of its orgs, the token is
//!   not read-only, and (for an existing repo) `auth-check/write` agrees.
//! - ModelScope has no API listing a user's organizations. A namespace other than the token's user
//!   is accepted when named in `HUBFERRY_MS_ORGS` (comma-separated), or when the destination repo
//!   already exists (write access is then checked by the worker's first write); otherwise preflight
//!   refuses, since a typo would only surface as a 403 inside the container.
//! - Visibility: by default the destination is private when the source is private or gated. Making
//!   a private or gated source public (`--public`), or writing it into an existing public repo
//!   (existing repos keep their visibility), is refused unless `allow_public_gated` is set.

use std::time::Instant;

use crate::credentials::Credentials;
use crate::hub::{HubErrorKind, Hubs, Identities, RepoFacts, WriteAccess};
use crate::manifest::{Manifest, PLATFORM_FILES};
use crate::plan::{
    plan_transfer, ChunkSettings, Method, PathFilter, Plan, PlanOptions, Transfer, Visibility,
    VisibilityChoice,
};
use crate::repo_ref::{Platform, RepoId, RepoRef, RepoType};

mod error;

use error::{disabled_error, hub_error};
pub use error::{ErrorKind, PreflightError};

/// What the user asked `migrate` to do (already parsed; `source` from [`crate::repo_ref::parse_source`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MigrateRequest {
    pub source: RepoRef,
    /// The destination hub, never the source's: each input's parser checked the pair once
    /// (`--to` in [`crate::repo_ref::parse_source`], the mirrors file, the org plan).
    pub to: Platform,
    /// `--dest NS/NAME`; defaults to the source id.
    pub dest: Option<RepoId>,
    /// `--repo-type` (settings checked that it agrees with a type given in SOURCE).
    pub repo_type: Option<RepoType>,
    /// `--revision`; overrides a revision given in SOURCE.
    pub revision: Option<String>,
    /// The destination branch [default: the destination hub's default branch]; set by
    /// `--revisions`, which mirrors each branch onto its namesake.
    pub dest_revision: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub parallel: bool,
    /// `--chunk-size` in decimal GB (settings checked that it is positive).
    pub chunk_size_gb: Option<f64>,
    pub method: Method,
    pub visibility: VisibilityChoice,
    pub delete: bool,
    /// Allows a private or gated source to end up public (`--public --allow-public-gated`).
    pub allow_public_gated: bool,
    /// The throughput and price model, and the target a `--parallel` chunk count is chosen for.
    pub sizing: crate::cost::Sizing,
}

impl MigrateRequest {
    /// A request from `source` to the hub `to` with every option at its default.
    pub fn new(source: RepoRef, to: Platform) -> Self {
        debug_assert_ne!(
            source.platform, to,
            "the parsers refuse a same-hub transfer"
        );
        MigrateRequest {
            source,
            to,
            dest: None,
            repo_type: None,
            revision: None,
            dest_revision: None,
            include: Vec::new(),
            exclude: Vec::new(),
            parallel: false,
            chunk_size_gb: None,
            method: Method::Auto,
            visibility: VisibilityChoice::Source,
            delete: false,
            allow_public_gated: false,
            sizing: crate::cost::Sizing::default(),
        }
    }

    /// The destination `ns/name`: `--dest`, else the source's own id.
    pub fn dest_id(&self) -> &str {
        self.dest
            .as_ref()
            .map_or(self.source.id.as_str(), RepoId::as_str)
    }
}

/// Runs every check and returns the plan; see the module header for the steps and decisions.
pub async fn preflight(req: &MigrateRequest, creds: &Credentials) -> Result<Plan, PreflightError> {
    let started = Instant::now();
    let hubs = Hubs::new(creds);

    let resolved = resolve_request(req, creds)?;

    // Tokens and the source, concurrently.
    let (ids, source_facts) = tokio::join!(
        validate_tokens(&hubs),
        source_facts(
            &hubs,
            &req.source,
            resolved.given_type,
            resolved.revision.as_deref()
        )
    );
    let ids = ids?;
    let source_facts = source_facts?;
    check_source_movable(req, resolved.to, &source_facts)?;
    let source_revision = resolved.source_revision(req);
    let (source, dest) = resolved.repos(req, source_facts.repo_type);
    check_gated_access(&hubs, &ids, &source, &source_facts).await?;

    // Listings and the destination, concurrently.
    let (source_manifest, dest_state) =
        list_source_and_dest(&hubs, &source, &dest, &source_facts).await?;
    let mut warnings = Vec::new();
    warnings.extend(check_writable(&hubs, creds, &ids, &dest, dest_state.facts.is_some()).await?);

    let (dest_visibility, visibility_note) = decide_visibility(
        req,
        &source,
        &dest,
        &source_facts,
        dest_state.facts.as_ref(),
    )?;
    warnings.extend(visibility_note);
    if source_manifest.is_empty() {
        warnings.push(format!("{source} has no files at {source_revision}"));
    }

    let card_revision = source_facts
        .sha
        .clone()
        .unwrap_or_else(|| source_revision.clone());
    let card = if resolved.filter.matches(crate::cards::CARD_PATH) {
        crate::cards::plan_card(
            &hubs,
            &source,
            &card_revision,
            &dest,
            &source_manifest,
            &dest_state.manifest,
        )
        .await
        .unwrap_or_else(|warning| {
            warnings.push(warning);
            None
        })
    } else {
        None
    };
    let transfer = diff_and_chunk(
        req,
        &resolved.filter,
        &source,
        &source_manifest,
        &crate::cards::dest_for_diff(&dest_state.manifest, &source_manifest, card.as_ref()),
        dest_state.facts.is_some(),
        &mut warnings,
    );
    warnings.extend(crate::plan::scale_warnings(&transfer, resolved.to));
    let repo_type = source_facts.repo_type;
    let dest_url = hubs.web_url(resolved.to, repo_type, &dest.id);
    Ok(Plan {
        source,
        source_sha: source_facts.sha,
        dest,
        source_private: source_facts.private,
        source_gated: source_facts.gated,
        dest_exists: dest_state.facts.is_some(),
        dest_visibility,
        source_manifest,
        dest_manifest: dest_state.manifest,
        transfer,
        options: PlanOptions {
            method: req.method,
            visibility_choice: req.visibility,
            allow_public_gated: req.allow_public_gated,
            delete: req.delete,
            include: req.include.clone(),
            exclude: req.exclude.clone(),
            parallel: req.parallel,
        },
        warnings,
        dest_url,
        preflight_s: started.elapsed().as_secs_f64(),
        card,
    })
}

/// The request checked and completed without asking any hub.
struct Resolved {
    to: Platform,
    /// The type from `--repo-type` or SOURCE; `None` means detect it.
    given_type: Option<RepoType>,
    dest_id: String,
    filter: PathFilter,
    /// `--revision`, else the one in SOURCE; `None` means the default branch.
    revision: Option<String>,
}

impl Resolved {
    fn source_revision(&self, req: &MigrateRequest) -> String {
        self.revision
            .clone()
            .unwrap_or_else(|| req.source.platform.default_revision().to_string())
    }

    /// The source at its revision and the destination on its default branch, once the source's
    /// type is known.
    fn repos(&self, req: &MigrateRequest, repo_type: RepoType) -> (RepoRef, RepoRef) {
        let source = RepoRef {
            platform: req.source.platform,
            repo_type: Some(repo_type),
            id: req.source.id.clone(),
            revision: Some(self.source_revision(req)),
        };
        let dest = RepoRef {
            platform: self.to,
            repo_type: Some(repo_type),
            id: self.dest_id.clone(),
            revision: Some(
                req.dest_revision
                    .clone()
                    .unwrap_or_else(|| self.to.default_revision().to_string()),
            ),
        };
        (source, dest)
    }
}

const SPACES_STAY_HINT: &str =
    "spaces stay on Hugging Face; migrate the model or dataset repos they use instead";

/// Everything that can be refused before any request: spaces to ModelScope, globs, and the
/// destination hub's token being set at all (the hub pair, the destination id, `--repo-type` and
/// `--chunk-size` were checked where they were parsed: [`crate::settings`], the mirrors file,
/// the org plan).
fn resolve_request(req: &MigrateRequest, creds: &Credentials) -> Result<Resolved, PreflightError> {
    let to = req.to;
    let given_type = req.repo_type.or(req.source.repo_type);
    let dest_id = req.dest_id().to_string();
    if to == Platform::Ms && given_type == Some(RepoType::Space) {
        return Err(PreflightError::new(
            ErrorKind::BadInput,
            format!(
                "{}: ModelScope has no spaces, so a space cannot move there",
                req.source
            ),
            Some(SPACES_STAY_HINT.to_string()),
        ));
    }
    let filter = PathFilter::new(&req.include, &req.exclude).map_err(|e| {
        PreflightError::new(
            ErrorKind::BadInput,
            e,
            Some("patterns use fnmatch syntax as `hf download --include` does: *, ?, [abc], [!abc], plus {a,b} (docs/cli.md, \"Choosing files\")".to_string()),
        )
    })?;
    let (_, dest_token) = creds.hub(to);
    if dest_token.is_none() {
        let dest_preview = RepoRef {
            platform: to,
            repo_type: given_type,
            id: dest_id.clone(),
            revision: None,
        };
        return Err(PreflightError::new(
            ErrorKind::Credentials,
            format!(
                "no {} token found, and writing {dest_preview} needs one",
                to.display_name()
            ),
            Some(to.token_hint()),
        ));
    }
    Ok(Resolved {
        to,
        given_type,
        dest_id,
        filter,
        revision: req.revision.clone().or_else(|| req.source.revision.clone()),
    })
}

/// Refuses a source whose files cannot be read (disabled) or that has no place on `to`.
fn check_source_movable(
    req: &MigrateRequest,
    to: Platform,
    facts: &RepoFacts,
) -> Result<(), PreflightError> {
    if facts.disabled {
        return Err(disabled_error(&req.source));
    }
    if to == Platform::Ms && facts.repo_type == RepoType::Space {
        return Err(PreflightError::new(
            ErrorKind::BadInput,
            format!("{} is a space, and ModelScope has no spaces", req.source),
            Some(SPACES_STAY_HINT.to_string()),
        ));
    }
    Ok(())
}

/// A gated source needs a token whose user has been granted access, where the hub can tell
/// ([`Platform::checks_gated_access`]).
async fn check_gated_access(
    hubs: &Hubs,
    ids: &Identities,
    source: &RepoRef,
    facts: &RepoFacts,
) -> Result<(), PreflightError> {
    let platform = source.platform;
    if !facts.gated || !platform.checks_gated_access() {
        return Ok(());
    }
    let url = hubs.web_url(platform, facts.repo_type, &source.id);
    if !hubs.has_token(platform) {
        return Err(PreflightError::new(
            ErrorKind::Credentials,
            format!(
                "{source} is gated, and reading its files needs a {} token",
                platform.display_name()
            ),
            Some(format!(
                "set {} to a token of a user granted access on {url}",
                platform.token_var()
            )),
        ));
    }
    match hubs
        .may_read_gated(platform, facts.repo_type, &source.id)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(PreflightError::new(
            ErrorKind::Permission,
            format!(
                "{source} is gated and {} has not been granted access",
                ids.describe(platform)
            ),
            Some(format!("request access on {url}")),
        )),
        Err(e) => Err(hub_error("checking access to the gated source", source, e)),
    }
}

/// The source's files (at the resolved commit when known) and the destination's state, fetched
/// concurrently.
async fn list_source_and_dest(
    hubs: &Hubs,
    source: &RepoRef,
    dest: &RepoRef,
    source_facts: &RepoFacts,
) -> Result<(Manifest, DestState), PreflightError> {
    let source_listing = async {
        hubs.source_files(source, source_facts)
            .await
            .map_err(|e| hub_error("listing the source files", source, e))
    };
    let (source_files, dest_state) = tokio::join!(source_listing, dest_state(hubs, dest));
    Ok((Manifest::from_entries(source_files?), dest_state?))
}

/// The destination's visibility (see the module header), and a warning when an existing
/// destination keeps a visibility other than the one asked for.
fn decide_visibility(
    req: &MigrateRequest,
    source: &RepoRef,
    dest: &RepoRef,
    source_facts: &RepoFacts,
    dest_facts: Option<&RepoFacts>,
) -> Result<(Visibility, Option<String>), PreflightError> {
    let restricted = source_facts.private || source_facts.gated;
    let what = if source_facts.gated {
        "gated"
    } else {
        "private"
    };
    let dest_visibility = match req.visibility {
        VisibilityChoice::Private => Visibility::Private,
        VisibilityChoice::Source if restricted => Visibility::Private,
        VisibilityChoice::Source => Visibility::Public,
        VisibilityChoice::Public => {
            if restricted && !req.allow_public_gated {
                return Err(PreflightError::new(
                    ErrorKind::BadInput,
                    format!("{source} is {what}; refusing to publish it as public {dest}"),
                    Some(
                        "drop --public to keep it private, or confirm with --allow-public-gated"
                            .to_string(),
                    ),
                ));
            }
            Visibility::Public
        }
    };
    // hubferry never re-scopes an existing repository (ModelScope cannot, and changing a
    // repository people already use is not a migration's business): it keeps its visibility.
    let Some(f) = dest_facts else {
        return Ok((dest_visibility, None));
    };
    let actual = if f.private {
        Visibility::Private
    } else {
        Visibility::Public
    };
    if actual == Visibility::Public && restricted && !req.allow_public_gated {
        let hub = dest.platform.display_name();
        return Err(PreflightError::new(
            ErrorKind::BadInput,
            format!("{dest} exists and is public, and {source} is {what}: its files would become public"),
            Some(format!(
                "make the {hub} repo private on its settings page, pick another --dest, or accept it with --public --allow-public-gated"
            )),
        ));
    }
    let note = (actual != dest_visibility).then(|| {
        format!(
            "{dest} exists and is {}; hubferry does not change the visibility of an existing repository",
            actual.as_str()
        )
    });
    Ok((actual, note))
}

/// Diffs the listings and chunks what is to move ([`crate::plan`]), adding its warnings.
fn diff_and_chunk(
    req: &MigrateRequest,
    filter: &PathFilter,
    source: &RepoRef,
    source_manifest: &Manifest,
    dest_manifest: &Manifest,
    dest_exists: bool,
    warnings: &mut Vec<String>,
) -> Transfer {
    let mut transfer = plan_transfer(
        source_manifest,
        dest_manifest,
        filter,
        req.delete,
        ChunkSettings::from_gb(req.parallel, req.chunk_size_gb).with_sizing(req.sizing),
    );
    let is_content =
        |i: &u32| !PLATFORM_FILES.contains(&source_manifest.files[*i as usize].path.as_str());
    let in_scope =
        transfer.to_move.len() + transfer.to_skip.iter().filter(|i| is_content(i)).count();
    let content_files = (0..source_manifest.files.len() as u32)
        .filter(is_content)
        .count();
    if in_scope == 0 && content_files > 0 {
        warnings.push(format!(
            "--include/--exclude leave none of the {content_files} files of {source}"
        ));
    }
    if transfer.chunks.is_empty() && !dest_exists {
        // Nothing to copy into a repo that does not exist yet (an empty source, or a filter that
        // leaves nothing): one empty job still creates it, so the copy exists and verifies.
        transfer.chunks.push(crate::plan::Chunk {
            index: 0,
            files: Vec::new(),
            file_count: 0,
            bytes: 0,
        });
        transfer.reestimate();
    }
    warnings.extend(transfer.warnings.iter().cloned());
    transfer
}

/// Validates whichever tokens are set (both concurrently).
async fn validate_tokens(hubs: &Hubs) -> Result<Identities, PreflightError> {
    hubs.identities().await.map_err(|e| {
        let p = e.platform;
        if e.kind == HubErrorKind::Unauthorized {
            PreflightError::new(
                ErrorKind::Credentials,
                format!(
                    "checking the {} token failed: the hub refused it ({e})",
                    p.display_name()
                ),
                Some(p.token_hint()),
            )
            .with_source(e)
        } else {
            let step = format!("checking the {} token", p.display_name());
            let kind = if e.kind == HubErrorKind::Network {
                ErrorKind::Network
            } else {
                ErrorKind::Credentials
            };
            PreflightError::new(
                kind,
                format!("{step} failed: {e}"),
                Some(format!("check {}", p.endpoint_var())),
            )
            .with_source(e)
        }
    })
}

/// Finds the source, detecting its type when not given: the one type (model, dataset, space)
/// under which the repo exists. An id that exists under two types is a usage error: picking one
/// silently could move (or later retire) the other repository.
async fn source_facts(
    hubs: &Hubs,
    source: &RepoRef,
    given: Option<RepoType>,
    revision: Option<&str>,
) -> Result<RepoFacts, PreflightError> {
    let candidates = source.platform.candidate_types(given);
    let lookups = candidates.iter().map(|&t| async move {
        (
            t,
            hubs.repo_facts(source.platform, t, &source.id, revision)
                .await,
        )
    });
    let results = join_all(lookups).await;
    let mut first_error = None;
    for (_, r) in &results {
        if let Err(e) = r {
            if e.kind != HubErrorKind::NotFound || e.message.starts_with("[RevisionNotFound]") {
                first_error.get_or_insert(e.clone());
            }
        }
    }
    let mut found: Vec<(RepoType, RepoFacts)> = results
        .into_iter()
        .filter_map(|(t, r)| r.ok().map(|f| (t, f)))
        .collect();
    if found.len() > 1 {
        let types: Vec<RepoType> = found.iter().map(|(t, _)| *t).collect();
        return Err(PreflightError::new(
            ErrorKind::BadInput,
            crate::type_check::ambiguous_type_message(source, &types),
            Some(crate::type_check::ambiguous_type_hint(source, &types)),
        ));
    }
    if let Some((t, f)) = found.pop() {
        return Ok(RepoFacts { repo_type: t, ..f });
    }
    if let Some(e) = first_error {
        if e.message.starts_with("[RevisionNotFound]") {
            let rev = revision.unwrap_or_default();
            return Err(PreflightError::new(
                ErrorKind::NotFound,
                format!("resolving the revision of {source}: `{rev}` is not a branch, tag or commit there ({e})"),
                Some("check the revision name, or drop --revision / @REV to use the default branch".to_string()),
            )
            .with_source(e));
        }
        return Err(hub_error("reading the source", source, e));
    }
    let kinds: Vec<&str> = candidates.iter().map(|t| t.as_str()).collect();
    let token_note = if hubs.has_token(source.platform) {
        "; if it is private, check that your token's user can read it".to_string()
    } else {
        format!("; if it is private, set {}", source.platform.token_var())
    };
    Err(PreflightError::new(
        ErrorKind::NotFound,
        format!(
            "source {source} not found on {} (looked for a {})",
            source.platform.display_name(),
            kinds.join(", ")
        ),
        Some(format!("check the namespace and name spelling{token_note}")),
    ))
}

/// Runs the futures concurrently and returns their outputs in order (at most three here).
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}

struct DestState {
    facts: Option<RepoFacts>,
    manifest: Manifest,
}

/// The destination's metadata and files; an absent repo (or branch) is empty.
async fn dest_state(hubs: &Hubs, dest: &RepoRef) -> Result<DestState, PreflightError> {
    let t = dest.repo_type_or_model();
    let branch = dest
        .revision
        .as_deref()
        .filter(|b| *b != dest.platform.default_revision());
    let facts = match hubs.repo_facts(dest.platform, t, &dest.id, branch).await {
        Ok(f) => f,
        Err(e) if e.kind == HubErrorKind::NotFound => {
            return Ok(DestState {
                facts: None,
                manifest: Manifest::default(),
            })
        }
        Err(e) => return Err(hub_error("reading the destination", dest, e)),
    };
    let files = hubs
        .list_existing(dest.platform, t, &dest.id, facts.listing_point.as_deref())
        .await
        .map_err(|e| hub_error("listing the destination files", dest, e))?;
    Ok(DestState {
        facts: Some(facts),
        manifest: Manifest::from_entries(files),
    })
}

/// Fails unless the token's user can create or write `dest` (the hub's rules: see the module
/// header); returns a warning when the hub gives no way to check.
async fn check_writable(
    hubs: &Hubs,
    creds: &Credentials,
    ids: &Identities,
    dest: &RepoRef,
    exists: bool,
) -> Result<Option<String>, PreflightError> {
    match hubs.write_access(ids, dest, exists, &creds.ms_orgs).await {
        Ok(WriteAccess::Granted) => Ok(None),
        Ok(WriteAccess::Unknown { warning }) => Ok(Some(warning)),
        Ok(WriteAccess::Refused { message, hint }) => Err(PreflightError::new(
            ErrorKind::Permission,
            message,
            Some(hint),
        )),
        Err(e) => Err(hub_error(
            "checking write access to the destination",
            dest,
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(ErrorKind::BadInput.exit_code(), 2);
        assert_eq!(ErrorKind::NotFound.exit_code(), 2);
        assert_eq!(ErrorKind::Credentials.exit_code(), 3);
        assert_eq!(ErrorKind::Permission.exit_code(), 3);
        assert_eq!(ErrorKind::Network.exit_code(), 1);
    }

    fn creds(env: &[(&str, &str)]) -> Credentials {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Credentials::from_sources(|k| env.get(k).cloned(), |_| None).unwrap()
    }

    fn run(req: &MigrateRequest, c: &Credentials) -> Result<Plan, PreflightError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(preflight(req, c))
    }

    // Local validation happens before any request: these endpoints are unroutable on purpose.
    const OFFLINE: [(&str, &str); 4] = [
        ("HF_ENDPOINT", "http://127.0.0.1:9"),
        ("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9"),
        ("HF_TOKEN", "hf_x"),
        ("MODELSCOPE_API_TOKEN", "ms_x"),
    ];

    #[test]
    fn bad_requests_fail_before_any_request() {
        let c = creds(&OFFLINE);
        let src = crate::repo_ref::parse_source("hf:acme/bert", None).unwrap();
        let mut req = MigrateRequest::new(src.clone(), Platform::Ms);
        req.exclude = vec!["[".into()];
        assert_eq!(run(&req, &c).unwrap_err().kind(), ErrorKind::BadInput);

        let mut req = MigrateRequest::new(
            crate::repo_ref::parse_source("hf:spaces/acme/demo", None).unwrap(),
            Platform::Ms,
        );
        req.repo_type = Some(RepoType::Space);
        let e = run(&req, &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadInput);
        assert!(e.to_string().contains("no spaces"), "{e}");
    }

    #[test]
    fn missing_destination_token_is_a_credentials_error() {
        let c = creds(&[
            ("HF_ENDPOINT", "http://127.0.0.1:9"),
            ("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9"),
            ("HOME", "/nonexistent"),
        ]);
        let req = MigrateRequest::new(
            crate::repo_ref::parse_source("hf:acme/bert", None).unwrap(),
            Platform::Ms,
        );
        let e = run(&req, &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert!(e.hint().unwrap().contains("MODELSCOPE_API_TOKEN"));
    }

    #[test]
    fn unreachable_hub_is_a_network_error_naming_the_step() {
        let c = creds(&OFFLINE);
        let req = MigrateRequest::new(
            crate::repo_ref::parse_source("hf:acme/bert", None).unwrap(),
            Platform::Ms,
        );
        let e = run(&req, &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert!(e.to_string().contains("token"), "{e}");
        assert!(!e.to_string().contains("hf_x") && !format!("{e:?}").contains("ms_x"));
    }
}
