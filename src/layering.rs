//! The dependency rule (docs/architecture.md), checked on the source text: nothing outside
//! `src/commands/` reaches into the `commands` module (lib.rs only dispatches to it), and a command
//! imports no other command — only `Context` from `commands/mod.rs`.

use std::path::{Path, PathBuf};

use regex::Regex;

/// The commands module's path, spelled so this file never contains it itself: a plain-text search
/// for the path (a cheap CI check) then finds only real violations.
const COMMANDS: &str = concat!("crate", "::", "commands");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code before the file's unit tests (whose `super::` is the file itself).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Every way `text` names another module's item through `prefix` ([`COMMANDS`], `super`),
/// braces expanded one level: `super::{Context, x}` gives `Context` and `x`.
fn named_through(text: &str, prefix: &str) -> Vec<String> {
    let re = Regex::new(&format!(r"\b{}::(\{{[^}}]*\}}|\w+)", regex::escape(prefix))).unwrap();
    let mut names = Vec::new();
    for cap in re.captures_iter(text) {
        let item = &cap[1];
        match item.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(group) => names.extend(
                group
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or("").to_owned())
                    .filter(|s| !s.is_empty()),
            ),
            None => names.push(item.to_owned()),
        }
    }
    names
}

/// The rule's violations in the tree under `src`, one line each.
pub(crate) fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let commands = src.join("commands");
    let mut found = Vec::new();
    for path in files {
        let rel = path.strip_prefix(src).unwrap().display().to_string();
        if rel == "layering.rs" {
            continue;
        }
        let text = code(&path);
        if !path.starts_with(&commands) {
            let mut rest = text.replace("pub mod commands;", "");
            if rel == "lib.rs" {
                rest = rest.replace("commands::run(", "");
            }
            if rest.contains("commands::") {
                found.push(format!("{rel} reaches into {COMMANDS}"));
            }
            continue;
        }
        if rel == "commands/mod.rs" {
            continue;
        }
        for name in named_through(&text, COMMANDS) {
            if name != "Context" {
                found.push(format!("{rel} imports {COMMANDS}::{name}"));
            }
        }
        // A command file's `super` is the dispatch module; inside a command's own directory it is
        // that command, and `super::super` is the dispatch module again.
        let in_own_dir = path.parent() != Some(commands.as_path());
        let dispatch = if in_own_dir { "super::super" } else { "super" };
        for name in named_through(&text, dispatch) {
            if name != "Context" {
                found.push(format!("{rel} imports {dispatch}::{name}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_module_outside_commands_imports_them_and_no_command_imports_another() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(violations(&src), Vec::<String>::new());
    }

    #[test]
    fn the_check_sees_each_kind_of_violation() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::create_dir_all(src.join("commands/download")).unwrap();
        let write = |rel: &str, text: &str| std::fs::write(src.join(rel), text).unwrap();
        write(
            "lib.rs",
            "pub mod commands;\nfn main() { commands::run(); }\n",
        );
        write("tools.rs", &format!("use {COMMANDS}::CliError;\n"));
        write("commands/mod.rs", "mod batch;\n");
        write(
            "commands/batch.rs",
            &format!(
                "use super::{{Context, migrate}};\nuse {COMMANDS}::sync::one;\n\
                 #[cfg(test)]\nmod tests {{ use super::overall; }}\n"
            ),
        );
        write("commands/retire.rs", "use super::Context;\n");
        write(
            "commands/download/git.rs",
            "use super::bytes_bar;\nuse super::super::verify::side;\n",
        );
        assert_eq!(
            violations(src),
            [
                format!("commands/batch.rs imports {COMMANDS}::sync"),
                "commands/batch.rs imports super::migrate".to_owned(),
                "commands/download/git.rs imports super::super::verify".to_owned(),
                format!("tools.rs reaches into {COMMANDS}"),
            ]
        );
    }
}
