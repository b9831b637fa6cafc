//! Settings: the one place where command-line arguments, the environment and `.env` become the
//! domain values the engine, preflight and the verifiers take. clap's types stop here; each
//! input is validated once, here.

use std::path::PathBuf;

use crate::cli::{MethodArg, PlatformArg, RepoTypeArg, TransferArgs};
use crate::credentials::Credentials;
use crate::error::CliError;
use crate::plan::{Method, VisibilityChoice};
use crate::preflight::MigrateRequest;
use crate::repo_ref::{self, Platform, RepoRef, RepoType};

impl From<PlatformArg> for Platform {
    fn from(p: PlatformArg) -> Self {
        match p {
            PlatformArg::Hf => Platform::Hf,
            PlatformArg::Ms => Platform::Ms,
        }
    }
}

impl From<RepoTypeArg> for RepoType {
    fn from(t: RepoTypeArg) -> Self {
        match t {
            RepoTypeArg::Model => RepoType::Model,
            RepoTypeArg::Dataset => RepoType::Dataset,
            RepoTypeArg::Space => RepoType::Space,
        }
    }
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Auto => Method::Auto,
            MethodArg::Api => Method::Api,
            MethodArg::Git => Method::Git,
        }
    }
}

/// Where the workers run (also `--backend`'s values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// In Modal containers, through the `modal` CLI.
    #[default]
    Modal,
    /// On this machine, with a local Python.
    Local,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Modal => "modal",
            Backend::Local => "local",
        }
    }
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

/// How the engine runs a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub backend: Backend,
    /// Launch on Modal and return (`--detach`).
    pub detach: bool,
    /// Only plan (`--dry-run`).
    pub dry_run: bool,
    /// Local workers at once.
    pub concurrency: usize,
    pub mode: ExecuteMode,
    /// `--state-dir` / `$HUBFERRY_STATE_DIR`, if given: where a detached run is recorded.
    pub state_flag: Option<PathBuf>,
}

