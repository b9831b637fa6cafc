//! The MCP tools: their argument types (the input schemas are generated from them) and the
//! hubferry command line each one runs. Arguments become argv words only after validation: no
//! value may look like a flag, carry a control character, or be one of the tokens in this
//! process's environment, and positionals follow `--`.

use schemars::JsonSchema;
use serde::Deserialize;

/// A hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Hub {
    /// Hugging Face Hub.
    Hf,
    /// ModelScope.
    Ms,
}

impl Hub {
    fn as_arg(self) -> &'static str {
        match self {
            Hub::Hf => "hf",
            Hub::Ms => "ms",
        }
    }

    fn platform(self) -> crate::repo_ref::Platform {
        match self {
            Hub::Hf => crate::repo_ref::Platform::Hf,
            Hub::Ms => crate::repo_ref::Platform::Ms,
        }
    }
}

/// A repository type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RepoKind {
    Model,
    Dataset,
    Space,
}

impl RepoKind {
    fn as_arg(self) -> &'static str {
        match self {
            RepoKind::Model => "model",
            RepoKind::Dataset => "dataset",
            RepoKind::Space => "space",
        }
    }
}

/// How the worker moves files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The hub APIs, falling back to git when the Hugging Face API refuses (storage lock).
    Auto,
    /// The hub APIs only.
    Api,
    /// git + git-lfs.
    Git,
}

impl Method {
    fn as_arg(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Api => "api",
            Method::Git => "git",
        }
    }
}

/// What `parallel` chooses the chunk count for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The earliest finish, with as few containers as reach it.
    Fastest,
    /// The fewest container-seconds.
    Cheapest,
}

impl Target {
    fn as_arg(self) -> &'static str {
        match self {
            Target::Fastest => "fastest",
            Target::Cheapest => "cheapest",
        }
    }
}

/// Where the worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkerBackend {
    /// In Modal containers (default).
    Modal,
    /// On the machine running the MCP server.
    Local,
}

impl WorkerBackend {
    fn as_arg(self) -> &'static str {
        match self {
            WorkerBackend::Modal => "modal",
            WorkerBackend::Local => "local",
        }
    }
}

/// `doctor`: tokens, namespaces, Modal credentials and local tools.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorArgs {
    /// Skip the Modal checks (for the local backend).
    #[serde(default)]
    pub no_modal: bool,
}

/// One repository to migrate and how; `plan` and `migrate` share it. (Unknown argument names are
/// refused against the schema, as serde cannot deny them through `flatten`.)
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct TransferArgs {
    /// The repository: `hf:ns/name`, `ms:ns/name`, `ns/name` with `to`, or a web URL of either hub.
    pub source: String,
    /// Destination hub (inferred from a prefixed or URL source).
    pub to: Option<Hub>,
    /// Destination `ns/name` [default: the source's ns/name].
    pub dest: Option<String>,
    /// Repository type [default: detected].
    pub repo_type: Option<RepoKind>,
    /// Source revision (branch, tag or commit).
    pub revision: Option<String>,
    #[serde(flatten)]
    pub options: TransferOptions,
    /// The destination's exact ns/name, confirming a deletion or a widening of visibility.
    pub confirm: Option<String>,
}

/// How files move and what the destination becomes: the options `plan`, `migrate` and `batch`
/// share.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
pub struct TransferOptions {
    /// Only move files matching these globs.
    #[serde(default)]
    pub include: Vec<String>,
    /// Skip files matching these globs.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Split each repository into size-balanced chunks that move in parallel containers.
    #[serde(default)]
    pub parallel: bool,
    /// Target chunk size in decimal GB (with `parallel`).
    pub chunk_size: Option<f64>,
    /// With `parallel`: choose the chunk count for the earliest finish or the fewest
    /// container-seconds [default: fastest].
    pub target: Option<Target>,
    /// With `parallel`: the cheapest chunk count estimated to finish within this time (`30m`,
    /// `2h`, `1h30m`, seconds).
    pub within: Option<String>,
    /// Transfer method [default: auto].
    pub method: Option<Method>,
    /// Create the destination private, whatever the source is.
    #[serde(default)]
    pub private: bool,
    /// Create the destination public, whatever the source is. A private or gated source made
    /// public needs `confirm` equal to the destination's ns/name.
    #[serde(default)]
    pub public: bool,
    /// Delete destination files that are absent at the source; needs `confirm` equal to the
    /// destination's ns/name.
    #[serde(default)]
    pub delete: bool,
    /// Where the worker runs [default: modal, or $HUBFERRY_BACKEND].
    pub backend: Option<WorkerBackend>,
}

