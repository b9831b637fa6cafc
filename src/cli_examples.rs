//! The text that ends each command's `--help`: a few real invocations, and for the top level the
//! exit codes (design.md). Kept apart from `cli.rs` so the flag definitions stay readable.

pub const TOP: &str = "\
Examples:
  hubferry migrate hf:alice/tiny-model                  # HF → ModelScope on Modal, verified
  hubferry migrate ms:alice/tiny-model --backend local  # on this machine instead
  hubferry sync --config mirrors.toml                   # bring every mirror up to date

Exit codes:
  0    done and verified
  1    failed, or not verified
  2    bad input (arguments, ids, files)
  3    credentials missing or refused, or no permission
  4    partial: some repositories, mirrors or chunks failed
  130  interrupted (Ctrl-C); rerun the same command to resume";

pub const MIGRATE: &str = "\
Examples:
  hubferry migrate hf:alice/tiny-model
  hubferry migrate ms:alice/tiny-model --backend local --dest alice/copy
  hubferry migrate hf:alice/big --parallel --detach && hubferry logs RUN -f";

pub const BATCH: &str = "\
Examples:
  hubferry batch hf:alice/a hf:alice/b --jobs 2
  hubferry batch --from-file repos.txt --to ms --dest-namespace acme-ms
  hubferry batch --from-file repos.txt --skip-existing --backend local";

pub const DOCTOR: &str = "\
Examples:
  hubferry doctor
  hubferry doctor --no-modal        # for --backend local only";

pub const RUNS: &str = "\
Examples:
  hubferry runs
  hubferry runs --json";

pub const LOGS: &str = "\
Examples:
  hubferry logs RUN
  hubferry logs RUN --follow";

pub const STATUS: &str = "\
Examples:
  hubferry status RUN
  hubferry status RUN --json";

pub const STOP: &str = "\
Examples:
  hubferry stop RUN
  hubferry runs && hubferry stop RUN";

pub const VERIFY: &str = "\
Examples:
  hubferry verify hf:alice/tiny-model ms:alice/tiny-model
  hubferry verify hf:alice/data ms:alice/data --repo-type dataset --json";

pub const SYNC: &str = "\
Examples:
  hubferry sync --config mirrors.toml
  hubferry sync --config mirrors.toml --only tiny --dry-run
  hubferry sync --config mirrors.toml --summary summary.md --json";

pub const RETIRE: &str = "\
Examples:
  hubferry retire hf:acme/x --copy ms:acme/x                   # what it would delete
  hubferry retire hf:acme/x --copy ms:acme/x --confirm acme/x  # deletes";

pub const DOWNLOAD: &str = "\
Examples:
  hubferry download ms:alice/tiny-model --local-dir ./tiny
  hubferry download hf:alice/tiny-model --local-dir ./tiny --method api";

pub const INVENTORY: &str = "\
Examples:
  hubferry inventory alice --on hf
  hubferry inventory acme --on hf --check-backup --dest-namespace acme-ms";

pub const ORG_PLAN: &str = "\
Examples:
  hubferry plan hf:acme --to ms:acme-org > plan.jsonl   # review it, then:
  hubferry apply plan.jsonl --jobs 2
  hubferry plan hf:acme --to ms --type model --match 'bert-*'";

pub const APPLY: &str = "\
Examples:
  hubferry apply plan.jsonl
  hubferry apply plan.jsonl --jobs 4 --backend local    # run again to finish what is left";

pub const COMPLETIONS: &str = "\
Examples:
  hubferry completions bash > ~/.local/share/bash-completion/completions/hubferry
  hubferry completions zsh > ~/.zfunc/_hubferry        # with fpath+=(~/.zfunc) in ~/.zshrc
  hubferry completions fish > ~/.config/fish/completions/hubferry.fish";

pub const MAN: &str = "\
Examples:
  hubferry man > ~/.local/share/man/man1/hubferry.1 && man hubferry
  hubferry man | man -l -";
