//! Settings: the one place where command-line arguments, the environment and `.env` become the
//! domain values the engine, preflight and the verifiers take. clap's types stop here; each
//! input is validated once, here.

use std::path::PathBuf;

use crate::cli::{MethodArg, PlatformArg, RepoTypeArg, TargetArg, TransferArgs};
use crate::cost::{self, CostBackend, Sizing, Target};
use crate::credentials::Credentials;
use crate::error::CliError;
use crate::mirrors_file::Mirror;
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

    /// What the cost model calls this backend.
    pub fn cost_backend(self) -> CostBackend {
        match self {
            Backend::Modal => CostBackend::Modal,
            Backend::Local => CostBackend::Local,
        }
    }

    /// The backend a run record names (`as_str`); None for a name this version does not know.
    pub fn from_name(name: &str) -> Option<Backend> {
        [Backend::Modal, Backend::Local]
            .into_iter()
            .find(|b| b.as_str() == name)
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
    /// `apply`'s line across its repositories, fed by this run's worker events too.
    pub across: Option<std::sync::Arc<crate::across_repos::AcrossRepos>>,
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
            across: None,
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
    Ok(MigrateRequest {
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
        ..request(
            source,
            to.map(Platform::from),
            dest,
            repo_type_arg.map(RepoType::from),
            revision,
        )?
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
    let target = match (t.target, t.within) {
        (_, Some(seconds)) => Target::Within(seconds),
        (Some(TargetArg::Cheapest), None) => Target::Cheapest,
        (Some(TargetArg::Fastest) | None, None) => Target::Fastest,
    };
    sizing_of(
        t.backend,
        t.concurrency,
        target,
        state_flag,
        &direction_of(req),
    )
}

/// The source and destination hubs of `req`.
fn direction_of(req: &MigrateRequest) -> (Platform, Platform) {
    (req.source.platform, req.to)
}

/// The cost model of each line of `plan OWNER`: `apply` run as `run` says, the fastest target,
/// the history in the state directory for the direction `from` → `to`.
pub fn org_sizing(
    run: &crate::cli::OrgRunArgs,
    state_flag: Option<PathBuf>,
    from: Platform,
    to: Platform,
) -> anyhow::Result<Sizing> {
    if run.concurrency == 0 {
        return Err(CliError::bad_input("--concurrency must be at least 1").into());
    }
    sizing_of(
        run.backend,
        run.concurrency,
        Target::Fastest,
        state_flag,
        &(from, to),
    )
}

/// The cost model of one mirror of a mirrors file: its backend, the fastest target, the
/// history in the state directory.
pub fn mirror_sizing(
    m: &Mirror,
    state_flag: Option<PathBuf>,
    req: &MigrateRequest,
) -> anyhow::Result<Sizing> {
    let concurrency = RunOptions::for_mirror(m, false, None).concurrency;
    sizing_of(
        m.backend,
        concurrency,
        Target::Fastest,
        state_flag,
        &direction_of(req),
    )
}

fn sizing_of(
    backend_choice: Backend,
    concurrency: usize,
    target: Target,
    state_flag: Option<PathBuf>,
    &(from, to): &(Platform, Platform),
) -> anyhow::Result<Sizing> {
    let prices = cost::Prices::from_env().map_err(|e| {
        CliError::bad_input(e).with_hint(format!(
            "unset it, or give dollars per second as a number, e.g. {}={}",
            cost::ENV_PRICE_CPU,
            cost::PRICE_CPU_CORE_S
        ))
    })?;
    let backend = backend_choice.cost_backend();
    let direction = cost::history::direction(from, to);
    // Without a state directory there is no history: the defaults apply.
    let rates = crate::run_records::state_dir(state_flag)
        .ok()
        .and_then(|dir| cost::history::rates(&cost::history::load(&dir), backend, &direction));
    Ok(Sizing {
        backend,
        concurrency: match backend_choice {
            Backend::Modal => cost::MAX_CONTAINERS,
            Backend::Local => concurrency,
        },
        target,
        rates,
        prices,
        container: cost::ContainerSize::default(),
    })
}

/// The preflight request of one mirror of a mirrors file (a `sync` step): its selection, method
/// and `delete`, every other option at its default.
pub fn mirror_request(m: &Mirror) -> anyhow::Result<MigrateRequest> {
    Ok(MigrateRequest {
        include: m.include.clone(),
        exclude: m.exclude.clone(),
        method: m.method,
        // `delete = true` in the mirrors file is the confirmation (CI has no terminal to ask).
        delete: m.delete,
        dest: Some(m.dest_id.clone()),
        repo_type: m.repo_type,
        revision: m.revision.clone(),
        ..MigrateRequest::new(m.source.clone(), m.to)
    })
}

impl RunOptions {
    /// How `sync` runs one mirror: on the mirror's backend, attached, four local workers at most.
    pub fn for_mirror(m: &Mirror, dry_run: bool, state_flag: Option<PathBuf>) -> Self {
        RunOptions {
            backend: m.backend,
            detach: false,
            dry_run,
            concurrency: 4,
            mode: ExecuteMode::Mirror,
            state_flag,
            across: None,
        }
    }
}

/// A request with the source, destination, type and revision parsed and checked, every transfer
/// option at its default.
fn request(
    source: &str,
    to: Option<Platform>,
    dest: Option<&str>,
    repo_type: Option<RepoType>,
    revision: Option<String>,
) -> anyhow::Result<MigrateRequest> {
    let source = repo_ref::parse_source(source, to)?;
    check_repo_type(&source, repo_type, &source.to_string())?;
    let dest = match dest {
        Some(d) => Some(repo_ref::parse_dest_id(d)?),
        None => None,
    };
    let to = to.unwrap_or(source.platform.other());
    Ok(MigrateRequest {
        dest,
        repo_type,
        revision,
        ..MigrateRequest::new(source, to)
    })
}

/// `--repo-type` must agree with a type the reference itself gives (`hf:datasets/…`, a URL): the
/// one check of it, for every command that takes the flag.
pub fn check_repo_type(
    r: &RepoRef,
    repo_type: Option<RepoType>,
    input: &str,
) -> Result<(), CliError> {
    match (repo_type, r.repo_type) {
        (Some(t), Some(given)) if t != given => Err(CliError::bad_input(format!(
            "{input}: --repo-type {t} contradicts the {given} given in the reference"
        ))
        .with_hint("drop --repo-type, or fix the reference")),
        _ => Ok(()),
    }
}

/// Parses a `platform:ns/name` (or URL) argument, applying `--repo-type`.
pub fn parse_ref(s: &str, repo_type: Option<RepoTypeArg>) -> anyhow::Result<RepoRef> {
    let mut r = repo_ref::parse_source(s, None)?;
    let repo_type = repo_type.map(RepoType::from);
    check_repo_type(&r, repo_type, s)?;
    r.repo_type = repo_type.or(r.repo_type);
    Ok(r)
}

/// `hubferry plan OWNER --to HUB[:NS]`: the owner, the destination hub and namespace, the types
/// to list and the name filter, checked before any request.
pub fn org_request(
    args: &crate::cli::OrgPlanArgs,
    state_flag: Option<PathBuf>,
) -> anyhow::Result<crate::org_plan::OrgRequest> {
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
        sizing: org_sizing(&args.run, state_flag, platform, to)?,
    })
}

