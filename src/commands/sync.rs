//! `hubferry sync --config mirrors.toml`: keeps every mirror of the file current, one after the
//! other, each as an incremental `migrate` (same preflight, same worker, same report).
//!
//! An unchanged mirror costs preflight's reads — the two file listings (source and destination)
//! plus metadata — and starts no worker: its verification is the comparison of those same two
//! listings. A changed mirror moves only the files whose content ids differ, then the destination
//! is re-listed and verified as after any migration. Files the plan would move only because their
//! listings share no content id (a `.jsonl` in LFS on ModelScope and inline on HF; a `README.md`
//! whose only difference is the license line `migrate` rewrote for HF) are settled by a small
//! download and count as unchanged when equal (see [`crate::verify::pair::settled_by_content`]).
//!
//! Exit codes for CI: 0 every mirror current and verified; 1 a mirror failed or is not verified;
//! 2 a bad mirrors file (nothing runs) or a mirror with bad input; 3 credentials; 4 some mirrors
//! failed while others succeeded; 130 interrupted. `--json` prints worker events while mirrors
//! run and ends with one report object per mirror (`migrate`'s fields plus `mirror`, `changed`
//! and `exit_code`).

use std::time::Instant;

use super::Context;
use crate::cli::SyncArgs;
use crate::credentials::Credentials;
use crate::engine::{self, Executed, RunOptions};
use crate::error::{classify, CliError, ExitStatus};
use crate::mirrors_file::{self, Mirror};
use crate::plan::Plan;
use crate::preflight::preflight;
use crate::printer::{human_bytes, Tone};
use crate::report::{ReportContext, Tracker, Verification};
use crate::revisions::RevisionSet;
use crate::settings::{load_credentials, mirror_request};
use crate::verify::destination::VerifySpec;

/// What happened to one mirror.
struct MirrorOutcome {
    name: String,
    /// The report object (`migrate`'s fields) with `mirror`, `changed`, `exit_code` added, or an
    /// error object of the same shape when the mirror could not run.
    json: serde_json::Value,
    exit: ExitStatus,
    summary: String,
}

/// The verification of an unchanged mirror, from preflight's own two listings (the same rule as
/// the post-run verification).
fn verification_from_plan(plan: &Plan) -> Verification {
    VerifySpec::from_plan(plan).judge(&plan.dest_manifest)
}

fn with_fields(
    mut v: serde_json::Value,
    name: &str,
    changed: bool,
    exit: ExitStatus,
) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        map.insert("mirror".into(), name.into());
        map.insert("changed".into(), changed.into());
        map.insert("exit_code".into(), exit.code().into());
    }
    v
}

/// An error before or instead of a run, shaped like a report.
fn error_outcome(ctx: &Context, m: &Mirror, err: anyhow::Error) -> MirrorOutcome {
    let (status, hint) = classify(&err);
    let mut msg = format!("{err:#}");
    if let Some(hint) = &hint {
        msg.push_str(&format!(" (hint: {hint})"));
    }
    ctx.printer.warn(&format!("mirror {}: {msg}", m.name));
    let json = error_report(m, msg);
    MirrorOutcome {
        name: m.name.clone(),
        json: with_fields(json, &m.name, false, status),
        exit: status,
        summary: format!("error: {}", err),
    }
}

/// The report object of a mirror that could not run: a `report::Report` with nothing moved, no
/// chunks, not verified and the message in `errors`, whose `status` is `error` (not a run status:
/// nothing ran; docs/mirrors.md documents it for this case).
fn error_report(m: &Mirror, msg: String) -> serde_json::Value {
    let report = Tracker::default().report(
        ReportContext {
            source: m.source_text.clone(),
            dest: format!("{}:{}", m.to, m.dest_id),
            backend: m.backend.as_str().into(),
            errors: vec![msg],
            ..Default::default()
        },
        None,
    );
    let mut json = serde_json::to_value(&report).unwrap_or_default();
    json["status"] = "error".into();
    json
}

