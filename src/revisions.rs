//! `--revisions all|LIST`: mirror branches and tags, not only the default branch (`migrate`, and
//! `sync` mirrors). docs/mirrors.md, "Branches and tags", says what crosses and what does not.
//!
//! Refs are created by hubferry itself over the hubs' HTTP APIs, after the worker has moved the
//! files (the worker only ever writes commits): a branch or tag is one small request, needs no
//! bytes, and often no worker at all (a new tag on an unchanged branch), so starting a container
//! for it would cost a cold start for nothing.
//!
//! Steps, in order (each an ordinary incremental migration with its preflight, worker and
//! verification, so an unchanged ref starts no worker and makes no commit):
//! 1. **tags to build**: a selected tag missing at the destination whose commit is no selected
//!    branch's head needs a destination commit with the same files. It is built on the
//!    destination's default branch (the source tag's files, exactly: destination files it lacks
//!    are deleted in that commit), then tagged. Oldest first by name; the default branch gets its
//!    own files back in step 2. On a first mirror the default branch's history then reads
//!    `v1 → v2 → v3 → head`.
//! 2. **branches**: the source's default branch onto the destination's (HF `main` ↔ ModelScope
//!    `master`), then every other selected branch onto its namesake, exactly (files the source
//!    branch lacks are deleted there). A missing HF branch is created from the destination's
//!    default head first; ModelScope's API cannot create one (warning, skipped; its tags are then
//!    built on the default branch like those of step 1).
//! 3. **tags at branch heads**: tagged at that destination branch's head after step 2.
//!
//! Deleting needs consent ([`crate::consent`]): before step 1 the steps' preflights count the files
//! on each destination branch that a step would delete ([`deletions`]); any such file, and the
//! run stops unless the caller's consent is given or a terminal answers yes.
//!
//! A tag that already exists at the destination is left alone, unless hubferry made it from an
//! earlier commit of the source's tag (the trailer of its commit says so, [`moved_tags`]): the tag
//! moved at the source, and on HF it is deleted and created again where the source's now points;
//! ModelScope cannot move or delete a tag, so there it is skipped with a warning and a hint.

use std::fmt;

use serde::Serialize;

use crate::consent::Consent;
use crate::credentials::Credentials;
use crate::engine::{self, Executed, RunOptions};
use crate::error::{hub_error, CliError, ExitStatus};
use crate::hub::refs::RefList;
use crate::hub::Hubs;
use crate::preflight::{preflight, MigrateRequest};
use crate::printer::{human_bytes, Printer, Tone};
use crate::repo_ref::{Platform, RepoRef};
use crate::report::Report;

/// Which refs to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionSet {
    /// Every branch and tag of the source.
    All,
    /// These branch or tag names (the default branch is always mirrored: tags are built on it).
    Only(Vec<String>),
}

impl RevisionSet {
    /// `all`, or a comma-separated list of branch and tag names.
    pub fn parse(s: &str) -> Result<Self, CliError> {
        let s = s.trim();
        if s == "all" {
            return Ok(RevisionSet::All);
        }
        let names: Vec<String> = s
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(
                CliError::bad_input(format!("--revisions `{s}`: no revision named"))
                    .with_hint("pass `all`, or branch and tag names separated by commas"),
            );
        }
        Ok(RevisionSet::Only(names))
    }

    fn wants(&self, name: &str) -> bool {
        match self {
            RevisionSet::All => true,
            RevisionSet::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

impl fmt::Display for RevisionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevisionSet::All => f.write_str("all"),
            RevisionSet::Only(names) => f.write_str(&names.join(",")),
        }
    }
}

/// Branch or tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    Branch,
    Tag,
}

/// What is to happen (dry run) or happened to one ref.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RefOutcome {
    pub kind: RefKind,
    /// The source's name for it.
    pub name: String,
    /// The destination's name (a default branch maps to the other hub's default).
    pub dest_name: String,
    /// `updated`, `current`, `created`, `moved` (a tag re-created where the source's now points),
    /// `exists`, `skipped`, `failed` (`would update`, `would create`, `would move` in a dry run).
    pub action: String,
    pub source_commit: Option<String>,
    /// The destination commit it points at afterwards (when known).
    pub dest_commit: Option<String>,
    pub files_moved: u64,
    pub bytes_moved: u64,
    /// Why it was skipped or failed, or how a tag was made.
    pub detail: Option<String>,
}

