//! `hubferry inventory NAMESPACE --on hf|ms [--check-backup [--dest-namespace NS]]`: every repo of
//! a user or organization — type, visibility, size, file count, created and updated dates — and,
//! with `--check-backup`, the state of its copy on the other hub:
//! - `missing`: no repo of that type and name there (or one the token cannot see);
//! - `partial`: it exists but `verify` finds mismatched, missing or extra files;
//! - `verified`: `verify` passes (same rules as `hubferry verify`);
//! - `n/a`: spaces, which ModelScope does not have.
//!
//! Size and file count come from each repo's file listing at its default branch (the listings
//! of the hubs do not carry them reliably), so an inventory costs one listing per repo (two with
//! `--check-backup`), a few at a time. Repos the token cannot list show an error instead.
//! Exit 0 when the namespace could be listed, whatever the backup states (`verify` and `retire`
//! are the gates); the JSON carries the counts for scripts.

use std::sync::Arc;

use serde::Serialize;

use super::Context;
use crate::cli::InventoryArgs;
use crate::credentials::Credentials;
use crate::error::{CliError, ExitStatus};
use crate::hub::content::RepoListing;
use crate::hub::Hubs;
use crate::printer::{human_bytes, Printer, Tone};
use crate::repo_ref::{Platform, RepoRef, RepoType};
use crate::schemas::{BackupSummary, InventoryObject, InventoryRow};
use crate::verify::pair::{check_pair, try_side};

/// Repos examined at once.
const CONCURRENCY: usize = 4;

/// One line of the inventory.
#[derive(Debug, Clone, Serialize)]
struct Row {
    id: String,
    repo_type: &'static str,
    private: bool,
    gated: bool,
    files: Option<usize>,
    bytes: Option<u64>,
    created: Option<String>,
    updated: Option<String>,
    /// With `--check-backup`: `verified`, `partial`, `missing`, `n/a` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<&'static str>,
    /// The copy looked for on the other hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_repo: Option<String>,
    /// With a `partial` backup: what differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_detail: Option<String>,
    /// What the copy's last commit says it mirrors (a copy hubferry made).
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_provenance: Option<crate::provenance::Provenance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Row {
    /// The row as `inventory --json` prints it (docs/schemas/inventory.json).
    fn published(&self) -> InventoryRow {
        InventoryRow {
            id: self.id.clone(),
            repo_type: self.repo_type.into(),
            private: self.private,
            gated: self.gated,
            files: self.files.map(|n| n as u64),
            bytes: self.bytes,
            created: self.created.clone(),
            updated: self.updated.clone(),
            backup: self.backup.map(str::to_owned),
            backup_repo: self.backup_repo.clone(),
            backup_detail: self.backup_detail.clone(),
            backup_provenance: self.backup_provenance.clone(),
            error: self.error.clone(),
        }
    }

    fn visibility(&self) -> &'static str {
        match (self.private, self.gated) {
            (false, false) => "public",
            (false, true) => "gated",
            (true, false) => "private",
            (true, true) => "private,gated",
        }
    }
}