/// The run options of `hubferry apply` (each line runs as one repository of a batch).
pub fn apply_run_options(
    args: &crate::cli::ApplyArgs,
    state_flag: Option<PathBuf>,
) -> anyhow::Result<RunOptions> {
    if args.jobs == 0 || args.run.concurrency == 0 {
        return Err(CliError::bad_input("--jobs and --concurrency must be at least 1").into());
    }
    Ok(RunOptions {
        backend: args.run.backend,
        detach: false,
        dry_run: false,
        concurrency: args.run.concurrency,
        mode: ExecuteMode::Batch,
        state_flag,
        across: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{classify, ExitStatus};
    use clap::Parser;

    #[test]
    fn a_backend_is_read_back_from_the_name_run_records_keep() {
        for b in [Backend::Modal, Backend::Local] {
            assert_eq!(Backend::from_name(b.as_str()), Some(b));
        }
        assert_eq!(Backend::from_name("lambda"), None);
    }

    fn migrate_args(argv: &[&str]) -> crate::cli::MigrateArgs {
        let argv = [&["hubferry", "migrate"], argv].concat();
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Migrate(args) => args,
            _ => unreachable!(),
        }
    }

    fn request_of(argv: &[&str]) -> anyhow::Result<MigrateRequest> {
        let a = migrate_args(argv);
        migrate_request(&a.source, a.to, None, a.repo_type, None, &a.transfer)
    }

    #[test]
    fn repo_type_is_checked_against_the_reference_once_for_every_command() {
        let err = request_of(&["hf:datasets/acme/x", "--repo-type", "model"]).unwrap_err();
        assert_eq!(classify(&err).0, ExitStatus::BadInput);
        assert!(err.to_string().contains("contradicts"), "{err}");
        let req = request_of(&["hf:acme/x", "--repo-type", "dataset"]).unwrap();
        assert_eq!(
            (req.repo_type, req.source.repo_type),
            (Some(RepoType::Dataset), None)
        );

        let err = parse_ref("hf:datasets/acme/x", Some(RepoTypeArg::Model)).unwrap_err();
        assert_eq!(classify(&err).0, ExitStatus::BadInput);
        let r = parse_ref("hf:acme/x", Some(RepoTypeArg::Dataset)).unwrap();
        assert_eq!(r.repo_type, Some(RepoType::Dataset));
    }

    #[test]
    fn chunk_size_must_be_positive() {
        for bad in ["--chunk-size=-1", "--chunk-size=0", "--chunk-size=NaN"] {
            let a = migrate_args(&["hf:acme/x", "--parallel", bad]);
            let err = RunOptions::from_args(&a.transfer, ExecuteMode::Single, None).unwrap_err();
            assert_eq!(classify(&err).0, ExitStatus::BadInput, "{bad}");
        }
        let a = migrate_args(&["hf:acme/x", "--parallel", "--chunk-size", "1e-9"]);
        assert!(RunOptions::from_args(&a.transfer, ExecuteMode::Single, None).is_ok());
    }

    #[test]
    fn a_mirror_becomes_the_request_its_fields_say() {
        let m = &crate::mirrors_file::parse(
            "[[mirror]]\nname = \"a\"\nsource = \"ms:x/a\"\ndest = \"hf:y/b\"\nrepo_type = \"dataset\"\nmethod = \"git\"\ndelete = true\n",
            "m.toml",
        )
        .unwrap()[0];
        let req = mirror_request(m).unwrap();
        assert_eq!(req.to, Platform::Hf);
        assert_eq!(req.dest_id(), "y/b");
        assert_eq!(req.repo_type, Some(RepoType::Dataset));
        assert_eq!((req.method, req.delete), (Method::Git, true));
        let opts = RunOptions::for_mirror(m, true, None);
        assert_eq!(
            (opts.backend, opts.dry_run, opts.detach),
            (Backend::Modal, true, false)
        );
    }
}
