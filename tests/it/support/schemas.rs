//! Every `--json` object a test reads is checked against its published schema (docs/schemas/),
//! so an output that drifts from the schema fails the test that printed it. The check runs in one
//! long-lived `schema_check.py` per test binary (the pinned `jsonschema` package).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

struct Checker {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static CHECKER: OnceLock<Mutex<Checker>> = OnceLock::new();

fn checker() -> &'static Mutex<Checker> {
    CHECKER.get_or_init(|| {
        let root = super::root();
        let mut child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("tests/it/support/schema_check.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/it/support/schema_check.py");
        let stdin = child.stdin.take().expect("schema checker stdin");
        let stdout = BufReader::new(child.stdout.take().expect("schema checker stdout"));
        Mutex::new(Checker {
            _child: child,
            stdin,
            stdout,
        })
    })
}

/// The schema `value` was validated against, or None for an object type with no published schema.
/// Panics, naming the field, when `value` does not match its schema.
pub fn check(value: &Value) -> Option<String> {
    let mut c = checker().lock().unwrap_or_else(|e| e.into_inner());
    writeln!(c.stdin, "{value}").expect("write to the schema checker");
    c.stdin.flush().expect("flush the schema checker");
    let mut answer = String::new();
    c.stdout
        .read_line(&mut answer)
        .expect("read from the schema checker");
    let answer = answer.trim_end();
    if let Some(name) = answer.strip_prefix("ok ") {
        return Some(name.to_owned());
    }
    if answer.starts_with("unpublished ") {
        return None;
    }
    panic!("--json output does not match docs/schemas ({answer}):\n{value}");
}
