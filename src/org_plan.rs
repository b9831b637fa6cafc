//! Organisations, plan → review → apply: a plan file holds one [`PlanLine`] per repository of a
//! source owner (what would happen to it, from a full preflight), and applying it carries out
//! exactly those lines, refusing any whose source moved since it was planned.
//!
//! Actions: `create` (the destination does not exist), `update` (it exists and files differ),
//! `up-to-date` (nothing to move), `conflict` (preflight refused — e.g. a private or gated source
//! and a public destination — or the destination name is taken by an unrelated repository: it
//! exists, has files, and shares none with the source), `skip-space` (ModelScope has no spaces).
//! Only `create` and `update` lines move anything; the others are reported as skipped.
//!
//! A line's source is identified by its commit (`source_sha`, HF) and by a fingerprint of its
//! file listing (`source_fingerprint`, both hubs: ModelScope's commit ids are informational), so
//! a source that changed between plan and apply is noticed on either hub.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::cards::CardChange;
use crate::credentials::Credentials;
use crate::engine::{self, Executed, RunOptions};
use crate::error::{classify, CliError, ExitStatus};
use crate::manifest::{sameness, Manifest, Sameness, PLATFORM_FILES};
use crate::plan::Plan;
use crate::preflight::{preflight, MigrateRequest};
use crate::printer::{human_bytes, human_duration, Printer, Tone};
use crate::repo_outcomes::Outcome;
use crate::repo_ref::{Platform, RefError, RepoRef, RepoType};

/// The plan file format this hubferry writes and reads (`hubferry_plan` of every line).
pub const PLAN_VERSION: u32 = 1;
/// Repositories planned at once (each is one preflight).
const PLAN_CONCURRENCY: usize = 4;

/// What applying a line will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    UpToDate,
    Conflict,
    SkipSpace,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::UpToDate => "up-to-date",
            Action::Conflict => "conflict",
            Action::SkipSpace => "skip-space",
        }
    }

    /// Lines that move files when applied.
    pub fn moves(self) -> bool {
        matches!(self, Action::Create | Action::Update)
    }
}

/// One line of a plan file (`hubferry plan … > plan.jsonl`), docs/schemas/org-plan-line.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanLine {
    /// The plan format version: 1.
    pub hubferry_plan: u32,
    /// `hf:ns/name`, `hf:datasets/ns/name`, … (as `migrate SOURCE` reads it).
    pub source: String,
    pub repo_type: RepoType,
    /// The destination, same form (null for `skip-space`).
    pub dest: Option<String>,
    pub action: Action,
    /// Why a line is a conflict or skipped, with a hint.
    pub reason: Option<String>,
    /// The commit the source's default branch pointed at when planned (null where the hub
    /// gives none).
    pub source_sha: Option<String>,
    /// sha256 over the source's file listing (path, size, content id) when planned.
    pub source_fingerprint: Option<String>,
    /// `public`, `private` or `gated`.
    pub source_visibility: String,
    /// What the destination has (when it exists) or will get: `private` or `public`.
    pub dest_visibility: Option<String>,
    pub dest_exists: bool,
    /// Files and bytes to move.
    pub files: u64,
    pub bytes: u64,
    /// The source's files and bytes.
    pub source_files: u64,
    pub source_bytes: u64,
    /// Estimated seconds (docs/preflight.md, "Chunks and ETA").
    pub eta_s: f64,
    /// Estimated Modal cost in US dollars, by the migrate plan's cost model (0 for the local
    /// backend; null when the repository could not be planned or is skipped).
    pub cost_usd: Option<f64>,
    /// README front-matter fields mapped for the destination hub (null: it moves as it is).
    pub card: Option<Vec<CardChange>>,
}

/// What `hubferry plan` was asked for.
#[derive(Debug, Clone)]
pub struct OrgRequest {
    pub platform: Platform,
    pub owner: String,
    pub to: Platform,
    pub dest_namespace: String,
    /// The repository types to list.
    pub types: Vec<RepoType>,
    /// `--match`: repository names to keep.
    pub name_filter: crate::selection::Selection,
    /// The cost model each line's ETA and cost are estimated under (`apply`'s backend).
    pub sizing: crate::cost::Sizing,
}