async fn one(
    ctx: &Context,
    creds: &Credentials,
    index: usize,
    m: &Mirror,
    dry_run: bool,
    revisions: Option<&RevisionSet>,
) -> Result<MirrorOutcome, ExitStatus> {
    let p = &ctx.printer;
    let started = Instant::now();
    let req = match mirror_request(m).and_then(|mut req| {
        req.sizing = crate::settings::mirror_sizing(m, ctx.state_flag.clone(), &req)?;
        Ok(req)
    }) {
        Ok(req) => req,
        Err(err) => return Ok(error_outcome(ctx, m, err)),
    };
    let _lock = match crate::lock::unless_dry_run(
        ctx.state_flag.clone(),
        &ctx.printer,
        &req,
        dry_run,
    )
    .await
    {
        Ok(lock) => lock,
        Err(err) => return Ok(error_outcome(ctx, m, err)),
    };
    if let Some(set) = revisions.or(m.revisions.as_ref()) {
        return with_revisions(ctx, creds, index, m, &req, set, dry_run).await;
    }
    let plan = match preflight(&req, creds).await {
        Ok(plan) => plan,
        Err(err) => return Ok(error_outcome(ctx, m, err.into())),
    };
    if dry_run {
        // In --json mode the plan is this mirror's result line (with its name), printed with the
        // others at the end, like the reports of a real sync.
        if !p.json_mode() {
            engine::print_plan(p, &plan, true);
        }
        // The same content check a real sync makes, so the dry run predicts it (reads only).
        let settled =
            !plan.is_noop() && crate::verify::pair::settled_by_content(creds, &plan).await;
        let provenance = crate::provenance::read_or_warn(
            p,
            &crate::hub::Hubs::new(creds),
            &plan.dest,
            plan.dest.revision.as_deref().unwrap_or_default(),
            plan.source.revision.as_deref(),
        )
        .await;
        let mut v = serde_json::to_value(&plan).unwrap_or_default();
        v["mirror"] = m.name.clone().into();
        v["settled_by_content"] = settled.into();
        if let Some(prov) = &provenance {
            p.status(&format!("mirror {}: {}", m.name, prov.describe()));
            v["provenance"] = serde_json::to_value(prov).unwrap_or_default();
        }
        let summary = if settled {
            format!(
                "up to date: the {} file(s) the listings cannot match by id hold the same bytes",
                plan.transfer.to_move.len()
            )
        } else {
            format!(
                "would move {} files ({})",
                plan.transfer.to_move.len(),
                human_bytes(plan.transfer.bytes_to_move)
            )
        };
        return Ok(MirrorOutcome {
            name: m.name.clone(),
            json: v,
            exit: ExitStatus::Success,
            summary,
        });
    }
    let unchanged = !plan.is_noop() && crate::verify::pair::settled_by_content(creds, &plan).await;
    if plan.is_noop() || unchanged {
        let verification = verification_from_plan(&plan);
        let report = Tracker::default().report(
            ReportContext {
                source: plan.source.describe(),
                dest: plan.dest.describe(),
                dest_url: Some(plan.dest_url.clone()),
                duration_s: started.elapsed().as_secs_f64(),
                backend: m.backend.as_str().into(),
                // Files a content check found already there count as skipped: nothing moves.
                skipped_by_plan: plan.settled_skips(),
                ..Default::default()
            },
            Some(verification),
        );
        let exit = report.exit_status();
        let summary = if exit == ExitStatus::Success {
            format!(
                "up to date: {} files ({}) verified, no worker started",
                report.totals.files_skipped,
                human_bytes(report.totals.bytes_skipped)
            )
        } else {
            "nothing to move, but NOT verified".to_string()
        };
        p.status(&format!("mirror {}: {summary}", m.name));
        return Ok(MirrorOutcome {
            name: m.name.clone(),
            json: with_fields(
                serde_json::to_value(&report).unwrap_or_default(),
                &m.name,
                false,
                exit,
            ),
            exit,
            summary,
        });
    }
    let opts = RunOptions::for_mirror(m, dry_run, ctx.state_flag.clone());
    if let Err(err) = engine::check_backend(&opts) {
        return Ok(error_outcome(ctx, m, err));
    }
    engine::print_plan(p, &plan, false);
    let executed = match engine::execute(p, &plan, creds, &opts, &format!("m{index}")).await {
        Ok(e) => e,
        Err(err) => return Ok(error_outcome(ctx, m, err)),
    };
    match executed {
        Executed::Report(report) => {
            if !p.json_mode() {
                report.print(p);
            }
            let exit = report.exit_status();
            let summary = format!(
                "{}: moved {} files ({})",
                if exit == ExitStatus::Success {
                    "updated, verified"
                } else {
                    "FAILED"
                },
                report.totals.files_moved,
                human_bytes(report.totals.bytes_moved)
            );
            Ok(MirrorOutcome {
                name: m.name.clone(),
                json: with_fields(
                    serde_json::to_value(&report).unwrap_or_default(),
                    &m.name,
                    true,
                    exit,
                ),
                exit,
                summary,
            })
        }
        Executed::Interrupted(report) => {
            report.print(p);
            Err(ExitStatus::Interrupted)
        }
        Executed::Detached { .. } => Ok(error_outcome(
            ctx,
            m,
            CliError::bad_input("sync does not run detached").into(),
        )),
    }
}

