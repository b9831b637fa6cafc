//! `hubferry batch`: one migration per repository, a few at a time, then a summary table.
//! Exit 0 when all are done and verified, 4 when some failed, and the failures' own class (1, 2
//! or 3) when all failed alike.

use std::sync::Arc;

use super::Context;
use crate::cli::{BatchArgs, PlatformArg, RepoTypeArg, TransferArgs};
use crate::consent::Consent;
use crate::credentials::Credentials;
use crate::engine::{self, ExecuteMode, Executed, RunOptions};
use crate::error::{classify, CliError, ExitStatus};
use crate::preflight::preflight;
use crate::repo_outcomes::{overall, print_summary, Outcome};
use crate::repo_ref::Platform;
use crate::settings::{load_credentials, migrate_request};
use crate::totals::Totals;
use anyhow::Context as _;

/// One line of work: a source and its optional destination id.
#[derive(Debug, Clone)]
struct Entry {
    source: String,
    dest: Option<String>,
}

fn read_entries(args: &BatchArgs) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    if let Some(path) = &args.from_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the batch file {}", path.display()))
            .map_err(|e| {
                CliError::bad_input(format!("{e:#}"))
                    .with_hint("pass an existing file to --from-file")
            })?;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let source = parts.next().unwrap_or_default().to_owned();
            let dest = parts.next().map(str::to_owned);
            if parts.next().is_some() {
                return Err(CliError::bad_input(format!(
                    "{}:{}: expected `SOURCE [DEST]`, got `{line}`",
                    path.display(),
                    n + 1
                ))
                .with_hint("one repository per line: a source, optionally followed by its destination ns/name")
                .into());
            }
            entries.push(Entry { source, dest });
        }
    } else {
        entries.extend(args.sources.iter().map(|s| Entry {
            source: s.clone(),
            dest: None,
        }));
    }
    if entries.is_empty() {
        return Err(CliError::bad_input("no repositories to migrate")
            .with_hint("list sources on the command line or in --from-file")
            .into());
    }
    Ok(entries)
}

pub async fn run(ctx: &Context, args: BatchArgs) -> anyhow::Result<ExitStatus> {
    let opts = RunOptions::from_args(&args.transfer, ExecuteMode::Batch, ctx.state_flag.clone())?;
    engine::check_backend(&opts)?;
    if args.jobs == 0 {
        return Err(CliError::bad_input("--jobs must be at least 1").into());
    }
    let entries = read_entries(&args)?;
    let creds = Arc::new(load_credentials()?);
    ctx.printer.redact(&creds.secrets());
    let p = &ctx.printer;
    p.status(&format!(
        "batch: {} repositories, {} at a time",
        entries.len(),
        args.jobs
    ));
    let permits = Arc::new(tokio::sync::Semaphore::new(args.jobs));
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        to: args.to,
        repo_type: args.repo_type,
        dest_namespace: args.dest_namespace.clone(),
        skip_existing: args.skip_existing,
        transfer: args.transfer.clone(),
        opts,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let shared = shared.clone();
        let creds = creds.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            if crate::interrupt::interrupted() {
                return (i, not_started(entry));
            }
            (i, one(&shared, &creds, i, entry).await)
        });
    }
    let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        outcomes.push(joined.context("a batch task panicked")?);
    }
    outcomes.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
    let status = overall(&outcomes);
    print_summary(&ctx.printer, "batch_report", &outcomes, status);
    if crate::interrupt::interrupted() {
        return Ok(ExitStatus::Interrupted);
    }
    Ok(status)
}

/// A repository left alone because the user interrupted the batch before its turn.
fn not_started(entry: Entry) -> Outcome {
    Outcome {
        source: entry.source,
        dest: entry.dest.unwrap_or_default(),
        status: "not_started".into(),
        exit_code: ExitStatus::Interrupted.code(),
        verified: false,
        totals: Totals::default(),
        duration_s: 0.0,
        dest_url: None,
        error: Some("interrupted before it started".into()),
    }
}

struct Shared {
    ctx: Context,
    to: Option<PlatformArg>,
    repo_type: Option<RepoTypeArg>,
    dest_namespace: Option<String>,
    skip_existing: bool,
    transfer: TransferArgs,
    opts: RunOptions,
}