fn fingerprint(m: &Manifest) -> String {
    let mut h = sha2::Sha256::new();
    for f in &m.files {
        let id = f
            .sha256
            .map(|s| s.to_hex())
            .or_else(|| f.git_oid.map(|g| g.to_hex()))
            .unwrap_or_default();
        h.update(format!("{}\t{}\t{id}\n", f.path, f.size).as_bytes());
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

fn visibility_word(private: bool, gated: bool) -> &'static str {
    match (private, gated) {
        (true, _) => "private",
        (false, true) => "gated",
        (false, false) => "public",
    }
}

/// A destination that exists with files of which none is the source's: another repository.
fn unrelated(plan: &Plan) -> bool {
    let content = |m: &Manifest| {
        m.files
            .iter()
            .filter(|f| !PLATFORM_FILES.contains(&f.path.as_str()))
            .count()
    };
    if !plan.dest_exists || content(&plan.dest_manifest) == 0 || content(&plan.source_manifest) == 0
    {
        return false;
    }
    !plan.source_manifest.files.iter().any(|s| {
        !PLATFORM_FILES.contains(&s.path.as_str())
            && plan
                .dest_manifest
                .get(&s.path)
                .is_some_and(|d| sameness(s, d) == Sameness::Same)
    })
}

/// The migration of one repository of the plan: the one place a line's hub pair and destination
/// id are checked (when the plan is written, read and applied).
fn request_for(
    source: &RepoRef,
    to: Platform,
    dest_id: &str,
    sizing: crate::cost::Sizing,
) -> Result<MigrateRequest, RefError> {
    if to == source.platform {
        return Err(RefError::SamePlatform {
            input: source.to_string(),
            platform: to.display_name(),
        });
    }
    let mut req = MigrateRequest::new(source.clone(), to);
    req.dest = Some(crate::repo_ref::parse_dest_id(dest_id)?);
    req.sizing = sizing;
    req.repo_type = source.repo_type;
    Ok(req)
}

/// The line for one repository of the owner.
async fn plan_one(
    creds: &Credentials,
    req: &OrgRequest,
    listing: crate::hub::RepoListing,
) -> PlanLine {
    let source = RepoRef {
        platform: req.platform,
        repo_type: Some(listing.repo_type),
        id: listing.id.clone(),
        revision: None,
    };
    let dest = RepoRef {
        platform: req.to,
        repo_type: Some(listing.repo_type),
        id: format!("{}/{}", req.dest_namespace, source.name()),
        revision: None,
    };
    let mut line = PlanLine {
        hubferry_plan: PLAN_VERSION,
        source: source.to_string(),
        repo_type: listing.repo_type,
        dest: Some(dest.to_string()),
        action: Action::Conflict,
        reason: None,
        source_sha: None,
        source_fingerprint: None,
        source_visibility: visibility_word(listing.private, listing.gated).into(),
        dest_visibility: None,
        dest_exists: false,
        files: 0,
        bytes: 0,
        source_files: 0,
        source_bytes: 0,
        eta_s: 0.0,
        cost_usd: None,
        card: None,
    };
    if req.to == Platform::Ms && listing.repo_type == RepoType::Space {
        line.action = Action::SkipSpace;
        line.dest = None;
        line.reason =
            Some("ModelScope has no spaces; migrate the models and datasets it uses".into());
        return line;
    }
    let planned = match request_for(&source, req.to, &dest.id, req.sizing) {
        Ok(request) => preflight(&request, creds).await,
        Err(e) => Err(e.into()),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => {
            line.reason = Some(match e.hint() {
                Some(h) => format!("{e} (hint: {h})"),
                None => e.to_string(),
            });
            return line;
        }
    };
    line.source_sha = plan.source_sha.clone();
    line.source_fingerprint = Some(fingerprint(&plan.source_manifest));
    line.source_visibility = visibility_word(plan.source_private, plan.source_gated).into();
    line.dest_visibility = Some(plan.dest_visibility.as_str().into());
    line.dest_exists = plan.dest_exists;
    line.files = plan.transfer.to_move.len() as u64;
    line.bytes = plan.transfer.bytes_to_move;
    line.source_files = plan.source_manifest.len() as u64;
    line.source_bytes = plan.source_manifest.total_bytes();
    line.eta_s = (plan.transfer.eta_s * 10.0).round() / 10.0;
    line.cost_usd = Some(plan.transfer.estimate.cost_usd);
    line.card = plan
        .card
        .as_ref()
        .filter(|c| !c.at_dest)
        .map(|c| c.changes.clone());
    line.action = if unrelated(&plan) {
        line.reason = Some(format!(
            "{dest} exists and shares no file with {source}: the name is taken by another repository (hint: delete or rename it, or plan with another --dest-namespace)"
        ));
        Action::Conflict
    } else if plan.is_noop() {
        Action::UpToDate
    } else if plan.dest_exists {
        Action::Update
    } else {
        Action::Create
    };
    line
}

/// Lists the owner's repositories and plans each (a few at a time); lines in type, then name order.
pub async fn plan_org(creds: Arc<Credentials>, req: OrgRequest) -> anyhow::Result<Vec<PlanLine>> {
    let hubs = crate::hub::Hubs::new(&creds);
    let mut listings = Vec::new();
    for &t in &req.types {
        let found = hubs
            .list_repos(req.platform, t, &req.owner)
            .await
            .map_err(|e| {
                CliError::new(
                    ExitStatus::Failure,
                    format!(
                        "listing the {} of {}:{}: {e}",
                        t.plural(),
                        req.platform.as_str(),
                        req.owner
                    ),
                )
                .with_hint("check the owner's name and connectivity (`hubferry doctor`)")
            })?;
        listings.extend(found.into_iter().filter(|l| {
            let name = l.id.rsplit('/').next().unwrap_or_default();
            req.name_filter.matches(name)
        }));
    }
    let order = |t: RepoType| match t {
        RepoType::Model => 0,
        RepoType::Dataset => 1,
        RepoType::Space => 2,
    };
    listings.sort_by(|a, b| {
        (order(a.repo_type), a.id.to_lowercase()).cmp(&(order(b.repo_type), b.id.to_lowercase()))
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(PLAN_CONCURRENCY));
    let req = Arc::new(req);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, listing) in listings.into_iter().enumerate() {
        let (creds, req, permits) = (creds.clone(), req.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, plan_one(&creds, &req, listing).await)
        });
    }
    let mut lines = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        lines.push(joined.map_err(|e| anyhow::anyhow!("a planning task failed: {e}"))?);
    }
    lines.sort_by_key(|(i, _)| *i);
    Ok(lines.into_iter().map(|(_, l)| l).collect())
}

