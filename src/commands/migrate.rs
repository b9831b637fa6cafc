//! `hubferry migrate`: preflight, then render and run the jobs (Modal or local), watch them,
//! verify the destination ourselves and report; or launch detached and record the run.

use std::io::IsTerminal;
use std::time::Instant;

use tokio::sync::mpsc;

use super::verify::{self, VerifySpec};
use super::watch::{watch, WatchOptions, WatchOutcome};
use super::{CliError, Context, ExitStatus};
use crate::cli::{Backend, MethodArg, MigrateArgs, PlatformArg, RepoTypeArg, TransferArgs};
use crate::credentials::Credentials;
use crate::manifest::{FileEntry, PLATFORM_FILES};
use crate::plan::{JobTuning, Method, Plan, VisibilityChoice};
use crate::preflight::{preflight, MigrateRequest};
use crate::printer::{human_bytes, human_duration, Printer, Tone};
use crate::render::{self, AppSettings};
use crate::repo_ref::{self, Platform, RepoRef, RepoType};
use crate::report::{Report, ReportContext, Tracker};
use crate::runner::{self, Children};
use crate::tools;

/// Environment variables passed through to workers as they are when set (not secrets).
const PASSTHROUGH_ENV: &[&str] = &["HF_HUB_DISABLE_XET"];

pub async fn run(ctx: &Context, args: MigrateArgs) -> anyhow::Result<ExitStatus> {
    let creds = load_credentials()?;
    ctx.printer.redact(&creds.secrets());
    let req = request(
        &args.source,
        args.to,
        args.dest.as_deref(),
        args.repo_type,
        args.revision.clone(),
        &args.transfer,
    )?;
    check_transfer_args(&args.transfer)?;
    check_backend(&args.transfer)?;
    let _lock = crate::lock::unless_dry_run(ctx, &req, args.transfer.dry_run).await?;
    let plan = preflight(&req, &creds).await?;
    if args.transfer.dry_run {
        print_plan(&ctx.printer, &plan, true);
        return Ok(ExitStatus::Success);
    }
    print_plan(&ctx.printer, &plan, false);
    confirm_deletions(&plan, args.transfer.yes)?;
    match execute(
        ctx,
        &plan,
        &creds,
        &args.transfer,
        "r0",
        ExecuteMode::Single,
    )
    .await?
    {
        Executed::Report(report) => {
            report.print(&ctx.printer);
            Ok(ExitStatus::from_code(report.exit_code()))
        }
        Executed::Interrupted(report) => {
            report.print(&ctx.printer);
            Ok(ExitStatus::Interrupted)
        }
        Executed::Detached { interrupted, .. } => Ok(if interrupted {
            ExitStatus::Interrupted
        } else {
            ExitStatus::Success
        }),
    }
}

/// Reads tokens and endpoints (environment, token files, `.env`).
pub fn load_credentials() -> anyhow::Result<Credentials> {
    Credentials::from_env().map_err(|e| {
        let hint = e.hint();
        anyhow::Error::from(CliError::bad_input(e.to_string()).with_hint(hint))
    })
}

/// Checks flag combinations that clap cannot express.
pub fn check_transfer_args(t: &TransferArgs) -> anyhow::Result<()> {
    if t.detach && t.backend == Backend::Local {
        return Err(CliError::bad_input("--detach needs the Modal backend")
            .with_hint(
                "drop --backend local (a detached run keeps going on Modal after hubferry exits)",
            )
            .into());
    }
    if let Some(gb) = t.chunk_size {
        if !(gb.is_finite() && gb > 0.0) {
            return Err(CliError::bad_input(format!(
                "--chunk-size {gb} is not a positive size in GB"
            ))
            .with_hint("pass decimal gigabytes, e.g. --chunk-size 5 or --chunk-size 0.5")
            .into());
        }
    }
    if t.concurrency == 0 {
        return Err(CliError::bad_input("--concurrency must be at least 1")
            .with_hint("it is how many workers run at once (default 4); e.g. --concurrency 1 for one at a time (HUBFERRY_CONCURRENCY sets it too)")
            .into());
    }
    Ok(())
}

/// The Modal backend needs the `modal` CLI and credentials: say so before any preflight request.
pub fn check_backend(t: &TransferArgs) -> anyhow::Result<()> {
    if t.backend == Backend::Modal && !t.dry_run {
        tools::modal()?;
        tools::check_modal_credentials()?;
    }
    Ok(())
}