/// `migrate`: a [`TransferArgs`] run attached (progress notifications, then the report) or
/// detached (the run id).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct MigrateArgs {
    #[serde(flatten)]
    pub transfer: TransferArgs,
    /// Start on Modal, record the run and return its id at once (follow with `run_logs`).
    #[serde(default)]
    pub detach: bool,
    /// How many worker processes (local) or `modal run` clients run at once.
    pub concurrency: Option<u32>,
}

/// One repository of a `batch`: its source, its own destination, and its confirmation.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRepo {
    /// `hf:ns/name`, `ms:ns/name`, `ns/name` with `to`, or a web URL of either hub.
    pub source: String,
    /// This repository's destination `ns/name` [default: `dest_namespace`/its name, else the
    /// source's ns/name].
    pub dest: Option<String>,
    /// This repository's destination ns/name, exactly: needed when the batch deletes
    /// (`delete`) or makes this private or gated source public (`public`).
    pub confirm: Option<String>,
}

/// `batch`: several repositories, each with its own destination, a few at a time, then one
/// `batch_report`. With `delete` or `public` every repository is planned first, and the call is
/// refused before anything moves unless each one that would delete or widen has its `confirm`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct BatchArgs {
    /// The repositories, at least one.
    pub repos: Vec<BatchRepo>,
    /// Destination hub for sources without a prefix.
    pub to: Option<Hub>,
    /// Put every destination without its own `dest` under this namespace, keeping its name.
    pub dest_namespace: Option<String>,
    /// Repository type of every source [default: detected].
    pub repo_type: Option<RepoKind>,
    /// Leave repositories whose destination exists alone (default: update them incrementally).
    #[serde(default)]
    pub skip_existing: bool,
    /// How many repositories migrate at once [default: 2].
    pub jobs: Option<u32>,
    /// How many worker processes (local) or `modal run` clients each repository runs at once.
    pub concurrency: Option<u32>,
    #[serde(flatten)]
    pub options: TransferOptions,
}

/// A detached run.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// Run id (or a unique prefix), as `migrate` with `detach` and `runs` return it.
    pub run: String,
}

/// `logs RUN`: a snapshot, or with `follow` the run followed to its verified report.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLogsArgs {
    /// Run id (or a unique prefix).
    pub run: String,
    /// Follow the run until it ends (progress notifications), then verify and return the report.
    #[serde(default)]
    pub follow: bool,
}

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `verify`: two copies compared file by file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// One copy: `hf:ns/name`, `ms:ns/name` or a web URL (`@REV` for a revision).
    pub source: String,
    /// The other copy, same forms.
    pub dest: String,
    /// Repository type of both [default: detected].
    pub repo_type: Option<RepoKind>,
}

/// `inventory`: every repository of a user or organization.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryArgs {
    /// The user or organization.
    pub namespace: String,
    /// The hub to list.
    pub on: Hub,
    /// Also look for each repo's copy on the other hub and verify it.
    #[serde(default)]
    pub check_backup: bool,
    /// Namespace of the copies on the other hub [default: namespace].
    pub dest_namespace: Option<String>,
    /// Only repos of this type.
    pub repo_type: Option<RepoKind>,
}

/// `sync`: the mirrors of a mirrors file (docs/mirrors.md).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncArgs {
    /// Path of the mirrors file (`[[mirror]]` tables with name, source, dest).
    pub config: String,
    /// Only the mirrors with these names.
    #[serde(default)]
    pub only: Vec<String>,
}