/// Reads a plan file: every line must parse and carry [`PLAN_VERSION`] (bad input otherwise,
/// before anything moves).
pub fn read_plan(path: &std::path::Path) -> anyhow::Result<Vec<PlanLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::bad_input(format!("reading the plan file {}: {e}", path.display()))
            .with_hint("pass the file `hubferry plan … > plan.jsonl` wrote")
    })?;
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), n + 1);
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
            CliError::bad_input(format!("{at}: not a JSON line: {e}")).with_hint(
                "the plan file holds one JSON object per line, as `hubferry plan` writes it",
            )
        })?;
        let version = value.get("hubferry_plan").and_then(|v| v.as_u64());
        if version != Some(u64::from(PLAN_VERSION)) {
            return Err(CliError::bad_input(format!(
                "{at}: plan format version {} is not one this hubferry reads ({PLAN_VERSION})",
                version.map_or("(missing)".to_string(), |v| v.to_string())
            ))
            .with_hint("write the plan again with this hubferry: `hubferry plan …`")
            .into());
        }
        let line: PlanLine = serde_json::from_value(value).map_err(|e| {
            CliError::bad_input(format!("{at}: {e}"))
                .with_hint("write the plan again with `hubferry plan …` rather than editing it")
        })?;
        if line.action.moves() {
            let (Some(dest), Ok(source)) = (
                line.dest.as_deref(),
                crate::repo_ref::parse_source(&line.source, None),
            ) else {
                return Err(CliError::bad_input(format!(
                    "{at}: a `{}` line needs a valid source and dest",
                    line.action.as_str()
                ))
                .into());
            };
            let dest = crate::repo_ref::parse_source(dest, None)?;
            request_for(
                &source,
                dest.platform,
                &dest.id,
                crate::cost::Sizing::default(),
            )?;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(
            CliError::bad_input(format!("{}: no plan lines", path.display()))
                .with_hint("`hubferry plan OWNER --to …` found no repositories, or wrote elsewhere")
                .into(),
        );
    }
    Ok(lines)
}

fn outcome_of(line: &PlanLine, status: &str, exit: ExitStatus, error: Option<String>) -> Outcome {
    Outcome {
        source: line.source.clone(),
        dest: line.dest.clone().unwrap_or_default(),
        status: status.into(),
        exit_code: exit.code(),
        verified: false,
        totals: Default::default(),
        duration_s: 0.0,
        dest_url: None,
        error,
    }
}