impl RunOptions {
    /// The run options `t` asks for, after checking the flag combinations clap cannot express.
    pub fn from_args(
        t: &TransferArgs,
        mode: ExecuteMode,
        state_flag: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        check_transfer_args(t)?;
        Ok(RunOptions {
            backend: t.backend,
            detach: t.detach,
            dry_run: t.dry_run,
            concurrency: t.concurrency,
            mode,
            state_flag,
        })
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
fn check_transfer_args(t: &TransferArgs) -> anyhow::Result<()> {
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

/// Builds the preflight request from command-line values.
pub fn migrate_request(
    source: &str,
    to: Option<PlatformArg>,
    dest: Option<&str>,
    repo_type_arg: Option<RepoTypeArg>,
    revision: Option<String>,
    t: &TransferArgs,
) -> anyhow::Result<MigrateRequest> {
    let to = to.map(Platform::from);
    let source = repo_ref::parse_source(source, to)?;
    let dest = match dest {
        Some(d) => Some(repo_ref::parse_dest_id(d)?),
        None => None,
    };
    Ok(MigrateRequest {
        source,
        to,
        dest,
        repo_type: repo_type_arg.map(RepoType::from),
        revision,
        include: t.include.clone(),
        exclude: t.exclude.clone(),
        parallel: t.parallel,
        chunk_size_gb: t.chunk_size,
        method: t.method.into(),
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

/// Parses a `platform:ns/name` (or URL) argument, applying `--repo-type`.
pub fn parse_ref(s: &str, repo_type: Option<RepoTypeArg>) -> anyhow::Result<RepoRef> {
    let mut r = repo_ref::parse_source(s, None)?;
    if let Some(t) = repo_type {
        let t = RepoType::from(t);
        if r.repo_type.is_some_and(|given| given != t) {
            return Err(CliError::bad_input(format!(
                "{s}: --repo-type {} contradicts the type in the reference",
                t.as_str()
            ))
            .with_hint("drop --repo-type, or fix the reference")
            .into());
        }
        r.repo_type = Some(t);
    }
    Ok(r)
}

/// `hubferry plan OWNER --to HUB[:NS]`: the owner, the destination hub and namespace, the types
/// to list and the name filter, checked before any request.
pub fn org_request(args: &crate::cli::OrgPlanArgs) -> anyhow::Result<crate::org_plan::OrgRequest> {
    use crate::cli::OrgTypeArg;
    let hub_and_ns = |text: &str, what: &str| -> anyhow::Result<(Platform, Option<String>)> {
        let (hub, ns) = match text.split_once(':') {
            Some((h, n)) => (h, Some(n.trim().trim_end_matches('/').to_string())),
            None => (text, None),
        };
        let platform = Platform::parse(hub.trim()).ok_or_else(|| {
            CliError::bad_input(format!("{what} `{text}`: `{hub}` is not a hub"))
                .with_hint("write hf:NAMESPACE or ms:NAMESPACE (e.g. `hubferry plan hf:acme --to ms:acme-org`)")
        })?;
        if let Some(ns) = &ns {
            if ns.is_empty()
                || ns.contains('/')
                || repo_ref::parse_dest_id(&format!("{ns}/x")).is_err()
            {
                return Err(CliError::bad_input(format!(
                    "{what} `{text}`: `{ns}` is not a user or organization name"
                ))
                .with_hint("pass the namespace alone, e.g. hf:acme")
                .into());
            }
        }
        Ok((platform, ns))
    };
    let (platform, owner) = hub_and_ns(&args.owner, "owner")?;
    let owner = owner.ok_or_else(|| {
        CliError::bad_input(format!("owner `{}` names no namespace", args.owner))
            .with_hint("write hf:NAMESPACE or ms:NAMESPACE")
    })?;
    let (to, to_ns) = hub_and_ns(&args.to, "--to")?;
    if to == platform {
        return Err(
            CliError::bad_input(format!("--to {} is the owner's own hub", args.to))
                .with_hint("plan toward the other hub: hf → ms or ms → hf")
                .into(),
        );
    }
    let dest_namespace = match (to_ns, &args.dest_namespace) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
            return Err(CliError::bad_input(format!(
                "--to {} and --dest-namespace {b} name different namespaces",
                args.to
            ))
            .with_hint("give the destination namespace once")
            .into())
        }
        (Some(a), _) => a,
        (None, Some(b)) => {
            hub_and_ns(&format!("{to}:{b}"), "--dest-namespace")?;
            b.clone()
        }
        (None, None) => owner.clone(),
    };
    let given = match args.repo_type {
        OrgTypeArg::Model => Some(RepoType::Model),
        OrgTypeArg::Dataset => Some(RepoType::Dataset),
        OrgTypeArg::All => None,
    };
    let name_filter = match &args.name_glob {
        Some(g) => crate::selection::Selection::new(std::slice::from_ref(g), &[]).map_err(|e| {
            CliError::bad_input(format!("--match {g}: {e}"))
                .with_hint("a glob as --include takes: *, ?, [abc], {a,b}")
        })?,
        None => crate::selection::Selection::all(),
    };
    Ok(crate::org_plan::OrgRequest {
        platform,
        owner,
        to,
        dest_namespace,
        types: platform.candidate_types(given),
        name_filter,
    })
}

/// The run options of `hubferry apply` (each line runs as one repository of a batch).
pub fn apply_run_options(
    args: &crate::cli::ApplyArgs,
    state_flag: Option<PathBuf>,
) -> anyhow::Result<RunOptions> {
    if args.jobs == 0 || args.concurrency == 0 {
        return Err(CliError::bad_input("--jobs and --concurrency must be at least 1").into());
    }
    Ok(RunOptions {
        backend: args.backend,
        detach: false,
        dry_run: false,
        concurrency: args.concurrency,
        mode: ExecuteMode::Batch,
        state_flag,
    })
}