/// All refs of one run, the migration reports of its steps and the overall exit status.
pub struct RevisionsRun {
    pub refs: Vec<RefOutcome>,
    pub reports: Vec<Report>,
    pub exit: ExitStatus,
    /// The run was interrupted (Ctrl-C): the remaining steps did not run.
    pub interrupted: bool,
}

impl RevisionsRun {
    /// Files moved by all steps.
    pub fn files_moved(&self) -> u64 {
        self.refs.iter().map(|r| r.files_moved).sum()
    }

    /// The `{"type": "revisions"}` object (docs/schemas/revisions.json).
    pub fn json(&self, source: &RepoRef, dest: &RepoRef) -> crate::schemas::RevisionsObject {
        crate::schemas::RevisionsObject {
            kind: crate::schemas::RevisionsKind::Revisions,
            source: source.to_string(),
            dest: dest.to_string(),
            exit_code: self.exit.code(),
            refs: self.refs.clone(),
            mirror: None,
            changed: None,
        }
    }

    /// One line per ref, under a heading.
    pub fn print(&self, p: &Printer, source: &RepoRef, dest: &RepoRef) {
        let branches = self
            .refs
            .iter()
            .filter(|r| r.kind == RefKind::Branch)
            .count();
        let mut lines = vec![format!(
            "{} {source} → {dest}: {branches} branch{}, {} tag{}",
            p.paint(
                "revisions",
                if self.exit == ExitStatus::Success {
                    Tone::Good
                } else {
                    Tone::Bad
                }
            ),
            if branches == 1 { "" } else { "es" },
            self.refs.len() - branches,
            if self.refs.len() - branches == 1 {
                ""
            } else {
                "s"
            },
        )];
        let label = |r: &RefOutcome| {
            if r.dest_name != r.name {
                format!("{} → {}", r.name, r.dest_name)
            } else {
                r.name.clone()
            }
        };
        let width = self
            .refs
            .iter()
            .map(|r| label(r).chars().count())
            .max()
            .unwrap_or(0);
        for r in &self.refs {
            let kind = match r.kind {
                RefKind::Branch => "branch",
                RefKind::Tag => "tag   ",
            };
            let mut line = format!("  {kind} {:width$}  {}", label(r), r.action);
            if r.files_moved > 0 {
                line.push_str(&format!(
                    ", {} file{} ({})",
                    r.files_moved,
                    if r.files_moved == 1 { "" } else { "s" },
                    human_bytes(r.bytes_moved)
                ));
            }
            if let Some(d) = &r.detail {
                line.push_str(&format!(" ({d})"));
            }
            lines.push(line);
        }
        p.out(&lines.join("\n"));
    }
}

/// A tag and the branch whose head it points at, if any.
struct TagStep {
    name: String,
    commit: Option<String>,
    at_branch: Option<String>,
    /// The destination has the tag at what the source's tag pointed at before it moved: deleted,
    /// then created anew (HF only).
    replace: bool,
}

/// Branches and tags to mirror, from the two ref lists.
struct RefPlan {
    /// (source name, destination name, source commit), the default branch first.
    branches: Vec<(String, String, Option<String>)>,
    /// Tags missing at the destination.
    tags: Vec<TagStep>,
    /// Tags the destination has already.
    existing_tags: Vec<(String, Option<String>, Option<String>)>,
}