/// A mirror with `revisions`: every branch and tag ([`crate::revisions`]); its result line is the
/// `revisions` object with `mirror`, `changed` and `exit_code`.
async fn with_revisions(
    ctx: &Context,
    creds: &Credentials,
    index: usize,
    m: &Mirror,
    req: &crate::preflight::MigrateRequest,
    set: &RevisionSet,
    dry_run: bool,
) -> Result<MirrorOutcome, ExitStatus> {
    let p = &ctx.printer;
    let result = if dry_run {
        crate::revisions::dry_run(creds, req, set).await
    } else {
        let opts = RunOptions {
            mode: crate::settings::ExecuteMode::Single,
            ..RunOptions::for_mirror(m, false, ctx.state_flag.clone())
        };
        if let Err(err) = engine::check_backend(&opts) {
            return Ok(error_outcome(ctx, m, err));
        }
        // A mirrors file says `delete = true` to let a mirror delete (CI has no terminal to ask).
        let consent = crate::consent::Consent::new(
            m.delete,
            format!(
                "--revisions mirrors each branch and tag exactly (files a ref lacks are deleted at the destination): set `delete = true` on mirror `{}` in the mirrors file to allow it",
                m.name
            ),
        );
        crate::revisions::run(p, creds, req, set, &consent, &opts, &format!("m{index}")).await
    };
    let (source, dest, run) = match result {
        Ok(r) => r,
        Err(err) => return Ok(error_outcome(ctx, m, err)),
    };
    if run.interrupted {
        return Err(ExitStatus::Interrupted);
    }
    if !p.json_mode() {
        run.print(p, &source, &dest);
    }
    let count = |action: &str| run.refs.iter().filter(|r| r.action == action).count();
    let summary = if dry_run {
        format!(
            "{} refs: {} to update, {} to create",
            run.refs.len(),
            count("would update") + count("would move"),
            count("would create")
        )
    } else {
        format!(
            "{} refs: {} updated, {} created, {} current, {} skipped, {} failed",
            run.refs.len(),
            count("updated") + count("moved"),
            count("created"),
            count("current") + count("exists"),
            count("skipped"),
            count("failed")
        )
    };
    let changed = run.files_moved() > 0
        || ["created", "updated", "moved"]
            .iter()
            .any(|action| count(action) > 0);
    let mut object = run.json(&source, &dest);
    object.mirror = Some(m.name.clone());
    object.changed = Some(changed);
    Ok(MirrorOutcome {
        name: m.name.clone(),
        json: serde_json::to_value(object).unwrap_or_default(),
        exit: run.exit,
        summary,
    })
}