/// `retire`: delete a repository after a fresh verify proves its copy identical.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireArgs {
    /// The repository to delete: `hf:ns/name` or `ms:ns/name` (or a web URL).
    pub source: String,
    /// Its copy, which must match file by file.
    pub copy: String,
    /// The exact ns/name of `source`: without it nothing runs.
    pub confirm: Option<String>,
    /// Repository type of both [default: detected].
    pub repo_type: Option<RepoKind>,
}

/// An argument refused before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub hint: String,
}

impl Refusal {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// The environment variables holding tokens: an argument equal to one of their values is refused
/// (a token belongs in the server's environment, never in argv).
const TOKEN_VARS: &[&str] = &[
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "MODELSCOPE_API_TOKEN",
    "MODELSCOPE_TOKEN",
    "MODAL_TOKEN_ID",
    "MODAL_TOKEN_SECRET",
];

/// Builds argv words after checking each value.
#[derive(Debug, Default)]
pub struct Argv {
    words: Vec<String>,
    positionals: Vec<String>,
}

impl Argv {
    fn new(command: &[&str]) -> Self {
        Self {
            words: command.iter().map(|s| (*s).to_owned()).collect(),
            positionals: Vec::new(),
        }
    }

    fn flag(&mut self, name: &str, on: bool) -> &mut Self {
        if on {
            self.words.push(name.to_owned());
        }
        self
    }

    fn value(&mut self, name: &str, field: &str, value: &str) -> Result<&mut Self, Refusal> {
        check_value(field, value)?;
        self.words.push(name.to_owned());
        self.words.push(value.to_owned());
        Ok(self)
    }

    fn opt(&mut self, name: &str, field: &str, value: Option<&str>) -> Result<&mut Self, Refusal> {
        match value {
            Some(v) => self.value(name, field, v),
            None => Ok(self),
        }
    }

    fn each(&mut self, name: &str, field: &str, values: &[String]) -> Result<&mut Self, Refusal> {
        for v in values {
            self.value(name, field, v)?;
        }
        Ok(self)
    }

    fn positional(&mut self, field: &str, value: &str) -> Result<&mut Self, Refusal> {
        check_value(field, value)?;
        if value.trim().is_empty() {
            return Err(Refusal::new(
                format!("`{field}` is empty"),
                "give a repository as hf:ns/name, ms:ns/name or a web URL",
            ));
        }
        self.positionals.push(value.to_owned());
        Ok(self)
    }