/// `moved`: the destination tags that mirror an earlier commit of the source's tag of that name
/// ([`moved_tags`]).
fn plan_refs(
    set: &RevisionSet,
    source: &RepoRef,
    dest: &RepoRef,
    src_refs: &RefList,
    dest_refs: &RefList,
    moved: &[String],
) -> Result<(RefPlan, Vec<RefOutcome>), CliError> {
    if let RevisionSet::Only(names) = set {
        for n in names {
            if src_refs.branch(n).is_none() && src_refs.tag(n).is_none() {
                let known: Vec<&str> = src_refs
                    .branches
                    .iter()
                    .chain(&src_refs.tags)
                    .map(|r| r.name.as_str())
                    .collect();
                return Err(CliError::bad_input(format!(
                    "--revisions: {source} has no branch or tag `{n}`"
                ))
                .with_hint(format!("its branches and tags: {}", known.join(", "))));
            }
        }
    }
    let src_default = source.platform.default_revision();
    let dest_default = dest.platform.default_revision();
    let mut skipped = Vec::new();
    let mut branches = Vec::new();
    if let Some(b) = src_refs.branch(src_default) {
        branches.push((b.name.clone(), dest_default.to_string(), b.commit.clone()));
    }
    for b in &src_refs.branches {
        if b.name == src_default || !set.wants(&b.name) {
            continue;
        }
        if b.name == dest_default {
            // e.g. an HF branch `master` next to `main`: ModelScope's `master` is the mirror of
            // `main`, so this one has no place to go.
            skipped.push(skip(
                RefKind::Branch,
                &b.name,
                b.commit.clone(),
                format!(
                    "the destination's default branch `{dest_default}` mirrors `{src_default}`"
                ),
            ));
            continue;
        }
        if dest_refs.branch(&b.name).is_none() {
            if let Some(why) = cannot_create_branch(dest.platform, &b.name) {
                skipped.push(skip(RefKind::Branch, &b.name, b.commit.clone(), why));
                continue;
            }
        }
        branches.push((b.name.clone(), b.name.clone(), b.commit.clone()));
    }
    let mut tags = Vec::new();
    let mut existing_tags = Vec::new();
    for t in &src_refs.tags {
        if !set.wants(&t.name) {
            continue;
        }
        let replace = moved.contains(&t.name);
        if replace && dest.platform == Platform::Ms {
            skipped.push(skip(
                RefKind::Tag,
                &t.name,
                t.commit.clone(),
                format!(
                    "it moved at the source, and ModelScope's API cannot move or delete a tag; delete `{}` there (git push --delete, or the web console) and run again to recreate it",
                    t.name
                ),
            ));
            continue;
        }
        if let (Some(d), false) = (dest_refs.tag(&t.name), replace) {
            existing_tags.push((t.name.clone(), t.commit.clone(), d.commit.clone()));
            continue;
        }
        let at_branch = t.commit.as_ref().and_then(|c| {
            branches
                .iter()
                .find(|(_, _, head)| head.as_ref() == Some(c))
                .map(|(_, dest_name, _)| dest_name.clone())
        });
        tags.push(TagStep {
            name: t.name.clone(),
            commit: t.commit.clone(),
            at_branch,
            replace,
        });
    }
    Ok((
        RefPlan {
            branches,
            tags,
            existing_tags,
        },
        skipped,
    ))
}

fn skip(kind: RefKind, name: &str, commit: Option<String>, why: String) -> RefOutcome {
    RefOutcome {
        kind,
        name: name.to_string(),
        dest_name: name.to_string(),
        action: "skipped".into(),
        source_commit: commit,
        dest_commit: None,
        files_moved: 0,
        bytes_moved: 0,
        detail: Some(why),
    }
}

/// Tags at the destination that hubferry made from an earlier commit of the source's tag of the
/// same name: the trailer of the commit the destination tag points at names the source and a
/// commit other than where the source's tag points now (deleted and re-created there). A tag
/// whose commit names no such trailer was not made by hubferry from this source, and is left
/// alone.
async fn moved_tags(
    hubs: &Hubs,
    set: &RevisionSet,
    source: &RepoRef,
    dest: &RepoRef,
    src_refs: &RefList,
    dest_refs: &RefList,
) -> anyhow::Result<Vec<String>> {
    let t = dest.repo_type_or_model();
    let mut moved = Vec::new();
    for tag in src_refs.tags.iter().filter(|tag| set.wants(&tag.name)) {
        let Some(now) = &tag.commit else {
            continue;
        };
        if dest_refs.tag(&tag.name).is_none() {
            continue;
        }
        let last = hubs
            .last_commit(dest.platform, t, &dest.id, &tag.name)
            .await
            .map_err(|e| hub_error(&format!("reading tag {} of", tag.name), dest, e))?;
        let mirrored = last
            .as_ref()
            .and_then(|c| crate::provenance::parse_trailer(&c.message));
        if let Some((from, commit)) = mirrored {
            if from.platform == source.platform && from.id == source.id && &commit != now {
                moved.push(tag.name.clone());
            }
        }
    }
    Ok(moved)
}

