//! The command line: clap definitions only. Doc comments are the help text; environment
//! variables that can stand in for a flag are declared with `env =` next to it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Move model and dataset repositories between the Hugging Face Hub and ModelScope, cloud to cloud.
///
/// Bytes move inside Modal containers (or on this machine with `--backend local`); every file is
/// verified before a migration is called done.
#[derive(Debug, Parser)]
#[command(
    name = "hubferry",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = crate::cli_examples::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print NDJSON on stdout (events, then one final object) and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only print warnings, errors and the final result.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Also show worker log text and Modal's status lines (on stderr).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Never draw progress bars (plain lines instead).
    #[arg(long, global = true, env = "HUBFERRY_NO_PROGRESS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,
    /// Where detached runs are recorded [default: $XDG_STATE_HOME/hubferry, else ~/.local/state/hubferry].
    #[arg(long, global = true, env = "HUBFERRY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// When to colour output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorArg,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate one repository to the other hub.
    ///
    /// SOURCE is `ns/name` (with --to), `hf:ns/name`, `huggingface:ns/name`, `ms:ns/name`,
    /// `modelscope:ns/name`, or a web URL of either hub (type and revision are taken from it).
    #[command(after_help = crate::cli_examples::MIGRATE)]
    Migrate(MigrateArgs),
    /// Migrate many repositories, one job per repository, a few at a time.
    #[command(after_help = crate::cli_examples::BATCH)]
    Batch(BatchArgs),
    /// Check tokens, namespaces, Modal credentials and local tools; each line OK or FAIL with a fix.
    #[command(after_help = crate::cli_examples::DOCTOR)]
    Doctor(DoctorArgs),
    /// List detached runs recorded on this machine.
    #[command(after_help = crate::cli_examples::RUNS)]
    Runs,
    /// Show (or follow with -f) the progress of a detached run and end with its report.
    #[command(after_help = crate::cli_examples::LOGS)]
    Logs(LogsArgs),
    /// Show the state of a detached run.
    #[command(after_help = crate::cli_examples::STATUS)]
    Status(RunArg),
    /// Stop a detached run (its Modal apps).
    #[command(after_help = crate::cli_examples::STOP)]
    Stop(RunArg),
    /// Compare two copies of a repository file by file (sha256, git blob id, or content).
    ///
    /// Exit 0 only when every file matches; mismatched, missing and extra paths are listed.
    /// `.gitattributes` is platform-generated and not compared; a README.md differing only in its
    /// front-matter license lines (as `migrate` rewrites it for HF) is reported as rewritten.
    #[command(after_help = crate::cli_examples::VERIFY)]
    Verify(VerifyArgs),
    /// Bring every mirror of a mirrors file up to date (incremental; for nightly CI jobs).
    ///
    /// An unchanged mirror costs two listings and starts no worker. Exit 0 when every mirror is
    /// current and verified, 4 when some failed, else the failures' shared code.
    #[command(after_help = crate::cli_examples::SYNC)]
    Sync(SyncArgs),
    /// Delete a repository after a fresh verify proves its copy identical.
    ///
    /// Without `--confirm NS/NAME` (the exact name of SOURCE) it only prints what it would delete.
    #[command(after_help = crate::cli_examples::RETIRE)]
    Retire(RetireArgs),
    /// Download one repository into a local directory, verified file by file.
    ///
    /// A complete, verified copy already in DIR is left alone; an interrupted download resumes.
    #[command(after_help = crate::cli_examples::DOWNLOAD)]
    Download(DownloadArgs),
    /// List every repo of a user or organization, optionally with the state of its copy on the
    /// other hub (missing / partial / verified).
    #[command(after_help = crate::cli_examples::INVENTORY)]
    Inventory(InventoryArgs),
    /// Plan the migration of every repository of a user or organization: one JSON line each.
    ///
    /// Each line says what `apply` would do (create, update, up-to-date, conflict, skip-space),
    /// with files, bytes, ETA, the source commit, visibility on both sides and the README
    /// front-matter changes. On a terminal it prints a table; redirected (or with --json) the
    /// JSON lines, the table then going to stderr.
    #[command(after_help = crate::cli_examples::ORG_PLAN)]
    Plan(OrgPlanArgs),
    /// Carry out a plan file written by `hubferry plan`, exactly as planned.
    ///
    /// A line whose source moved since it was planned is refused (write the plan again); the
    /// others go on. Running it again finishes what is left. Exit codes as for `batch`.
    #[command(after_help = crate::cli_examples::APPLY)]
    Apply(ApplyArgs),
    /// Print a shell completion script for hubferry on stdout.
    #[command(after_help = crate::cli_examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print hubferry's man page (roff) on stdout.
    #[command(after_help = crate::cli_examples::MAN)]
    Man,
    /// Serve the commands as MCP tools over stdio, for agents (docs/mcp.md).
    Mcp,
    /// Parse worker event lines from a file or stdin and print counts (for benchmarks).
    #[command(hide = true)]
    ParseEvents(ParseEventsArgs),
}