fn platform(p: PlatformArg) -> Platform {
    match p {
        PlatformArg::Hf => Platform::Hf,
        PlatformArg::Ms => Platform::Ms,
    }
}

fn repo_type(t: RepoTypeArg) -> RepoType {
    match t {
        RepoTypeArg::Model => RepoType::Model,
        RepoTypeArg::Dataset => RepoType::Dataset,
        RepoTypeArg::Space => RepoType::Space,
    }
}

/// Builds the preflight request from command-line values.
pub fn request(
    source: &str,
    to: Option<PlatformArg>,
    dest: Option<&str>,
    repo_type_arg: Option<RepoTypeArg>,
    revision: Option<String>,
    t: &TransferArgs,
) -> anyhow::Result<MigrateRequest> {
    let to = to.map(platform);
    let source = repo_ref::parse_source(source, to)?;
    let dest = match dest {
        Some(d) => Some(repo_ref::parse_dest_id(d)?),
        None => None,
    };
    Ok(MigrateRequest {
        source,
        to,
        dest,
        repo_type: repo_type_arg.map(repo_type),
        revision,
        include: t.include.clone(),
        exclude: t.exclude.clone(),
        parallel: t.parallel,
        chunk_size_gb: t.chunk_size,
        method: match t.method {
            MethodArg::Auto => Method::Auto,
            MethodArg::Api => Method::Api,
            MethodArg::Git => Method::Git,
        },
        visibility: if t.private {
            VisibilityChoice::Private
        } else if t.public {
            VisibilityChoice::Public
        } else {
            VisibilityChoice::Source
        },
        allow_public_gated: t.allow_public_gated,
        delete: t.delete,
    })
}

/// `hf:model:ns/name@rev`.
pub fn describe(r: &RepoRef) -> String {
    format!(
        "{}:{}:{}@{}",
        r.platform.as_str(),
        r.repo_type_or_model().as_str(),
        r.id,
        r.revision
            .as_deref()
            .unwrap_or(r.platform.default_revision())
    )
}

/// `skip N (BYTES)` for the files the destination already holds, then the platform files (which the
/// plan counts as skipped but never move: each hub writes its own) by name, so a new destination
/// does not read as if something were already there.
fn skip_summary<'a>(skipped: impl Iterator<Item = &'a FileEntry>) -> String {
    let (platform, same): (Vec<&FileEntry>, Vec<&FileEntry>) =
        skipped.partition(|f| PLATFORM_FILES.contains(&f.path.as_str()));
    let mut out = format!(
        "skip {} ({})",
        same.len(),
        human_bytes(same.iter().map(|f| f.size).sum())
    );
    if !platform.is_empty() {
        let names: Vec<&str> = platform.iter().map(|f| f.path.as_str()).collect();
        out.push_str(&format!(
            ", platform files {} ({})",
            platform.len(),
            names.join(", ")
        ));
    }
    out
}

/// Prints the plan: the full plan for `--dry-run` (JSON object or text on stdout), otherwise a
/// short summary on stderr before the run starts.
pub fn print_plan(p: &Printer, plan: &Plan, dry_run: bool) {
    if dry_run && p.json_mode() {
        p.json(&serde_json::to_value(plan).unwrap_or_default());
        return;
    }
    let t = &plan.transfer;
    let dest_state = if plan.dest_exists { "exists" } else { "new" };
    let head = format!(
        "{} {} → {} ({dest_state}, {})",
        p.paint("plan", Tone::Bold),
        describe(&plan.source),
        describe(&plan.dest),
        plan.dest_visibility.as_str()
    );
    let body = format!(
        "  move {} file{} ({}), {}, delete {}; {} chunk{}; eta {}",
        t.to_move.len(),
        if t.to_move.len() == 1 { "" } else { "s" },
        human_bytes(t.bytes_to_move),
        skip_summary(plan.files_to_skip()),
        t.to_delete.len(),
        t.chunks.len(),
        if t.chunks.len() == 1 { "" } else { "s" },
        human_duration(t.eta_s)
    );
    if dry_run {
        let mut lines = vec![head, body];
        for chunk in &t.chunks {
            lines.push(format!(
                "  chunk {:>3}: {} file{}, {}",
                chunk.index + 1,
                chunk.file_count,
                if chunk.file_count == 1 { "" } else { "s" },
                human_bytes(chunk.bytes)
            ));
        }
        for f in plan.files_to_move().take(20) {
            lines.push(format!("  + {} ({})", f.path, human_bytes(f.size)));
        }
        if t.to_move.len() > 20 {
            lines.push(format!("  + … {} more", t.to_move.len() - 20));
        }
        for f in plan.files_to_delete() {
            lines.push(format!("  - {}", f.path));
        }
        lines.push(format!("  url: {}", plan.dest_url));
        lines.push("dry run: nothing was moved".into());
        p.out(&lines.join("\n"));
    } else {
        p.status(&head);
        p.status(&body);
    }
    for w in &plan.warnings {
        p.warn(w);
    }
}