    /// The words, `--json`, then `--` and the positionals.
    pub fn finish(&self) -> Vec<String> {
        let mut out = self.words.clone();
        out.push("--json".to_owned());
        if !self.positionals.is_empty() {
            out.push("--".to_owned());
            out.extend(self.positionals.iter().cloned());
        }
        out
    }
}

fn check_value(field: &str, value: &str) -> Result<(), Refusal> {
    let secrets: Vec<(&str, String)> = TOKEN_VARS
        .iter()
        .filter_map(|var| std::env::var(var).ok().map(|v| (*var, v)))
        .collect();
    check_value_against(field, value, &secrets)
}

fn check_value_against(
    field: &str,
    value: &str,
    secrets: &[(&str, String)],
) -> Result<(), Refusal> {
    if value.starts_with('-') {
        return Err(Refusal::new(
            format!("`{field}` may not start with '-': {value:?}"),
            "pass a value, not a command-line flag",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Refusal::new(
            format!("`{field}` contains a control character"),
            "pass a plain value",
        ));
    }
    // Short values are not secrets worth matching (and would refuse ordinary arguments).
    if let Some((var, _)) = secrets
        .iter()
        .find(|(_, secret)| secret.len() >= 8 && value.contains(secret.as_str()))
    {
        return Err(Refusal::new(
            format!("`{field}` contains the value of ${var}"),
            "tokens stay in the MCP server's environment; never pass them as arguments",
        ));
    }
    Ok(())
}

pub fn doctor(a: &DoctorArgs) -> Vec<String> {
    Argv::new(&["doctor"])
        .flag("--no-modal", a.no_modal)
        .finish()
}

/// `migrate … --dry-run`: the plan, nothing moves, so no confirmation is needed (and `public` for
/// a private or gated source is planned as such, for the user to confirm).
pub fn plan(t: &TransferArgs) -> Result<Vec<String>, Refusal> {
    let mut argv = transfer(t, true)?;
    argv.flag("--dry-run", true);
    Ok(argv.finish())
}

/// `migrate … --yes` (the MCP client has no terminal to answer a prompt; the caller has checked
/// `confirm` for what the prompt would guard).
pub fn migrate(a: &MigrateArgs) -> Result<Vec<String>, Refusal> {
    // A private or gated source becomes public only with a confirmation, checked by the caller.
    let mut argv = transfer(&a.transfer, a.transfer.confirm.is_some())?;
    argv.flag("--detach", a.detach).flag("--yes", true);
    if let Some(n) = a.concurrency {
        argv.value("--concurrency", "concurrency", &n.to_string())?;
    }
    Ok(argv.finish())
}

fn transfer(t: &TransferArgs, public_confirmed: bool) -> Result<Argv, Refusal> {
    let mut argv = Argv::new(&["migrate"]);
    argv.positional("source", &t.source)?
        .opt("--to", "to", t.to.map(Hub::as_arg))?
        .opt("--dest", "dest", t.dest.as_deref())?
        .opt(
            "--repo-type",
            "repo_type",
            t.repo_type.map(RepoKind::as_arg),
        )?
        .opt("--revision", "revision", t.revision.as_deref())?;
    options(&mut argv, &t.options, public_confirmed)?;
    Ok(argv)
}

/// The [`TransferOptions`] as flags; `--allow-public-gated` only when `public` was confirmed.
fn options(argv: &mut Argv, o: &TransferOptions, confirmed: bool) -> Result<(), Refusal> {
    if o.private && o.public {
        return Err(Refusal::new(
            "`private` and `public` exclude each other",
            "set at most one of them",
        ));
    }
    let choices = [
        ("chunk_size", o.chunk_size.is_some()),
        ("target", o.target.is_some()),
        ("within", o.within.is_some()),
    ];
    let chosen: Vec<&str> = choices.iter().filter(|c| c.1).map(|c| c.0).collect();
    if let Some(first) = chosen.first().filter(|_| !o.parallel) {
        return Err(Refusal::new(
            format!("`{first}` needs `parallel`"),
            format!("set parallel: true, or drop {first}"),
        ));
    }
    if chosen.len() > 1 {
        return Err(Refusal::new(
            format!("`{}` exclude each other", chosen.join("` and `")),
            "choose the chunks one way: chunk_size, target or within",
        ));
    }
    argv.each("--include", "include", &o.include)?
        .each("--exclude", "exclude", &o.exclude)?
        .flag("--parallel", o.parallel)
        .opt(
            "--chunk-size",
            "chunk_size",
            o.chunk_size.map(|g| g.to_string()).as_deref(),
        )?
        .opt("--target", "target", o.target.map(Target::as_arg))?
        .opt("--within", "within", o.within.as_deref())?
        .opt("--method", "method", o.method.map(Method::as_arg))?
        .flag("--private", o.private)
        .flag("--public", o.public)
        .flag("--allow-public-gated", o.public && confirmed)
        .flag("--delete", o.delete)
        .opt("--backend", "backend", o.backend.map(WorkerBackend::as_arg))?;
    Ok(())
}

/// What of a plan needs `confirm`, if anything.
pub fn needs_confirmation(t: &TransferOptions, plan: &serde_json::Value) -> Option<String> {
    let private = plan["source_private"].as_bool().unwrap_or(true);
    let gated = plan["source_gated"].as_bool().unwrap_or(true);
    let mut what = Vec::new();
    if t.delete {
        what.push(format!(
            "deletes destination files the source lacks ({} now)",
            plan["files_to_delete"].as_u64().unwrap_or(0)
        ));
    }
    if t.public && (private || gated) {
        let kind = if gated { "gated" } else { "private" };
        what.push(format!("makes a {kind} source public"));
    }
    (!what.is_empty()).then(|| what.join(" and "))
}

/// The refusal of a batch some of whose repositories need a confirmation they lack
/// (`unconfirmed`: source, the destination ns/name to confirm, what it would do).
pub fn batch_refusal(total: usize, unconfirmed: &[(String, String, String)]) -> Refusal {
    let each: Vec<String> = unconfirmed
        .iter()
        .map(|(source, dest, what)| format!("{source} → {dest} {what}"))
        .collect();
    let confirms: Vec<String> = unconfirmed
        .iter()
        .map(|(source, dest, _)| format!("{source}: confirm \"{dest}\""))
        .collect();
    Refusal::new(
        format!(
            "batch refused, nothing was run: {} of {total} repositories need confirmation: {}",
            unconfirmed.len(),
            each.join("; ")
        ),
        format!(
            "show the user each plan, then pass each repository's confirm equal to its \
             destination ({})",
            confirms.join(", ")
        ),
    )
}

/// The ns/name the confirmation must repeat: the plan's destination.
pub fn plan_dest_id(plan: &serde_json::Value) -> Option<&str> {
    plan["dest"]["id"].as_str()
}

/// One repository of a batch as a `migrate --dry-run` of its own: the plan its confirmation is
/// checked against (the same destination `batch` gives it, see [`batch_lines`]).
pub fn batch_plan(a: &BatchArgs, line: &BatchLine) -> Result<Vec<String>, Refusal> {
    plan(&TransferArgs {
        source: line.source.clone(),
        to: a.to,
        dest: line.dest.clone(),
        repo_type: a.repo_type,
        options: a.options.clone(),
        ..Default::default()
    })
}

/// A batch file's line: a source and its destination ns/name (None: the source's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLine {
    pub source: String,
    pub dest: Option<String>,
}

/// The batch file `batch --from-file` reads: one `SOURCE [DEST]` per repository, each
/// destination resolved here (its own `dest`, else under `dest_namespace`) so that the plans
/// checked for confirmation and the batch agree on it.
pub fn batch_lines(a: &BatchArgs) -> Result<Vec<BatchLine>, Refusal> {
    if a.repos.is_empty() {
        return Err(Refusal::new(
            "batch: `repos` is empty",
            "list at least one repository: {\"source\": \"hf:ns/name\", \"dest\": \"ns/name\"}",
        ));
    }
    if a.jobs == Some(0) {
        return Err(Refusal::new(
            "batch: `jobs` must be at least 1",
            "drop jobs (2 at a time), or pass a positive number",
        ));
    }
    if let Some(ns) = &a.dest_namespace {
        file_word("dest_namespace", ns)?;
    }
    a.repos
        .iter()
        .enumerate()
        .map(|(i, r)| {
            file_word(&format!("repos[{i}].source"), &r.source)?;
            let dest = match (&r.dest, &a.dest_namespace) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(ns)) => Some(
                    crate::repo_ref::dest_in_namespace(&r.source, a.to.map(Hub::platform), ns)
                        .map_err(|e| {
                            Refusal::new(
                                format!("repos[{i}].source {:?}: {e}", r.source),
                                "give a repository as hf:ns/name, ms:ns/name or a web URL",
                            )
                        })?,
                ),
                (None, None) => None,
            };
            if let Some(d) = &dest {
                file_word(&format!("repos[{i}].dest"), d)?;
            }
            Ok(BatchLine {
                source: r.source.clone(),
                dest,
            })
        })
        .collect()
}