/// A line left alone because the user interrupted the apply before its turn.
pub fn not_started(line: &PlanLine) -> Outcome {
    outcome_of(
        line,
        "not_started",
        ExitStatus::Interrupted,
        Some("interrupted before it started".into()),
    )
}

/// Carries out one line: skipped unless it moves; otherwise preflight again, refuse when the
/// source moved since planning, then run it like one repository of a batch.
pub async fn apply_line(
    p: &Printer,
    creds: &Credentials,
    opts: &RunOptions,
    index: usize,
    line: &PlanLine,
) -> Outcome {
    if !line.action.moves() {
        let why = match line.action {
            Action::UpToDate => None,
            _ => line
                .reason
                .clone()
                .map(|r| format!("{} in the plan: {r}", line.action.as_str())),
        };
        return outcome_of(line, "skipped", ExitStatus::Success, why);
    }
    let fail = |err: anyhow::Error| {
        let (status, hint) = classify(&err);
        let mut msg = format!("{err:#}");
        if let Some(hint) = hint {
            msg.push_str(&format!(" (hint: {hint})"));
        }
        p.warn(&format!("{}: {msg}", line.source));
        outcome_of(line, "error", status, Some(msg))
    };
    let (source, dest) = match (
        crate::repo_ref::parse_source(&line.source, None),
        crate::repo_ref::parse_source(line.dest.as_deref().unwrap_or(""), None),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => return fail(e.into()),
    };
    let source = RepoRef {
        repo_type: Some(line.repo_type),
        ..source
    };
    let req = match request_for(
        &source,
        dest.platform,
        &dest.id,
        crate::cost::Sizing::default(),
    ) {
        Ok(req) => req,
        Err(e) => return fail(e.into()),
    };
    let _lock = match crate::lock::unless_dry_run(opts.state_flag.clone(), p, &req, false).await {
        Ok(lock) => lock,
        Err(err) => return fail(err),
    };
    let plan = match preflight(&req, creds).await {
        Ok(plan) => plan,
        Err(err) => return fail(err.into()),
    };
    let sha_moved = line.source_sha.is_some() && plan.source_sha != line.source_sha;
    let listing_moved = line
        .source_fingerprint
        .as_ref()
        .is_some_and(|f| *f != fingerprint(&plan.source_manifest));
    if sha_moved || listing_moved {
        let now = plan.source_sha.as_deref().unwrap_or("its files changed");
        let was = line.source_sha.as_deref().unwrap_or("the planned listing");
        return fail(
            CliError::new(
                ExitStatus::Failure,
                format!("{source} moved since it was planned ({was} → {now}); refusing to apply a stale line"),
            )
            .with_hint("review the change and write the plan again: `hubferry plan …`")
            .into(),
        );
    }
    let mut outcome = outcome_of(line, "error", ExitStatus::Failure, None);
    outcome.source = plan.source.describe();
    outcome.dest = plan.dest.describe();
    outcome.dest_url = Some(plan.dest_url.clone());
    match engine::execute(p, &plan, creds, opts, &format!("r{index}")).await {
        Ok(Executed::Report(report)) | Ok(Executed::Interrupted(report)) => {
            report.print(p);
            outcome.record(&report);
            outcome
        }
        Ok(Executed::Detached { .. }) => outcome,
        Err(err) => fail(err),
    }
}

/// Applies every line, `jobs` at a time, with one overall progress line as repositories finish;
/// outcomes in plan order.
pub async fn apply_all(
    p: &Printer,
    creds: Arc<Credentials>,
    opts: RunOptions,
    lines: Vec<PlanLine>,
    jobs: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let total = lines.len();
    let planned_bytes: u64 = lines
        .iter()
        .filter(|l| l.action.moves())
        .map(|l| l.bytes)
        .sum();
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs));
    let across = Arc::new(crate::across_repos::AcrossRepos::new(
        p,
        total,
        planned_bytes,
    ));
    let opts = Arc::new(RunOptions {
        across: Some(across.clone()),
        ..opts
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, line) in lines.into_iter().enumerate() {
        let (p, creds, opts, permits) = (p.clone(), creds.clone(), opts.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            if crate::interrupt::interrupted() {
                return (i, not_started(&line));
            }
            (i, apply_line(&p, &creds, &opts, i, &line).await)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, o) = joined.map_err(|e| anyhow::anyhow!("an apply task failed: {e}"))?;
        across.repo_done(o.exit_code != 0);
        outcomes.push((i, o));
    }
    across.finish();
    outcomes.sort_by_key(|(i, _)| *i);
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}