/// The source and destination (types resolved) of `req`, through a preflight of its default
/// branch (reads only).
/// Without their revisions: refs are named one by one.
async fn resolve(req: &MigrateRequest, creds: &Credentials) -> anyhow::Result<(RepoRef, RepoRef)> {
    let mut base = req.clone();
    base.revision = None;
    base.dest_revision = None;
    let plan = preflight(&base, creds).await?;
    let bare = |r: RepoRef| RepoRef {
        revision: None,
        ..r
    };
    Ok((bare(plan.source), bare(plan.dest)))
}

async fn ref_lists(
    hubs: &Hubs,
    source: &RepoRef,
    dest: &RepoRef,
) -> anyhow::Result<(RefList, RefList)> {
    let t = source.repo_type_or_model();
    let src_refs = hubs
        .refs(source.platform, t, &source.id)
        .await
        .map_err(|e| hub_error("listing the branches and tags of", source, e))?;
    let dest_refs = match hubs.refs(dest.platform, t, &dest.id).await {
        Ok(r) => r,
        Err(e) if e.kind == crate::hub::HubErrorKind::NotFound => RefList::default(),
        Err(e) => return Err(hub_error("listing the branches and tags of", dest, e)),
    };
    Ok((src_refs, dest_refs))
}

/// What `--revisions` would do, from reads only: every branch's preflight (files to move) and
/// the tags to create.
pub async fn dry_run(
    creds: &Credentials,
    req: &MigrateRequest,
    set: &RevisionSet,
) -> anyhow::Result<(RepoRef, RepoRef, RevisionsRun)> {
    let (source, dest) = resolve(req, creds).await?;
    let hubs = Hubs::new(creds);
    let (src_refs, dest_refs) = ref_lists(&hubs, &source, &dest).await?;
    let moved_at_source = moved_tags(&hubs, set, &source, &dest, &src_refs, &dest_refs).await?;
    let (plan, mut refs) = plan_refs(set, &source, &dest, &src_refs, &dest_refs, &moved_at_source)?;
    let dest_default = dest.platform.default_revision();
    for (name, dest_name, commit) in &plan.branches {
        let exists = dest_refs.branch(dest_name).is_some();
        let mut outcome = RefOutcome {
            kind: RefKind::Branch,
            name: name.clone(),
            dest_name: dest_name.clone(),
            action: String::new(),
            source_commit: commit.clone(),
            dest_commit: dest_refs.branch(dest_name).and_then(|b| b.commit.clone()),
            files_moved: 0,
            bytes_moved: 0,
            detail: None,
        };
        if !exists && dest_name != dest_default {
            outcome.action = "would create".into();
        }
        let plan = preflight(&step_request(req, name, dest_name, dest_default), creds).await?;
        if outcome.action.is_empty() {
            outcome.action = if plan.is_noop() {
                "current".into()
            } else {
                "would update".into()
            };
        }
        outcome.files_moved = plan.transfer.to_move.len() as u64;
        outcome.bytes_moved = plan.transfer.bytes_to_move;
        let n = plan.transfer.to_delete.len();
        if n > 0 {
            outcome.detail = Some(format!("{n} file(s) to delete"));
        }
        refs.push(outcome);
    }
    refs.extend(tag_outcomes(&plan, dest_default, true));
    Ok((
        source,
        dest,
        RevisionsRun {
            refs,
            reports: Vec::new(),
            exit: ExitStatus::Success,
            interrupted: false,
        },
    ))
}