/// A value written as one word of a batch file line: the argv rules, and no blank or `#`
/// (they separate words and start comments there).
fn file_word(field: &str, value: &str) -> Result<(), Refusal> {
    check_value(field, value)?;
    if value.trim().is_empty() || value.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(Refusal::new(
            format!("`{field}` must be one word without blanks or '#': {value:?}"),
            "give a repository as hf:ns/name, ms:ns/name or a web URL, and a destination as ns/name",
        ));
    }
    Ok(())
}

/// The batch file's text for [`batch_lines`].
pub fn batch_file(lines: &[BatchLine]) -> String {
    lines
        .iter()
        .map(|l| match &l.dest {
            Some(d) => format!("{} {d}\n", l.source),
            None => format!("{}\n", l.source),
        })
        .collect()
}

/// `batch --from-file FILE --yes`: the caller has checked every confirmation the plans asked for
/// (so `--allow-public-gated` goes with `public`), and there is no terminal to answer a prompt.
pub fn batch(a: &BatchArgs, file: &std::path::Path) -> Result<Vec<String>, Refusal> {
    let mut argv = Argv::new(&["batch", "--from-file"]);
    argv.words.push(file.display().to_string());
    argv.opt("--to", "to", a.to.map(Hub::as_arg))?
        .opt(
            "--repo-type",
            "repo_type",
            a.repo_type.map(RepoKind::as_arg),
        )?
        .flag("--skip-existing", a.skip_existing);
    if let Some(n) = a.jobs {
        argv.value("--jobs", "jobs", &n.to_string())?;
    }
    if let Some(n) = a.concurrency {
        argv.value("--concurrency", "concurrency", &n.to_string())?;
    }
    options(&mut argv, &a.options, a.options.public)?;
    argv.flag("--yes", true);
    Ok(argv.finish())
}