/// Platforms on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlatformArg {
    /// Hugging Face Hub.
    #[value(alias = "huggingface")]
    Hf,
    /// ModelScope.
    #[value(alias = "modelscope")]
    Ms,
}

/// Repository types on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepoTypeArg {
    Model,
    Dataset,
    Space,
}

/// How the worker moves files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum MethodArg {
    /// The hub APIs, falling back to git when the Hugging Face API refuses (storage lock).
    #[default]
    Auto,
    /// The hub APIs only.
    Api,
    /// git + git-lfs.
    Git,
}

pub use crate::settings::Backend;

/// What `--parallel` chooses the chunk count for (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    /// The earliest finish, with as few containers as reach it.
    Fastest,
    /// The fewest container-seconds.
    Cheapest,
}

fn parse_within(text: &str) -> Result<f64, String> {
    crate::cost::parse_duration(text)
}

/// Options shared by `migrate` and `batch` that shape the transfer.
#[derive(Debug, Args, Clone)]
pub struct TransferArgs {
    /// Only move files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Split each repository into size-balanced chunks that move in parallel containers.
    #[arg(long)]
    pub parallel: bool,
    /// Target chunk size in decimal GB for --parallel (raised automatically to stay within 100 chunks).
    #[arg(long, value_name = "GB", requires = "parallel")]
    pub chunk_size: Option<f64>,
    /// With --parallel: choose the chunk count for the earliest finish or the fewest container-seconds [default: fastest].
    #[arg(long, value_enum, requires = "parallel", conflicts_with_all = ["chunk_size", "within"])]
    pub target: Option<TargetArg>,
    /// With --parallel: the fewest container-seconds estimated to finish within DURATION (45s, 30m, 2h).
    #[arg(long, value_name = "DURATION", requires = "parallel", conflicts_with = "chunk_size", value_parser = parse_within)]
    pub within: Option<f64>,
    /// Transfer method.
    #[arg(long, value_enum, default_value_t)]
    pub method: MethodArg,
    /// Create the destination private, whatever the source is.
    #[arg(long, conflicts_with = "public")]
    pub private: bool,
    /// Create the destination public, whatever the source is.
    #[arg(long)]
    pub public: bool,
    /// Allow a gated source to become a public destination (with --public).
    #[arg(long, requires = "public")]
    pub allow_public_gated: bool,
    /// Delete destination files that are absent at the source.
    #[arg(long)]
    pub delete: bool,
    /// Where the worker runs.
    #[arg(long, value_enum, default_value_t, env = "HUBFERRY_BACKEND")]
    pub backend: Backend,
    /// `migrate --detach` (batch has no such flag).
    #[arg(skip)]
    pub detach: bool,
    /// `migrate --dry-run` (batch has no such flag).
    #[arg(skip)]
    pub dry_run: bool,
    /// Do not ask for confirmation (deletions).
    #[arg(long, short)]
    pub yes: bool,
    /// How many worker processes (local) or `modal run` clients run at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        env = "HUBFERRY_CONCURRENCY"
    )]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The repository to migrate.
    pub source: String,
    /// Destination platform (inferred from a prefixed or URL source).
    #[arg(long, value_enum)]
    pub to: Option<PlatformArg>,
    /// Destination `ns/name` [default: the source's ns/name].
    #[arg(long, value_name = "NS/NAME")]
    pub dest: Option<String>,
    /// Repository type [default: detected].
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
    /// Source revision (branch, tag or commit) [default: main on HF, master on ModelScope].
    #[arg(long, value_name = "REV", conflicts_with = "revisions")]
    pub revision: Option<String>,
    /// Mirror branches and tags too: `all`, or names separated by commas (the default branch
    /// always; HF main ↔ ModelScope master).
    #[arg(long, value_name = "all|LIST")]
    pub revisions: Option<String>,
    /// Run detached: start on Modal, record the run, return its id (follow with `hubferry logs`).
    #[arg(long)]
    pub detach: bool,
    /// Print the plan (preflight only) without moving anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write a Markdown job summary to FILE [default with GITHUB_STEP_SUMMARY set: that file].
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Repositories to migrate (same forms as `migrate SOURCE`).
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub sources: Vec<String>,
    /// Read repositories from FILE: one `SOURCE [DEST]` per line; `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Destination platform for sources without a prefix.
    #[arg(long, value_enum)]
    pub to: Option<PlatformArg>,
    /// Put every destination under this namespace (keeping each repo's name).
    #[arg(long, value_name = "NS")]
    pub dest_namespace: Option<String>,
    /// Repository type for every source [default: detected].
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
    /// Skip repositories whose destination already exists (default: update them incrementally).
    #[arg(long)]
    pub skip_existing: bool,
    /// How many repositories migrate at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One copy: `hf:ns/name`, `ms:ns/name` (or a web URL; `@REV` or `/tree/REV` for a revision).
    pub source: String,
    /// The other copy, same forms.
    pub dest: String,
    /// Repository type of both [default: detected].
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The mirrors file: `[[mirror]]` tables with name, source, dest (see docs/mirrors.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only sync the mirror with this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Print each mirror's plan without moving anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Mirror branches and tags of every mirror: `all`, or names separated by commas [default:
    /// each mirror's `revisions`, else its default branch only].
    #[arg(long, value_name = "all|LIST")]
    pub revisions: Option<String>,
    /// Also write a Markdown job summary to FILE [default with GITHUB_STEP_SUMMARY set: that file].
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The repository to delete: `hf:ns/name` or `ms:ns/name` (or a web URL).
    pub source: String,
    /// Its copy, which must match file by file: `hf:ns/name` or `ms:ns/name`.
    #[arg(long, value_name = "DEST")]
    pub copy: String,
    /// The exact `ns/name` of SOURCE: without it nothing is deleted.
    #[arg(long, value_name = "NS/NAME")]
    pub confirm: Option<String>,
    /// Repository type of both [default: detected].
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
}