fn tag_outcomes(plan: &RefPlan, dest_default: &str, dry_run: bool) -> Vec<RefOutcome> {
    let mut out = Vec::new();
    if dry_run {
        for t in &plan.tags {
            out.push(RefOutcome {
                kind: RefKind::Tag,
                name: t.name.clone(),
                dest_name: t.name.clone(),
                action: if t.replace {
                    "would move".into()
                } else {
                    "would create".into()
                },
                source_commit: t.commit.clone(),
                dest_commit: None,
                files_moved: 0,
                bytes_moved: 0,
                detail: Some(match &t.at_branch {
                    Some(b) => format!("at the head of {b}"),
                    None => format!("its files committed on {dest_default} first"),
                }),
            });
        }
    }
    for (name, src, dest) in &plan.existing_tags {
        out.push(RefOutcome {
            kind: RefKind::Tag,
            name: name.clone(),
            dest_name: name.clone(),
            action: "exists".into(),
            source_commit: src.clone(),
            dest_commit: dest.clone(),
            files_moved: 0,
            bytes_moved: 0,
            detail: None,
        });
    }
    out
}

/// Files on each existing destination branch that some step would delete, `(branch, count)`,
/// from the preflights of the steps (reads only). A file there before the run is deleted only by
/// a step whose source lacks it, and each such step's preflight against the destination as it
/// is now lists it; what a tag built on the default branch adds and the branch's own step then
/// removes again was put there by this run, and is not counted.
async fn deletions(
    creds: &Credentials,
    req: &MigrateRequest,
    plan: &RefPlan,
    dest_refs: &RefList,
    dest_default: &str,
) -> anyhow::Result<Vec<(String, usize)>> {
    let mut doomed: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> =
        Default::default();
    if dest_refs.branch(dest_default).is_some() {
        for tag in plan.tags.iter().filter(|t| t.at_branch.is_none()) {
            let r = step_request(req, &tag.name, dest_default, dest_default);
            let plan = preflight(&r, creds).await?;
            doomed
                .entry(dest_default)
                .or_default()
                .extend(plan.files_to_delete().map(|f| f.path.clone()));
        }
    }
    for (name, dest_name, _) in &plan.branches {
        if dest_refs.branch(dest_name).is_none() {
            continue;
        }
        let plan = preflight(&step_request(req, name, dest_name, dest_default), creds).await?;
        doomed
            .entry(dest_name)
            .or_default()
            .extend(plan.files_to_delete().map(|f| f.path.clone()));
    }
    Ok(doomed
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(b, files)| (b.to_string(), files.len()))
        .collect())
}

/// Why `platform` cannot get branch `name` through its API, if it cannot.
fn cannot_create_branch(platform: Platform, name: &str) -> Option<String> {
    (platform == Platform::Ms).then(|| {
        format!(
            "ModelScope's API cannot create branches; create `{name}` there (git push, or the web console) and run again"
        )
    })
}

/// The request of one step: `source_rev` onto destination branch `dest_branch`, exactly: files
/// the source ref lacks are deleted there (what gives a tag's commit the same files; and the
/// default branch gets rid of what a tag built on it left).
fn step_request(
    req: &MigrateRequest,
    source_rev: &str,
    dest_branch: &str,
    dest_default: &str,
) -> MigrateRequest {
    let mut r = req.clone();
    r.revision = Some(source_rev.to_string());
    r.dest_revision = (dest_branch != dest_default).then(|| dest_branch.to_string());
    r.delete = true;
    r
}

/// One migration step: preflight, then the engine (no worker when nothing moves).
async fn step(
    p: &Printer,
    creds: &Credentials,
    req: &MigrateRequest,
    opts: &RunOptions,
    job_prefix: &str,
) -> anyhow::Result<Option<Report>> {
    let plan = preflight(req, creds).await?;
    engine::print_plan(p, &plan, false);
    // In JSON mode the `revisions` object is the result; each step's report stays human-only.
    let print = |report: &Report| {
        if !p.json_mode() {
            report.print(p);
        }
    };
    match engine::execute(p, &plan, creds, opts, job_prefix).await? {
        Executed::Report(report) => {
            print(&report);
            Ok(Some(report))
        }
        Executed::Interrupted(report) => {
            print(&report);
            Ok(None)
        }
        Executed::Detached { .. } => Err(CliError::bad_input("--revisions does not run detached")
            .with_hint("drop --detach")
            .into()),
    }
}