pub fn runs() -> Vec<String> {
    Argv::new(&["runs"]).finish()
}

pub fn run_status(a: &RunArgs) -> Result<Vec<String>, Refusal> {
    Ok(Argv::new(&["status"]).positional("run", &a.run)?.finish())
}

pub fn stop_run(a: &RunArgs) -> Result<Vec<String>, Refusal> {
    Ok(Argv::new(&["stop"]).positional("run", &a.run)?.finish())
}

pub fn run_logs(a: &RunLogsArgs) -> Result<Vec<String>, Refusal> {
    let mut argv = Argv::new(&["logs"]);
    argv.flag("--follow", a.follow).positional("run", &a.run)?;
    Ok(argv.finish())
}

pub fn verify(a: &VerifyArgs) -> Result<Vec<String>, Refusal> {
    let mut argv = Argv::new(&["verify"]);
    argv.positional("source", &a.source)?
        .positional("dest", &a.dest)?
        .opt(
            "--repo-type",
            "repo_type",
            a.repo_type.map(RepoKind::as_arg),
        )?;
    Ok(argv.finish())
}

pub fn inventory(a: &InventoryArgs) -> Result<Vec<String>, Refusal> {
    let mut argv = Argv::new(&["inventory"]);
    argv.positional("namespace", &a.namespace)?
        .value("--on", "on", a.on.as_arg())?
        .flag("--check-backup", a.check_backup)
        .opt(
            "--dest-namespace",
            "dest_namespace",
            a.dest_namespace.as_deref(),
        )?
        .opt(
            "--repo-type",
            "repo_type",
            a.repo_type.map(RepoKind::as_arg),
        )?;
    Ok(argv.finish())
}

pub fn sync(a: &SyncArgs, dry_run: bool) -> Result<Vec<String>, Refusal> {
    let mut argv = Argv::new(&["sync"]);
    argv.value("--config", "config", &a.config)?
        .each("--only", "only", &a.only)?
        .flag("--dry-run", dry_run);
    Ok(argv.finish())
}

