//! Settings: the one place where command-line arguments, the environment and `.env` become the
//! domain values the engine, preflight and the verifiers take. clap's types stop here; each
//! input is validated once, here.

use std::path::PathBuf;

use crate::cli::{MethodArg, PlatformArg, RepoTypeArg, TargetArg, TransferArgs};
use crate::cost::{self, CostBackend, Sizing, Target};
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
        sizing: crate::cost::Sizing::default(),
    })
}

/// The cost model of `req` run as `t` asks: backend, target, prices (the environment may
/// override them) and the rates measured on this user's previous runs in the same direction
/// (the state directory's throughput history), if any.
pub fn sizing(
    t: &TransferArgs,
    state_flag: Option<PathBuf>,
    req: &MigrateRequest,
) -> anyhow::Result<Sizing> {
    let prices = cost::Prices::from_env().map_err(|e| {
        CliError::bad_input(e).with_hint(format!(
            "unset it, or give dollars per second as a number, e.g. {}={}",
            cost::ENV_PRICE_CPU,
            cost::PRICE_CPU_CORE_S
        ))
    })?;
    let backend = match t.backend {
        Backend::Modal => CostBackend::Modal,
        Backend::Local => CostBackend::Local,
    };
    let to = req.to.unwrap_or(req.source.platform.other());
    let direction = cost::history::direction(req.source.platform, to);
    // Without a state directory there is no history: the defaults apply.
    let rates = crate::run_records::state_dir(state_flag)
        .ok()
        .and_then(|dir| cost::history::rates(&cost::history::load(&dir), backend, &direction));
    Ok(Sizing {
        backend,
        concurrency: match t.backend {
            Backend::Modal => cost::MAX_CONTAINERS,
            Backend::Local => t.concurrency,
        },
        target: match (t.target, t.within) {
            (_, Some(seconds)) => Target::Within(seconds),
            (Some(TargetArg::Cheapest), None) => Target::Cheapest,
            (Some(TargetArg::Fastest) | None, None) => Target::Fastest,
        },
        rates,
        prices,
        container: cost::ContainerSize::default(),
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