/// Runs every step (module docs) and returns what happened to each ref.
pub async fn run(
    p: &Printer,
    creds: &Credentials,
    req: &MigrateRequest,
    set: &RevisionSet,
    consent: &Consent,
    opts: &RunOptions,
    job_prefix: &str,
) -> anyhow::Result<(RepoRef, RepoRef, RevisionsRun)> {
    if opts.detach {
        return Err(CliError::bad_input("--revisions does not run detached")
            .with_hint("drop --detach")
            .into());
    }
    let (source, dest) = resolve(req, creds).await?;
    let hubs = Hubs::new(creds);
    let (src_refs, dest_refs) = ref_lists(&hubs, &source, &dest).await?;
    let moved_at_source = moved_tags(&hubs, set, &source, &dest, &src_refs, &dest_refs).await?;
    let (plan, mut refs) = plan_refs(set, &source, &dest, &src_refs, &dest_refs, &moved_at_source)?;
    for r in &refs {
        p.warn(&format!(
            "{} {} not mirrored: {}",
            if r.kind == RefKind::Branch {
                "branch"
            } else {
                "tag"
            },
            r.name,
            r.detail.as_deref().unwrap_or_default()
        ));
    }
    let dest_default = dest.platform.default_revision();
    let doomed = deletions(creds, req, &plan, &dest_refs, dest_default).await?;
    if !doomed.is_empty() {
        let n = doomed.iter().map(|(_, n)| n).sum();
        let per_branch: Vec<String> = doomed.iter().map(|(b, n)| format!("{b}: {n}")).collect();
        consent.deletions(n, &format!("{dest} ({})", per_branch.join(", ")))?;
    }
    let t = source.repo_type_or_model();
    let mut reports = Vec::new();
    let mut n = 0;
    let mut next_prefix = || {
        n += 1;
        format!("{job_prefix}v{n}")
    };
    let head_of = |branch: String| {
        let hubs = hubs.clone();
        let dest = dest.clone();
        async move {
            hubs.last_commit(dest.platform, t, &dest.id, &branch)
                .await
                .map(|c| c.map(|c| c.id))
                .map_err(|e| hub_error("reading the head of", &dest, e))
        }
    };
    let mut interrupted = false;

    // 1. Tags whose files no destination branch will hold: built on the default branch.
    for tag in plan.tags.iter().filter(|t| t.at_branch.is_none()) {
        let r = step_request(req, &tag.name, dest_default, dest_default);
        let Some(report) = step(p, creds, &r, opts, &next_prefix()).await? else {
            interrupted = true;
            break;
        };
        let ok = report.exit_status() == ExitStatus::Success;
        let mut outcome = moved(
            RefKind::Tag,
            &tag.name,
            &tag.name,
            tag.commit.clone(),
            &report,
        );
        if ok {
            let at = head_of(dest_default.to_string()).await?;
            outcome = tag_at(&hubs, &dest, &source, tag, at, outcome).await;
            outcome.detail = Some(format!("its files committed on {dest_default}"));
        } else {
            outcome.action = "failed".into();
        }
        reports.push(report);
        refs.push(outcome);
    }

    // 2. Branches, the default first.
    if !interrupted {
        for (name, dest_name, commit) in &plan.branches {
            let exists = dest_refs.branch(dest_name).is_some();
            let mut created = false;
            if !exists && dest_name != dest_default {
                let Some(start) = head_of(dest_default.to_string()).await? else {
                    refs.push(skip(
                        RefKind::Branch,
                        name,
                        commit.clone(),
                        format!("{dest} has no commit on {dest_default} to start it from"),
                    ));
                    continue;
                };
                hubs.create_branch(dest.platform, t, &dest.id, dest_name, &start)
                    .await
                    .map_err(|e| hub_error(&format!("creating branch {dest_name} on"), &dest, e))?;
                created = true;
            }
            let r = step_request(req, name, dest_name, dest_default);
            let Some(report) = step(p, creds, &r, opts, &next_prefix()).await? else {
                interrupted = true;
                break;
            };
            let mut outcome = moved(RefKind::Branch, name, dest_name, commit.clone(), &report);
            if report.exit_status() != ExitStatus::Success {
                outcome.action = "failed".into();
            } else if created {
                outcome.action = "created".into();
            }
            outcome.dest_commit = head_of(dest_name.clone()).await?;
            reports.push(report);
            refs.push(outcome);
        }
    }

    // 3. Tags at a branch head: tagged where that branch now points at the destination.
    if !interrupted {
        for tag in plan.tags.iter() {
            let Some(branch) = &tag.at_branch else {
                continue;
            };
            let branch_ok = refs.iter().any(|r| {
                r.kind == RefKind::Branch
                    && &r.dest_name == branch
                    && r.action != "failed"
                    && r.action != "skipped"
            });
            let outcome = RefOutcome {
                kind: RefKind::Tag,
                name: tag.name.clone(),
                dest_name: tag.name.clone(),
                action: String::new(),
                source_commit: tag.commit.clone(),
                dest_commit: None,
                files_moved: 0,
                bytes_moved: 0,
                detail: Some(format!("at the head of {branch}")),
            };
            if !branch_ok {
                refs.push(RefOutcome {
                    action: "skipped".into(),
                    detail: Some(format!("branch {branch} was not mirrored")),
                    ..outcome
                });
                continue;
            }
            let at = head_of(branch.clone()).await?;
            refs.push(tag_at(&hubs, &dest, &source, tag, at, outcome).await);
        }
    }
    refs.extend(tag_outcomes(&plan, dest_default, false));
    let exit = crate::error::overall(refs.iter().map(|r| match r.action.as_str() {
        "failed" => ExitStatus::Failure,
        _ => ExitStatus::Success,
    }));
    Ok((
        source,
        dest,
        RevisionsRun {
            refs,
            reports,
            exit: if interrupted {
                ExitStatus::Interrupted
            } else {
                exit
            },
            interrupted,
        },
    ))
}