/// `retire` runs only with `confirm`; the CLI itself checks it equals SOURCE's ns/name before
/// any request, and refuses unless a fresh verify proves the copy identical.
pub fn retire(a: &RetireArgs) -> Result<Vec<String>, Refusal> {
    let Some(confirm) = a.confirm.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Err(Refusal::new(
            format!(
                "retire {} refused: `confirm` is missing, nothing was run",
                a.source
            ),
            "run `verify` (or `inventory` with check_backup) first, then pass confirm equal to \
             the exact ns/name of the repository to delete",
        ));
    };
    let mut argv = Argv::new(&["retire"]);
    argv.positional("source", &a.source)?
        .value("--copy", "copy", &a.copy)?
        .value("--confirm", "confirm", confirm)?
        .opt(
            "--repo-type",
            "repo_type",
            a.repo_type.map(RepoKind::as_arg),
        )?;
    Ok(argv.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer_args(source: &str) -> TransferArgs {
        TransferArgs {
            source: source.into(),
            ..Default::default()
        }
    }

    #[test]
    fn positionals_follow_a_double_dash_after_json() {
        let mut t = transfer_args("hf:alice/m");
        t.options.backend = Some(WorkerBackend::Local);
        t.options.include = vec!["*.json".into()];
        assert_eq!(
            plan(&t).unwrap(),
            [
                "migrate",
                "--include",
                "*.json",
                "--backend",
                "local",
                "--dry-run",
                "--json",
                "--",
                "hf:alice/m"
            ]
        );
    }

    #[test]
    fn a_value_that_looks_like_a_flag_is_refused() {
        let err = plan(&transfer_args("--delete")).unwrap_err();
        assert!(err.message.contains("may not start with '-'"), "{err:?}");
        let mut t = transfer_args("hf:alice/m");
        t.dest = Some("-x".into());
        assert!(plan(&t).is_err());
        let v = VerifyArgs {
            source: "hf:a/b".into(),
            dest: "ms:a/b\n--delete".into(),
            repo_type: None,
        };
        assert!(verify(&v)
            .unwrap_err()
            .message
            .contains("control character"));
    }

    #[test]
    fn a_value_holding_a_token_is_refused() {
        let secrets = [
            ("HF_TOKEN", "hf_secretvalue123".to_owned()),
            ("X", "short".into()),
        ];
        let err = check_value_against("dest", "alice/hf_secretvalue123", &secrets).unwrap_err();
        assert_eq!(err.message, "`dest` contains the value of $HF_TOKEN");
        assert!(!err.message.contains("hf_secretvalue123"));
        assert!(check_value_against("dest", "alice/short-name", &secrets).is_ok());
    }

    #[test]
    fn retire_without_confirm_builds_no_command() {
        let a = RetireArgs {
            source: "hf:alice/m".into(),
            copy: "ms:alice/m".into(),
            confirm: None,
            repo_type: None,
        };
        assert!(retire(&a).unwrap_err().message.contains("nothing was run"));
        let a = RetireArgs {
            confirm: Some("alice/m".into()),
            ..a
        };
        assert_eq!(
            retire(&a).unwrap(),
            [
                "retire",
                "--copy",
                "ms:alice/m",
                "--confirm",
                "alice/m",
                "--json",
                "--",
                "hf:alice/m"
            ]
        );
    }

    #[test]
    fn widening_and_deleting_need_confirmation() {
        let plan = serde_json::json!({"source_private": true, "source_gated": false,
                                      "files_to_delete": 2, "dest": {"id": "acme/m"}});
        let mut o = TransferOptions::default();
        assert_eq!(needs_confirmation(&o, &plan), None);
        o.public = true;
        assert_eq!(
            needs_confirmation(&o, &plan).as_deref(),
            Some("makes a private source public")
        );
        o.public = false;
        o.delete = true;
        assert!(needs_confirmation(&o, &plan).unwrap().contains("2 now"));
        let public = serde_json::json!({"source_private": false, "source_gated": false});
        let o = TransferOptions {
            public: true,
            ..Default::default()
        };
        assert_eq!(needs_confirmation(&o, &public), None);
        assert_eq!(plan_dest_id(&plan), Some("acme/m"));
    }

    #[test]
    fn chunk_choices_need_parallel_and_exclude_each_other() {
        let mut t = transfer_args("hf:alice/m");
        t.options.within = Some("30m".into());
        assert_eq!(plan(&t).unwrap_err().message, "`within` needs `parallel`");
        t.options.parallel = true;
        let argv = plan(&t).unwrap();
        assert!(
            argv.windows(2).any(|w| w == ["--within", "30m"]),
            "{argv:?}"
        );
        t.options.target = Some(Target::Cheapest);
        assert_eq!(
            plan(&t).unwrap_err().message,
            "`target` and `within` exclude each other"
        );
    }

    #[test]
    fn public_is_planned_as_asked_but_runs_gated_only_when_confirmed() {
        let gated = |argv: &[String]| argv.iter().any(|a| a == "--allow-public-gated");
        let mut a = MigrateArgs {
            transfer: transfer_args("hf:alice/m"),
            ..Default::default()
        };
        a.transfer.options.public = true;
        assert!(gated(&plan(&a.transfer).unwrap()));
        assert!(!gated(&migrate(&a).unwrap()));
        a.transfer.confirm = Some("alice/m".into());
        assert!(gated(&migrate(&a).unwrap()));
    }

    fn batch_args(repos: &[(&str, Option<&str>)]) -> BatchArgs {
        BatchArgs {
            repos: repos
                .iter()
                .map(|(source, dest)| BatchRepo {
                    source: (*source).into(),
                    dest: dest.map(Into::into),
                    confirm: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_batch_file_gives_each_repo_its_destination() {
        let mut a = batch_args(&[("hf:alice/a", Some("acme/a-copy")), ("hf:alice/b", None)]);
        assert_eq!(
            batch_file(&batch_lines(&a).unwrap()),
            "hf:alice/a acme/a-copy\nhf:alice/b\n"
        );
        a.dest_namespace = Some("acme-ms".into());
        assert_eq!(
            batch_file(&batch_lines(&a).unwrap()),
            "hf:alice/a acme/a-copy\nhf:alice/b acme-ms/b\n"
        );
        let line = &batch_lines(&a).unwrap()[1];
        assert_eq!(
            batch_plan(&a, line).unwrap(),
            [
                "migrate",
                "--dest",
                "acme-ms/b",
                "--dry-run",
                "--json",
                "--",
                "hf:alice/b"
            ]
        );
    }

    #[test]
    fn a_batch_refuses_words_the_batch_file_cannot_hold() {
        for (source, dest) in [
            ("hf:alice/a b", None),
            ("hf:alice/a#x", None),
            ("hf:alice/a", Some("acme/a --delete")),
            ("--help", None),
        ] {
            let err = batch_lines(&batch_args(&[(source, dest)])).unwrap_err();
            assert!(err.message.starts_with("`repos[0]."), "{err:?}");
        }
        assert!(batch_lines(&batch_args(&[])).is_err());
        let zero = BatchArgs {
            jobs: Some(0),
            ..batch_args(&[("hf:alice/a", None)])
        };
        assert!(batch_lines(&zero).unwrap_err().message.contains("jobs"));
    }

    #[test]
    fn a_batch_runs_with_yes_and_allows_public_gated_only_with_public() {
        let mut a = batch_args(&[("hf:alice/a", None)]);
        a.jobs = Some(3);
        a.options.backend = Some(WorkerBackend::Local);
        let file = std::path::Path::new("/tmp/b.txt");
        assert_eq!(
            batch(&a, file).unwrap(),
            [
                "batch",
                "--from-file",
                "/tmp/b.txt",
                "--jobs",
                "3",
                "--backend",
                "local",
                "--yes",
                "--json"
            ]
        );
        a.options.public = true;
        let argv = batch(&a, file).unwrap();
        assert!(
            argv.contains(&"--public".to_owned())
                && argv.contains(&"--allow-public-gated".to_owned())
        );
    }

    #[test]
    fn a_batch_refusal_names_every_repo_to_confirm() {
        let r = batch_refusal(
            3,
            &[(
                "hf:alice/p".into(),
                "alice/p".into(),
                "makes a private source public".into(),
            )],
        );
        assert_eq!(
            r.message,
            "batch refused, nothing was run: 1 of 3 repositories need confirmation: hf:alice/p → \
             alice/p makes a private source public"
        );
        assert!(
            r.hint.contains("hf:alice/p: confirm \"alice/p\""),
            "{}",
            r.hint
        );
    }
}
