//! Snapshot tests of human output: [`our_snapshot!`] wraps insta with the filters that make a
//! run's output the same on every machine and every run (temp paths, ports, unique repo names,
//! run and app ids, hashes, durations, rates, dates), so that a change of wording shows up as a
//! reviewed diff.
//!
//! Short outputs are inline (`@"…"`), long ones are files under `tests/it/snapshots/`.
//!
//! What a changed or missing snapshot does (insta 1.49, `INSTA_UPDATE` unset = `auto`):
//! - on a developer's machine the assertion fails and insta writes the new text beside the old
//!   (`.snap.new`, or a `.pending-snap` for inline ones) for `cargo insta review`;
//! - with `CI` set (CI runs `.ci/run` with `CI=true`), `auto` means `no`: the assertion fails and
//!   nothing is written.
//!
//! Either way the test fails; only `INSTA_UPDATE=always|force|unseen` or `INSTA_FORCE_PASS=1`
//! would make it pass, so under CI [`snapshot_settings`] refuses to run with those set.

use std::path::Path;

use super::{root, unique_names, Output, TestContext};

/// `our_snapshot!(ctx, output, @"…")` (inline) or `our_snapshot!(ctx, "name", output)` (the file
/// `tests/it/snapshots/it__MODULE__name.snap`): the output's exit code, stdout and stderr (or a
/// [`Transcript`] of several runs), through the context's filters.
#[macro_export]
macro_rules! our_snapshot {
    ($ctx:expr, $output:expr, @$snapshot:literal) => {{
        let _bound = $crate::support::snapshot::snapshot_settings(&$ctx).bind_to_scope();
        ::insta::assert_snapshot!(
            $crate::support::snapshot::Snapshot::text(&$output),
            @$snapshot
        );
    }};
    ($ctx:expr, $name:literal, $output:expr) => {{
        let _bound = $crate::support::snapshot::snapshot_settings(&$ctx).bind_to_scope();
        ::insta::assert_snapshot!($name, $crate::support::snapshot::Snapshot::text(&$output));
    }};
}

/// What a snapshot shows.
pub trait Snapshot {
    fn text(&self) -> String;
}

impl Snapshot for Output {
    fn text(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "killed".to_owned(), |c| c.to_string());
        format!(
            "exit: {code}\n----- stdout -----\n{}----- stderr -----\n{}",
            with_newline(&self.stdout),
            with_newline(&in_stable_order(&self.stderr))
        )
    }
}

/// A run's plain progress lines in an order that does not depend on timing: files finish in
/// parallel, so each block of consecutive `moved`/`deleted` lines is sorted; `progress` lines
/// come every 5 s of a run, so how many there are depends on the machine's speed: they are left
/// out.
fn in_stable_order(stderr: &str) -> String {
    let is_file_line = |l: &str| l.starts_with("  moved    ") || l.starts_with("  deleted  ");
    let mut out: Vec<&str> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in stderr.lines().filter(|l| !l.starts_with("  progress ")) {
        if is_file_line(line) {
            block.push(line);
            continue;
        }
        block.sort_unstable();
        out.append(&mut block);
        out.push(line);
    }
    block.sort_unstable();
    out.append(&mut block);
    let mut text = out.join("\n");
    if stderr.ends_with('\n') {
        text.push('\n');
    }
    text
}

impl Snapshot for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl Snapshot for Transcript {
    fn text(&self) -> String {
        self.0.clone()
    }
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

/// Several runs in one snapshot, each under its command line: for tables of refusals.
#[derive(Default)]
pub struct Transcript(String);

impl Transcript {
    /// Adds `$ hubferry ARGS` and what it printed.
    pub fn push(&mut self, args: &[&str], out: &Output) {
        self.push_noted(args, "", out);
    }

    /// Like [`Transcript::push`], with a note on the command line (`HF_TOKEN=bob`).
    pub fn push_noted(&mut self, args: &[&str], note: &str, out: &Output) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("{note} ")
        };
        self.0.push_str(&format!(
            "$ {note}hubferry {}\n{}",
            args.join(" "),
            out.text()
        ));
    }
}