async fn examine(
    creds: &Credentials,
    listing: RepoListing,
    platform: Platform,
    backup_ns: Option<String>,
) -> Row {
    let mut row = Row {
        id: listing.id.clone(),
        repo_type: listing.repo_type.as_str(),
        private: listing.private,
        gated: listing.gated,
        files: None,
        bytes: None,
        created: listing.created.clone(),
        updated: listing.updated.clone(),
        backup: None,
        backup_repo: None,
        backup_detail: None,
        backup_provenance: None,
        error: None,
    };
    let r = RepoRef {
        platform,
        repo_type: Some(listing.repo_type),
        id: listing.id.clone(),
        revision: None,
    };
    let side = match try_side(creds, &r).await {
        Ok(Some(side)) => side,
        Ok(None) => {
            row.error = Some("listed, but its files cannot be read".into());
            return row;
        }
        Err(e) => {
            row.error = Some(format!("{e:#}"));
            return row;
        }
    };
    let files = side
        .manifest
        .files
        .iter()
        .filter(|f| !crate::manifest::PLATFORM_FILES.contains(&f.path.as_str()));
    row.files = Some(files.clone().count());
    row.bytes = Some(files.map(|f| f.size).sum());
    let Some(ns) = backup_ns else {
        return row;
    };
    let other = platform.other();
    let name = listing.id.rsplit('/').next().unwrap_or_default();
    let copy = RepoRef {
        platform: other,
        repo_type: Some(listing.repo_type),
        id: format!("{ns}/{name}"),
        revision: None,
    };
    row.backup_repo = Some(format!("{}:{}", other.as_str(), copy.id));
    if other == Platform::Ms && listing.repo_type == RepoType::Space {
        row.backup = Some("n/a");
        return row;
    }
    match try_side(creds, &copy).await {
        Ok(None) => row.backup = Some("missing"),
        Ok(Some(copy_side)) => {
            // A failure to read it leaves the column empty: the backup state stands on its own.
            row.backup_provenance = crate::provenance::read(
                &crate::hub::Hubs::new(creds),
                &copy_side.repo,
                &copy_side.listed_at,
                side.repo.revision.as_deref(),
            )
            .await
            .ok()
            .flatten();
            backup_state(&mut row, check_pair(creds, &side, &copy_side).await)
        }
        Err(e) => {
            row.backup = Some("error");
            row.backup_detail = Some(format!("{e:#}"));
        }
    }
    row
}

fn backup_state(row: &mut Row, check: anyhow::Result<crate::verify::pair::PairCheck>) {
    match check {
        Ok(c) if c.ok => row.backup = Some("verified"),
        Ok(c) => {
            row.backup = Some("partial");
            row.backup_detail = Some(format!(
                "{} of {} files match; {} mismatched, {} missing, {} extra",
                c.matched,
                c.files,
                c.mismatched.len(),
                c.missing.len(),
                c.extra.len()
            ));
        }
        Err(e) => {
            row.backup = Some("error");
            row.backup_detail = Some(format!("{e:#}"));
        }
    }
}

fn date(d: &Option<String>) -> String {
    d.as_deref()
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|| "-".into())
}

fn print_table(p: &Printer, ns: &str, platform: Platform, rows: &[Row], check: bool) {
    let id_w = rows.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
    let mut lines = vec![format!(
        "{:<7}  {:<id_w$}  {:<13}  {:>6}  {:>10}  {:<10}  {:<10}{}",
        "TYPE",
        "REPO",
        "VISIBILITY",
        "FILES",
        "SIZE",
        "CREATED",
        "UPDATED",
        if check { "  BACKUP" } else { "" }
    )];
    for r in rows {
        let backup = match (check, r.backup) {
            (false, _) => String::new(),
            (true, Some(state)) => {
                let tone = match state {
                    "verified" => Tone::Good,
                    "partial" => Tone::Warn,
                    "n/a" => Tone::Dim,
                    _ => Tone::Bad,
                };
                format!("  {}", p.paint(state, tone))
            }
            (true, None) => "  -".into(),
        };
        lines.push(format!(
            "{:<7}  {:<id_w$}  {:<13}  {:>6}  {:>10}  {:<10}  {:<10}{backup}",
            r.repo_type,
            r.id,
            r.visibility(),
            r.files.map_or("-".into(), |n| n.to_string()),
            r.bytes.map_or("-".into(), human_bytes),
            date(&r.created),
            date(&r.updated),
        ));
        if let Some(e) = &r.error {
            lines.push(format!("         {e}"));
        }
        if let Some(d) = &r.backup_detail {
            lines.push(format!("         backup: {d}"));
        }
        if let Some(prov) = &r.backup_provenance {
            lines.push(format!("         backup {}", prov.describe()));
        }
    }
    let total: u64 = rows.iter().filter_map(|r| r.bytes).sum();
    let mut summary = format!(
        "{} repos in {}:{ns}, {}",
        rows.len(),
        platform.as_str(),
        human_bytes(total)
    );
    if check {
        let count = |s: &str| rows.iter().filter(|r| r.backup == Some(s)).count();
        summary.push_str(&format!(
            "; backups: {} verified, {} partial, {} missing",
            count("verified"),
            count("partial"),
            count("missing")
        ));
    }
    lines.push(summary);
    p.out(&lines.join("\n"));
}