async fn one(s: &Shared, creds: &Credentials, index: usize, entry: Entry) -> Outcome {
    let p = &s.ctx.printer;
    let mut outcome = Outcome {
        source: entry.source.clone(),
        dest: entry.dest.clone().unwrap_or_default(),
        status: "error".into(),
        exit_code: 1,
        verified: false,
        totals: Totals::default(),
        duration_s: 0.0,
        dest_url: None,
        error: None,
    };
    let fail = |mut o: Outcome, err: anyhow::Error| {
        let (status, hint) = classify(&err);
        o.exit_code = status.code();
        let mut msg = format!("{err:#}");
        if let Some(hint) = hint {
            msg.push_str(&format!(" (hint: {hint})"));
        }
        p.warn(&format!("{}: {msg}", o.source));
        o.error = Some(msg);
        o
    };
    let dest = match (&entry.dest, &s.dest_namespace) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(ns)) => {
            match crate::repo_ref::dest_in_namespace(&entry.source, s.to.map(Platform::from), ns) {
                Ok(d) => Some(d),
                Err(e) => return fail(outcome, e.into()),
            }
        }
        (None, None) => None,
    };
    let req = match migrate_request(
        &entry.source,
        s.to,
        dest.as_deref(),
        s.repo_type,
        None,
        &s.transfer,
    )
    .and_then(|mut req| {
        req.sizing = crate::settings::sizing(&s.transfer, s.ctx.state_flag.clone(), &req)?;
        Ok(req)
    }) {
        Ok(req) => req,
        Err(err) => return fail(outcome, err),
    };
    let _lock =
        match crate::lock::unless_dry_run(s.ctx.state_flag.clone(), &s.ctx.printer, &req, false)
            .await
        {
            Ok(lock) => lock,
            Err(err) => return fail(outcome, err),
        };
    let plan = match preflight(&req, creds).await {
        Ok(plan) => plan,
        Err(err) => return fail(outcome, err.into()),
    };
    outcome.source = plan.source.describe();
    outcome.dest = plan.dest.describe();
    outcome.dest_url = Some(plan.dest_url.clone());
    if s.skip_existing && plan.dest_exists {
        p.status(&format!(
            "{}: destination exists, skipped (--skip-existing)",
            outcome.dest
        ));
        outcome.status = "skipped".into();
        outcome.exit_code = 0;
        return outcome;
    }
    let consent = Consent::up_front_only(
        s.transfer.yes,
        "pass --yes to confirm (a batch never asks: its repositories run at once), or drop --delete",
    );
    if let Err(err) = consent.deletions(plan.transfer.to_delete.len(), &outcome.dest) {
        return fail(outcome, err.into());
    }
    p.status(&format!("{} → {}: starting", outcome.source, outcome.dest));
    let prefix = format!("r{index}");
    match engine::execute(&s.ctx.printer, &plan, creds, &s.opts, &prefix).await {
        Ok(Executed::Report(report)) | Ok(Executed::Interrupted(report)) => {
            report.print(p);
            outcome.record(&report);
            outcome
        }
        Ok(Executed::Detached { .. }) => outcome,
        Err(err) => fail(outcome, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> BatchArgs {
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Batch(args) => args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn batch_files_take_comments_blank_lines_and_optional_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repos.txt");
        std::fs::write(
            &path,
            "# mirrors\nhf:a/b  a/b-copy\n\n  ms:c/d # trailing\n",
        )
        .unwrap();
        let entries = read_entries(&args(&[
            "hubferry",
            "batch",
            "--from-file",
            path.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].source.as_str(), entries[0].dest.as_deref()),
            ("hf:a/b", Some("a/b-copy"))
        );
        assert_eq!(
            (entries[1].source.as_str(), entries[1].dest.as_deref()),
            ("ms:c/d", None)
        );

        std::fs::write(&path, "hf:a/b a/c extra\n").unwrap();
        let err = read_entries(&args(&[
            "hubferry",
            "batch",
            "--from-file",
            path.to_str().unwrap(),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains(":1: expected `SOURCE [DEST]`"),
            "{err}"
        );
        assert_eq!(classify(&err).0, ExitStatus::BadInput);
    }

    fn outcome(code: u8) -> Outcome {
        let mut o = not_started(Entry {
            source: "s".into(),
            dest: None,
        });
        o.exit_code = code;
        o
    }

    #[test]
    fn a_row_carries_the_totals_of_the_report_sync_prints() {
        use crate::events::{parse_line, Line};
        use crate::report::{ReportContext, Tracker};
        let mut tracker = Tracker::expecting(["r0c0".to_string(), "r0c1".to_string()]);
        for (job, moved, skipped) in [("r0c0", 3, 1), ("r0c1", 2, 4)] {
            let line = format!(
                r#"{{"hubferry":1,"type":"result","job":"{job}","ts":1.0,"seq":9,"status":"ok","files_moved":{moved},"bytes_moved":{},"files_skipped":{skipped},"bytes_skipped":7,"files_failed":0,"files_deleted":1,"duration_s":1.0,"dest_url":"u","verified":true,"fallback_used":false,"error":null}}"#,
                moved * 100
            );
            let Line::Event(e) = parse_line(&line) else {
                panic!("{line}")
            };
            tracker.apply(&e);
        }
        let ctx = ReportContext {
            skipped_by_plan: (10, 1000),
            ..Default::default()
        };
        let report = tracker.report(ctx, None);
        assert_eq!(
            report.totals,
            Totals {
                files_moved: 5,
                bytes_moved: 500,
                files_skipped: 15,
                bytes_skipped: 1014,
                files_failed: 0,
                files_deleted: 2,
            }
        );
        // What sync prints for a mirror (the report object) and batch's row agree on every count
        // the row shows.
        let mut row = outcome(0);
        row.record(&report);
        let (row, mirror) = (
            serde_json::to_value(&row).unwrap(),
            serde_json::to_value(&report).unwrap(),
        );
        for key in [
            "files_moved",
            "bytes_moved",
            "files_skipped",
            "bytes_skipped",
        ] {
            assert_eq!(row[key], mirror[key], "{key}");
        }
        assert!(row.get("files_deleted").is_none() && mirror["files_deleted"] == 2);
    }

    #[test]
    fn overall_status_is_partial_when_some_failed_and_their_class_when_all_did() {
        assert_eq!(overall(&[outcome(0), outcome(0)]), ExitStatus::Success);
        assert_eq!(overall(&[outcome(0), outcome(1)]), ExitStatus::Partial);
        assert_eq!(overall(&[outcome(3), outcome(3)]), ExitStatus::Credentials);
        assert_eq!(overall(&[outcome(2), outcome(1)]), ExitStatus::Failure);
    }
}