fn moved(
    kind: RefKind,
    name: &str,
    dest_name: &str,
    commit: Option<String>,
    report: &Report,
) -> RefOutcome {
    RefOutcome {
        kind,
        name: name.to_string(),
        dest_name: dest_name.to_string(),
        action: if report.totals.files_moved > 0 || report.totals.files_deleted > 0 {
            "updated".into()
        } else {
            "current".into()
        },
        source_commit: commit,
        dest_commit: None,
        files_moved: report.totals.files_moved,
        bytes_moved: report.totals.bytes_moved,
        detail: None,
    }
}

/// Creates the tag at destination commit `at`; the outcome says how it went.
async fn tag_at(
    hubs: &Hubs,
    dest: &RepoRef,
    source: &RepoRef,
    tag: &TagStep,
    at: Option<String>,
    mut outcome: RefOutcome,
) -> RefOutcome {
    let Some(at) = at else {
        outcome.action = "failed".into();
        outcome.detail = Some(format!("{dest} names no commit to tag"));
        return outcome;
    };
    let message = format!(
        "hubferry: tag {} of {source}\n\n{} {}@{}",
        tag.name,
        crate::provenance::TRAILER,
        RepoRef {
            revision: None,
            ..source.clone()
        },
        tag.commit.as_deref().unwrap_or(&tag.name)
    );
    let t = dest.repo_type_or_model();
    if tag.replace {
        if let Err(e) = hubs.delete_tag(dest.platform, t, &dest.id, &tag.name).await {
            outcome.action = "failed".into();
            outcome.detail = Some(format!("deleting the tag that moved: {e}"));
            return outcome;
        }
    }
    match hubs
        .create_tag(dest.platform, t, &dest.id, &tag.name, &at, &message)
        .await
    {
        Ok(()) => {
            outcome.action = if tag.replace { "moved" } else { "created" }.into();
            outcome.dest_commit = Some(at);
        }
        Err(e) => {
            outcome.action = "failed".into();
            outcome.detail = Some(e.to_string());
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::refs::NamedRef;

    fn r(name: &str, commit: &str) -> NamedRef {
        NamedRef {
            name: name.into(),
            commit: Some(commit.into()),
        }
    }

    #[test]
    fn parses_all_and_lists() {
        assert_eq!(RevisionSet::parse("all").unwrap(), RevisionSet::All);
        assert_eq!(
            RevisionSet::parse("main, v1").unwrap(),
            RevisionSet::Only(vec!["main".into(), "v1".into()])
        );
        assert!(RevisionSet::parse(" , ").is_err());
    }

    #[test]
    fn default_branches_map_and_tags_split_by_where_they_point() {
        let source = crate::repo_ref::parse_source("hf:acme/x", None).unwrap();
        let dest = crate::repo_ref::parse_source("ms:acme/x", None).unwrap();
        let src = RefList {
            branches: vec![r("dev", "d"), r("main", "m"), r("master", "o")],
            tags: vec![r("v1", "a"), r("v2", "m"), r("v3", "d"), r("v0", "z")],
        };
        let dst = RefList {
            branches: vec![r("dev", "x"), r("master", "x")],
            tags: vec![r("v0", "y")],
        };
        let (plan, skipped) =
            plan_refs(&RevisionSet::All, &source, &dest, &src, &dst, &[]).unwrap();
        let branches: Vec<(&str, &str)> = plan
            .branches
            .iter()
            .map(|(a, b, _)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(branches, [("main", "master"), ("dev", "dev")]);
        assert_eq!(skipped.len(), 1, "HF `master` has no place on ModelScope");
        let tags: Vec<(&str, Option<&str>)> = plan
            .tags
            .iter()
            .map(|t| (t.name.as_str(), t.at_branch.as_deref()))
            .collect();
        assert_eq!(
            tags,
            [("v1", None), ("v2", Some("master")), ("v3", Some("dev"))]
        );
        assert_eq!(plan.existing_tags.len(), 1);
        // A branch ModelScope lacks cannot be made there: its head's tags are built instead.
        let bare = RefList {
            branches: vec![r("master", "x")],
            tags: Vec::new(),
        };
        let (plan, skipped) =
            plan_refs(&RevisionSet::All, &source, &dest, &src, &bare, &[]).unwrap();
        assert_eq!(plan.branches.len(), 1);
        assert_eq!(skipped.len(), 2);
        assert!(plan
            .tags
            .iter()
            .all(|t| t.name != "v3" || t.at_branch.is_none()));
        let err = plan_refs(
            &RevisionSet::Only(vec!["nope".into()]),
            &source,
            &dest,
            &src,
            &dst,
            &[],
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("no branch or tag `nope`"), "{err}");
    }

    #[test]
    fn a_tag_that_moved_is_recreated_on_hf_and_skipped_with_a_hint_on_modelscope() {
        let ms = crate::repo_ref::parse_source("ms:acme/x", None).unwrap();
        let hf = crate::repo_ref::parse_source("hf:acme/x", None).unwrap();
        let src = RefList {
            branches: vec![r("master", "m")],
            tags: vec![r("v1", "m"), r("v2", "old")],
        };
        let dst = RefList {
            branches: vec![r("main", "x")],
            tags: vec![r("v1", "y"), r("v2", "z")],
        };
        let moved = ["v1".to_string()];
        let (plan, skipped) = plan_refs(&RevisionSet::All, &ms, &hf, &src, &dst, &moved).unwrap();
        assert!(skipped.is_empty());
        let v1 = plan.tags.iter().find(|t| t.name == "v1").unwrap();
        assert!(v1.replace && v1.at_branch.as_deref() == Some("main"));
        assert_eq!(plan.existing_tags.len(), 1, "v2 did not move: left alone");
        let src = RefList {
            branches: vec![r("main", "m")],
            ..src
        };
        let (plan, skipped) = plan_refs(&RevisionSet::All, &hf, &ms, &src, &dst, &moved).unwrap();
        assert!(plan.tags.is_empty());
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].name, "v1");
        let why = skipped[0].detail.as_deref().unwrap();
        assert!(why.contains("cannot move or delete a tag"), "{why}");
    }
}