pub async fn run(ctx: &Context, args: SyncArgs) -> anyhow::Result<ExitStatus> {
    let revisions = args
        .revisions
        .as_deref()
        .map(RevisionSet::parse)
        .transpose()?;
    let all = mirrors_file::load(&args.config)?;
    let selected: Vec<Mirror> = if args.only.is_empty() {
        all
    } else {
        for name in &args.only {
            if !all.iter().any(|m| &m.name == name) {
                let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
                return Err(CliError::bad_input(format!(
                    "{}: no mirror named `{name}`",
                    args.config.display()
                ))
                .with_hint(format!("mirrors in the file: {}", names.join(", ")))
                .into());
            }
        }
        all.into_iter()
            .filter(|m| args.only.contains(&m.name))
            .collect()
    };
    let creds = load_credentials()?;
    ctx.printer.redact(&creds.secrets());
    let p = &ctx.printer;
    p.status(&format!(
        "sync: {} mirror{} from {}",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        args.config.display()
    ));
    let mut outcomes = Vec::new();
    for (i, m) in selected.iter().enumerate() {
        match one(ctx, &creds, i, m, args.dry_run, revisions.as_ref()).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(status) => {
                for o in &outcomes {
                    p.json(&o.json);
                }
                return Ok(status);
            }
        }
    }
    for o in &outcomes {
        p.json(&o.json);
    }
    let failed = outcomes
        .iter()
        .filter(|o| o.exit != ExitStatus::Success)
        .count();
    // A dry run's plan that would move or delete something is not current yet.
    let to_update = outcomes
        .iter()
        .filter(|o| {
            let would = |r: &serde_json::Value| {
                r["action"].as_str().is_some_and(|a| a.starts_with("would"))
            };
            (o.json["type"] == "plan"
                && o.json["settled_by_content"] != true
                && (o.json["files_to_move"].as_u64() > Some(0)
                    || o.json["files_to_delete"].as_u64() > Some(0)))
                || (o.json["type"] == "revisions"
                    && o.json["refs"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(would)))
        })
        .count();
    let mut lines = vec![format!(
        "{} {} mirror{}: {} current, {}{} failed",
        p.paint("sync", if failed == 0 { Tone::Good } else { Tone::Bad }),
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        outcomes.len() - failed - to_update,
        if args.dry_run {
            format!("{to_update} to update, ")
        } else {
            String::new()
        },
        failed
    )];
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for o in &outcomes {
        lines.push(format!("  {:width$}  {}", o.name, o.summary));
    }
    p.out(&lines.join("\n"));
    let rows: Vec<(&str, &serde_json::Value)> = outcomes
        .iter()
        .map(|o| (o.name.as_str(), &o.json))
        .collect();
    crate::summary::for_sync(p, args.summary.as_deref(), &rows)?;
    Ok(overall(&outcomes))
}

/// The sync's exit status: [`crate::error::overall`] over the mirrors'.
fn overall(outcomes: &[MirrorOutcome]) -> ExitStatus {
    crate::error::overall(outcomes.iter().map(|o| o.exit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_for_ci() {
        use ExitStatus::*;
        let overall = |exits: &[ExitStatus]| {
            let outcomes: Vec<MirrorOutcome> = exits
                .iter()
                .map(|&exit| MirrorOutcome {
                    name: "m".into(),
                    summary: String::new(),
                    json: serde_json::Value::Null,
                    exit,
                })
                .collect();
            overall(&outcomes)
        };
        assert_eq!(overall(&[Success, Success]), Success);
        assert_eq!(overall(&[Failure, Failure]), Failure);
        assert_eq!(overall(&[Credentials]), Credentials);
        assert_eq!(overall(&[Success, Failure]), Partial);
        // Every mirror failed, for different reasons: failed (1), as batch says, not partial.
        assert_eq!(overall(&[BadInput, Failure]), Failure);
        assert_eq!(overall(&[BadInput, Credentials]), Failure);
    }

    #[test]
    fn error_report_has_the_report_fields_with_status_error() {
        let m = &mirrors_file::parse(
            "[[mirror]]\nname = \"a\"\nsource = \"hf:x/a\"\ndest = \"ms:y/b\"\n",
            "m.toml",
        )
        .unwrap()[0];
        let expected = serde_json::json!({
            "type": "report",
            "status": "error",
            "verified": false,
            "source": "hf:x/a",
            "dest": "ms:y/b",
            "dest_url": null,
            "files_moved": 0,
            "bytes_moved": 0,
            "files_skipped": 0,
            "bytes_skipped": 0,
            "files_failed": 0,
            "files_deleted": 0,
            "duration_s": 0.0,
            "throughput_bps": 0.0,
            "fallback_used": false,
            "backend": m.backend.as_str(),
            "chunks": 0,
            "chunks_failed": 0,
            "verification": null,
            "errors": ["boom"],
        });
        assert_eq!(error_report(m, "boom".into()), expected);
    }
}