/// Deleting destination files needs a yes: `--yes`, or an answer on a terminal.
fn confirm_deletions(plan: &Plan, yes: bool) -> anyhow::Result<()> {
    let n = plan.transfer.to_delete.len();
    if n == 0 || yes {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint_prompt(&format!(
            "delete {n} file(s) at {} that the source does not have? [y/N] ",
            describe(&plan.dest)
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    Err(CliError::bad_input(format!(
        "refusing to delete {n} file(s) at {} without confirmation",
        describe(&plan.dest)
    ))
    .with_hint("pass --yes to confirm, or drop --delete")
    .into())
}

#[allow(clippy::print_stderr)]
fn eprint_prompt(text: &str) {
    // A prompt is the one stderr write that must not end with a newline.
    eprint!("{text}");
}

/// How `execute` reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecuteMode {
    /// One repository: bars, per-chunk bars.
    Single,
    /// One of several repositories running at once (batch).
    Batch,
    /// One mirror of `sync`, which has already settled by content what the plan would move.
    Mirror,
}

/// The outcome of running a plan.
pub enum Executed {
    Report(Report),
    Interrupted(Report),
    /// Launched and recorded (`interrupted`: Ctrl-C came during the launch, after the app existed).
    Detached {
        interrupted: bool,
    },
}

/// Worker environment: tokens and endpoints from the credentials, plus a few pass-through flags.
pub fn child_env(creds: &Credentials) -> Vec<(String, String)> {
    let mut env = creds.child_env();
    for name in PASSTHROUGH_ENV {
        if let Ok(value) = std::env::var(name) {
            env.push(((*name).to_owned(), value));
        }
    }
    env
}

/// Renders and runs a plan's jobs, watches them, verifies and builds the report.
pub async fn execute(
    ctx: &Context,
    plan: &Plan,
    creds: &Credentials,
    t: &TransferArgs,
    job_prefix: &str,
    mode: ExecuteMode,
) -> anyhow::Result<Executed> {
    let p = &ctx.printer;
    let started = Instant::now();
    let source = describe(&plan.source);
    let dest = describe(&plan.dest);
    let spec = VerifySpec::from_plan(plan);
    // Files moved only because the two listings share no content id (a dataset .jsonl in LFS on
    // ModelScope, inline on HF) are checked by content first: a re-run then starts no worker.
    let settled = !plan.is_noop()
        && mode != ExecuteMode::Mirror
        && super::verify_pair::settled_by_content(creds, plan).await;
    if plan.is_noop() || settled {
        p.status(&if settled {
            format!(
                "{dest} is up to date: the {} listed without a shared id hold the same bytes (checked by download); nothing to move",
                match plan.transfer.to_move.len() {
                    1 => "1 file".to_owned(),
                    n => format!("{n} files"),
                }
            )
        } else {
            format!("{dest} is up to date: nothing to move")
        });
        let verification = verify::destination(creds, &spec).await;
        let report = Tracker::default().report(
            ReportContext {
                source,
                dest,
                dest_url: Some(plan.dest_url.clone()),
                duration_s: started.elapsed().as_secs_f64(),
                backend: t.backend.as_str().into(),
                skipped_by_plan: if settled {
                    plan.settled_skips()
                } else {
                    plan.skipped_outside_jobs()
                },
                ..Default::default()
            },
            Some(verification),
        );
        return Ok(Executed::Report(report));
    }
    let jobs = plan.job_files(job_prefix, &JobTuning::default());
    let env = child_env(creds);
    let rendered = render::render(&jobs, &AppSettings::for_env(&env))?;
    if t.detach {
        return super::launch::detach(ctx, plan, &rendered, &env, spec).await;
    }
    let specs = match t.backend {
        Backend::Local => {
            let python = tools::python().await?;
            rendered
                .job_files
                .iter()
                .zip(&rendered.job_ids)
                .map(|(file, id)| runner::local_worker(&python, rendered.root(), file, id, &env))
                .collect()
        }
        Backend::Modal => {
            let modal = tools::modal()?;
            vec![runner::modal_run(
                &modal,
                &rendered.app_file(),
                &rendered.jobs_file,
                &rendered.job_ids,
                &env,
                false,
            )]
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let children = Children::default();
    let handle = runner::start(specs, t.concurrency, tx, children.clone());
    let note = match t.backend {
        Backend::Modal => "the Modal app is being stopped (this run was not detached); files committed so far stay at the destination — run the same command again to move the rest",
        Backend::Local => "the local workers are being stopped; files committed so far stay at the destination — run the same command again to move the rest",
    };
    let outcome: WatchOutcome = watch(
        p,
        rx,
        &children,
        Tracker::expecting(rendered.job_ids.clone()),
        WatchOptions {
            per_job_bars: mode != ExecuteMode::Batch && rendered.job_ids.len() > 1,
            ended_means_failed: true,
            interrupt_note: Some(note.into()),
            expected_bytes: plan.transfer.bytes_to_move,
            ..Default::default()
        },
    )
    .await;
    let _ = handle.await;
    if t.backend == Backend::Modal && outcome.first_event.is_none() && !outcome.errors.is_empty() {
        return Err(modal_start_error(&outcome.errors).into());
    }
    let verification = if outcome.interrupted {
        None
    } else {
        p.status(&format!("verifying {dest} (listing it again)…"));
        Some(verify::destination(creds, &spec).await)
    };
    let report = outcome.tracker.report(
        ReportContext {
            source,
            dest,
            dest_url: Some(plan.dest_url.clone()),
            duration_s: started.elapsed().as_secs_f64(),
            backend: t.backend.as_str().into(),
            run_id: None,
            app_ids: outcome.app_ids,
            errors: outcome.errors,
            interrupted: outcome.interrupted,
            skipped_by_plan: plan.skipped_outside_jobs(),
        },
        verification,
    );
    Ok(if outcome.interrupted {
        Executed::Interrupted(report)
    } else {
        Executed::Report(report)
    })
}

/// `modal run` failed before any worker ran: an error naming Modal's message, not a report.
fn modal_start_error(errors: &[String]) -> CliError {
    let text = errors.join("; ");
    // Modal's AuthError texts: "Token missing. Could not authenticate client.", "Token ID or
    // secret is invalid", gRPC UNAUTHENTICATED.
    let lower = text.to_lowercase();
    let auth = ["token", "authenticat", "secret is invalid"]
        .iter()
        .any(|w| lower.contains(w));
    let (status, hint) = if auth {
        (
            ExitStatus::Credentials,
            "check Modal credentials: `modal token new`, or MODAL_TOKEN_ID/MODAL_TOKEN_SECRET (`hubferry doctor` checks them)",
        )
    } else {
        (
            ExitStatus::Failure,
            "check connectivity and credentials with `hubferry doctor`, or run on this machine with --backend local",
        )
    };
    CliError::new(status, format!("the run could not start on Modal: {text}")).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_auth_errors_are_credential_errors() {
        for text in [
            "modal: Token ID or secret is invalid",
            "AuthError: Token missing. Could not authenticate client.",
            "grpc UNAUTHENTICATED",
        ] {
            let err = modal_start_error(&[text.to_owned()]);
            assert_eq!(err.status, ExitStatus::Credentials, "{text}");
        }
        let other = modal_start_error(&["connection refused".to_owned()]);
        assert_eq!(other.status, ExitStatus::Failure);
    }

    fn file(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: None,
            git_oid: None,
            lfs: false,
        }
    }

    #[test]
    fn platform_files_are_named_apart_from_skipped_files() {
        let new_dest = [file(".gitattributes", 1500)];
        assert_eq!(
            skip_summary(new_dest.iter()),
            "skip 0 (0 B), platform files 1 (.gitattributes)"
        );
        let existing = [file(".gitattributes", 1500), file("a.bin", 2000)];
        assert_eq!(
            skip_summary(existing.iter()),
            "skip 1 (2.0 kB), platform files 1 (.gitattributes)"
        );
        assert_eq!(skip_summary([file("a.bin", 7)].iter()), "skip 1 (7 B)");
    }
}