/// How `download` fetches files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DownloadMethod {
    /// Shallow `git` clone plus `git lfs pull` (needs git and git-lfs).
    Git,
    /// The hub's file API, one resumable download per file.
    Api,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The repository: `hf:ns/name`, `ms:ns/name` (or a web URL).
    pub source: String,
    /// Where the files go (created if needed).
    #[arg(long, value_name = "DIR")]
    pub local_dir: PathBuf,
    /// How to fetch [default: git for Hugging Face, api for ModelScope].
    #[arg(long, value_enum)]
    pub method: Option<DownloadMethod>,
    /// Keep the `.git` directory after a git download.
    #[arg(long)]
    pub keep_git: bool,
    /// Repository type [default: detected].
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
    /// Revision (branch or tag) [default: main on HF, master on ModelScope].
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The user or organization.
    pub namespace: String,
    /// The hub to list.
    #[arg(long, value_enum)]
    pub on: PlatformArg,
    /// Also look for each repo's copy on the other hub and verify it.
    #[arg(long)]
    pub check_backup: bool,
    /// Namespace of the copies on the other hub [default: NAMESPACE].
    #[arg(long, value_name = "NS")]
    pub dest_namespace: Option<String>,
    /// Only repos of this type.
    #[arg(long, value_enum)]
    pub repo_type: Option<RepoTypeArg>,
}

/// `plan --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OrgTypeArg {
    Model,
    Dataset,
    /// Models, datasets and (on Hugging Face) spaces.
    #[default]
    All,
}

#[derive(Debug, Args)]
pub struct OrgPlanArgs {
    /// The user or organization whose repositories to plan: `hf:NS` or `ms:NS`.
    pub owner: String,
    /// The destination: `ms`, `hf`, or with a namespace `ms:NS` / `hf:NS` [default namespace: the owner's].
    #[arg(long, value_name = "HUB[:NS]")]
    pub to: String,
    /// Which repositories.
    #[arg(long = "type", value_enum, default_value_t)]
    pub repo_type: OrgTypeArg,
    /// Only repositories whose name matches this glob (`bert-*`).
    #[arg(long = "match", value_name = "GLOB")]
    pub name_glob: Option<String>,
    /// Destination namespace (the same as `--to HUB:NS`).
    #[arg(long, value_name = "NS")]
    pub dest_namespace: Option<String>,
    /// The ETA and cost of each line are estimated for `apply` run with these.
    #[command(flatten)]
    pub run: OrgRunArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file (`hubferry plan … > plan.jsonl`).
    pub plan: PathBuf,
    /// How many repositories migrate at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    #[command(flatten)]
    pub run: OrgRunArgs,
}

/// Where `apply` runs the migrations: what it runs with, and what `plan` estimates for.
#[derive(Debug, Args)]
pub struct OrgRunArgs {
    /// Where the worker runs.
    #[arg(long, value_enum, default_value_t, env = "HUBFERRY_BACKEND")]
    pub backend: Backend,
    /// How many worker processes (local) or `modal run` clients run at once, per repository.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        env = "HUBFERRY_CONCURRENCY"
    )]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Skip the Modal checks (for `--backend local` users).
    #[arg(long)]
    pub no_modal: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run id (as printed by `migrate --detach` and listed by `hubferry runs`).
    pub run: String,
    /// Keep following until the run ends, then print its report.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct RunArg {
    /// Run id (as printed by `migrate --detach` and listed by `hubferry runs`).
    pub run: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ParseEventsArgs {
    /// File of worker output lines [default: stdin].
    pub file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn private_and_public_conflict() {
        let err = Cli::try_parse_from(["hubferry", "migrate", "a/b", "--private", "--public"]);
        assert!(err.is_err());
    }
}