/// insta's settings for one context: its filters, and the CI rule above.
pub fn snapshot_settings(ctx: &TestContext) -> insta::Settings {
    refuse_updates_in_ci();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/it/snapshots"));
    settings.set_prepend_module_to_snapshot(true);
    settings.set_omit_expression(true);
    for (pattern, replacement) in filters(ctx) {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

/// The filters, in the order they apply: specific values first, then the generic shapes.
fn filters(ctx: &TestContext) -> Vec<(String, String)> {
    let literal = |s: &str| regex::escape(s);
    let mut out = vec![
        (literal(&path_text(ctx.dir.path())), "[TEMP]".to_owned()),
        (
            format!(
                r"{}/hubferry-it-[A-Za-z0-9_]+",
                literal(&path_text(&std::env::temp_dir()))
            ),
            "[TEMP]".to_owned(),
        ),
        (literal(&path_text(&root())), "[ROOT]".to_owned()),
    ];
    for (endpoint, name) in [
        (&ctx.world.hf_endpoint, "[HF_ENDPOINT]"),
        (&ctx.world.ms_endpoint, "[MS_ENDPOINT]"),
        (&ctx.world.admin, "[ADMIN]"),
        (&ctx.world.modal_server_url, "[MODAL_SERVER]"),
    ] {
        // `\b`: a port must not match the start of a longer one.
        out.push((
            format!(r"{}\b", literal(endpoint.trim_end_matches('/'))),
            name.to_owned(),
        ));
    }
    out.push((r"127\.0\.0\.1:\d+".into(), "[LOCALHOST]".into()));
    for (issued, base) in unique_names() {
        // Not followed by a digit: `x-1` must not match the start of `x-12`.
        out.push((
            format!(r"\b{}([^0-9]|$)", literal(&issued)),
            format!("{base}-[N]${{1}}"),
        ));
    }
    out.extend(
        [
            (r"\brun-[0-9a-z]{8,12}\b", "[RUN_ID]"),
            (r"\bap-[0-9A-Za-z]{6,}\b", "[APP_ID]"),
            (r"\b[0-9a-f]{64}\b", "[SHA256]"),
            (r"\b[0-9a-f]{40}\b", "[SHA]"),
            // A short commit id after `@` (provenance lines: `mirrors hf:ns/x@abc1234`).
            (r"@[0-9a-f]{7}\b", "@[SHORT_SHA]"),
            (r"\b\d+(\.\d+)? [kMGT]?B/s\b", "[RATE]"),
            // Container-seconds and dollars follow measured times (docs/cost.md).
            (r"\b\d+(\.\d+)? container-s\b", "[N] container-s"),
            (r"\$\d+(\.\d+)?", "[USD]"),
            (
                r"\b\d+(\.\d+)?s\b|\b\d+m\d{2}s\b|\b\d+h\d{2}m\b",
                "[DURATION]",
            ),
            // A duration's width varies: so does the padding of a table column it sits in.
            // (not after a label: `time:      4.2s` keeps its alignment)
            (r"([^\s:]) {2,}\[DURATION\]", "${1} [DURATION]"),
            (r"\[DURATION\] {2,}", "[DURATION] "),
            (
                r"\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b",
                "[DATE]",
            ),
        ]
        .map(|(p, r)| (p.to_owned(), r.to_owned())),
    );
    out
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// Under CI a snapshot must be compared, never accepted: fails the run on the variables that
/// would write or pass a changed snapshot (insta's own CI detection: `CI` set and not
/// `false`/`0`/empty, or `TF_BUILD` set).
fn refuse_updates_in_ci() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let ci = match var("CI").as_deref() {
        Some("false" | "0") => false,
        Some(_) => true,
        None => var("TF_BUILD").is_some(),
    };
    if !ci {
        return;
    }
    if let Some(update) = var("INSTA_UPDATE") {
        assert!(
            matches!(update.as_str(), "no" | "auto"),
            "INSTA_UPDATE={update} under CI would accept changed snapshots; unset it"
        );
    }
    if let Some(force) = var("INSTA_FORCE_PASS") {
        assert!(
            matches!(force.as_str(), "0" | "false"),
            "INSTA_FORCE_PASS={force} under CI would pass changed snapshots; unset it"
        );
    }
}