pub async fn run(ctx: &Context, args: InventoryArgs) -> anyhow::Result<ExitStatus> {
    let p = &ctx.printer;
    let creds = Arc::new(crate::settings::load_credentials()?);
    p.redact(&creds.secrets());
    let platform = Platform::from(args.on);
    let ns = args.namespace.trim().trim_end_matches('/').to_string();
    if ns.is_empty() || ns.contains('/') {
        return Err(CliError::bad_input(format!(
            "`{}` is not a user or organization name",
            args.namespace
        ))
        .with_hint("pass the namespace alone, e.g. `hubferry inventory acme --on hf`")
        .into());
    }
    if args.dest_namespace.is_some() && !args.check_backup {
        return Err(CliError::bad_input("--dest-namespace needs --check-backup").into());
    }
    let types = platform.candidate_types(args.repo_type.map(RepoType::from));
    let hubs = Hubs::new(&creds);
    let mut listings = Vec::new();
    for t in types {
        let found = hubs.list_repos(platform, t, &ns).await.map_err(|e| {
            CliError::new(
                ExitStatus::Failure,
                format!(
                    "listing the {} of {}:{ns}: {e}",
                    t.plural(),
                    platform.as_str()
                ),
            )
            .with_hint("check the namespace and connectivity (`hubferry doctor`)")
        })?;
        listings.extend(found);
    }
    p.status(&format!(
        "inventory of {}:{ns}: {} repos{}",
        platform.as_str(),
        listings.len(),
        if args.check_backup {
            format!(
                ", checking copies on {} under {}",
                platform.other().display_name(),
                args.dest_namespace.as_deref().unwrap_or(&ns)
            )
        } else {
            String::new()
        }
    ));
    let backup_ns = args
        .check_backup
        .then(|| args.dest_namespace.clone().unwrap_or_else(|| ns.clone()));
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for listing in listings {
        let (creds, permits, backup_ns) = (creds.clone(), permits.clone(), backup_ns.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            examine(&creds, listing, platform, backup_ns).await
        });
    }
    let mut rows = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        rows.push(joined.map_err(|e| anyhow::anyhow!("inventory task: {e}"))?);
    }
    let order = |t: &str| match t {
        "model" => 0,
        "dataset" => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        (order(a.repo_type), a.id.to_lowercase()).cmp(&(order(b.repo_type), b.id.to_lowercase()))
    });
    let count = |s: &str| rows.iter().filter(|r| r.backup == Some(s)).count();
    p.json(&serde_json::to_value(InventoryObject {
        kind: "inventory".into(),
        namespace: ns.to_string(),
        on: platform.as_str().into(),
        repos: rows.iter().map(Row::published).collect(),
        total_bytes: rows.iter().filter_map(|r| r.bytes).sum::<u64>(),
        backup: backup_ns.map(|namespace| BackupSummary {
            namespace,
            on: platform.other().as_str().into(),
            verified: count("verified") as u64,
            partial: count("partial") as u64,
            missing: count("missing") as u64,
        }),
    })?);
    print_table(p, &ns, platform, &rows, args.check_backup);
    if rows.is_empty() {
        // The hubs list an unknown namespace as empty rather than refusing it.
        p.status(&format!(
            "hint: no repositories visible in {}:{ns} — check the spelling, and that the token can see its private repos",
            platform.as_str()
        ));
    }
    Ok(ExitStatus::Success)
}