/// The plan as a table for review: one row per repository, its card diff and reason under it.
pub fn plan_table(p: &Printer, lines: &[PlanLine]) -> String {
    let dest = |l: &PlanLine| l.dest.clone().unwrap_or_else(|| "-".into());
    let src_w = lines
        .iter()
        .map(|l| l.source.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let dest_w = lines
        .iter()
        .map(|l| dest(l).len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = vec![format!(
        "{:<10} {:<src_w$} {:<dest_w$} {:<18} {:>6} {:>10} {:>8}",
        "ACTION", "SOURCE", "DEST", "VISIBILITY", "FILES", "BYTES", "ETA"
    )];
    for l in lines {
        let tone = match l.action {
            Action::Create | Action::Update => Tone::Bold,
            Action::UpToDate | Action::SkipSpace => Tone::Dim,
            Action::Conflict => Tone::Bad,
        };
        let word = l.action.as_str();
        let pad = 10usize.saturating_sub(word.len());
        let vis = format!(
            "{} → {}",
            l.source_visibility,
            l.dest_visibility.as_deref().unwrap_or("-")
        );
        let moves = l.action.moves();
        out.push(format!(
            "{}{} {:<src_w$} {:<dest_w$} {vis:<18} {:>6} {:>10} {:>8}",
            p.paint(word, tone),
            " ".repeat(pad),
            l.source,
            dest(l),
            if moves {
                l.files.to_string()
            } else {
                "-".into()
            },
            if moves {
                human_bytes(l.bytes)
            } else {
                "-".into()
            },
            if moves {
                human_duration(l.eta_s)
            } else {
                "-".into()
            },
        ));
        if let Some(card) = &l.card {
            out.push("    card README.md:".into());
            out.extend(
                crate::cards::diff_lines(card)
                    .into_iter()
                    .map(|d| format!("      {d}")),
            );
        }
        if let Some(r) = &l.reason {
            out.push(format!("    {r}"));
        }
    }
    let count = |a: Action| lines.iter().filter(|l| l.action == a).count();
    let bytes: u64 = lines
        .iter()
        .filter(|l| l.action.moves())
        .map(|l| l.bytes)
        .sum();
    out.push(format!(
        "{} repositories: {} create, {} update, {} up-to-date, {} conflict, {} skip-space; {} to move",
        lines.len(),
        count(Action::Create),
        count(Action::Update),
        count(Action::UpToDate),
        count(Action::Conflict),
        count(Action::SkipSpace),
        human_bytes(bytes)
    ));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(action: Action) -> PlanLine {
        PlanLine {
            hubferry_plan: PLAN_VERSION,
            source: "hf:acme/a".into(),
            repo_type: RepoType::Model,
            dest: Some("ms:acme-org/a".into()),
            action,
            reason: None,
            source_sha: Some("abc".into()),
            source_fingerprint: Some("f".into()),
            source_visibility: "public".into(),
            dest_visibility: Some("public".into()),
            dest_exists: false,
            files: 1,
            bytes: 10,
            source_files: 1,
            source_bytes: 10,
            eta_s: 15.0,
            cost_usd: None,
            card: None,
        }
    }

    #[test]
    fn plan_files_round_trip_and_refuse_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.jsonl");
        let good = serde_json::to_string(&line(Action::Create)).unwrap();
        std::fs::write(&path, format!("{good}\n\n")).unwrap();
        assert_eq!(read_plan(&path).unwrap(), vec![line(Action::Create)]);
        for (text, says) in [
            ("{not json".to_string(), ":2: not a JSON line"),
            (
                good.replace("\"hubferry_plan\":1", "\"hubferry_plan\":9"),
                "version 9",
            ),
            (good.replace("\"hubferry_plan\":1,", ""), "(missing)"),
            (good.replace("\"create\"", "\"explode\""), "unknown variant"),
            (
                good.replace("\"files\":1", "\"files\":1,\"extra\":2"),
                "unknown field",
            ),
        ] {
            std::fs::write(&path, format!("{good}\n{text}\n")).unwrap();
            let err = read_plan(&path).unwrap_err();
            assert!(format!("{err:#}").contains(says), "{says}: {err:#}");
            assert_eq!(classify(&err).0, ExitStatus::BadInput);
        }
    }
}
