//! Every `--json` object a test reads is checked against its published schema (docs/schemas/),
//! so an output that drifts from its schema, or an object type with no schema at all, fails the
//! test that printed it. The check runs in one long-lived `tests/py/schema_check.py` per test
//! binary (the pinned `jsonschema` package), the same code the Python tests validate with.

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
            .arg(root.join("tests/py/schema_check.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/py/schema_check.py");
        let stdin = child.stdin.take().expect("schema checker stdin");
        let stdout = BufReader::new(child.stdout.take().expect("schema checker stdout"));
        Mutex::new(Checker {
            _child: child,
            stdin,
            stdout,
        })
    })
}

/// The schema `value` was validated against. Panics when `value` does not match its schema, or
/// when its type (or shape) has no published schema.
pub fn check(value: &Value) -> String {
    let mut c = checker().lock().unwrap_or_else(|e| e.into_inner());
    writeln!(c.stdin, "{value}").expect("write to the schema checker");
    c.stdin.flush().expect("flush the schema checker");
    let mut answer = String::new();
    c.stdout
        .read_line(&mut answer)
        .expect("read from the schema checker");
    let answer = answer.trim_end();
    if let Some(name) = answer.strip_prefix("ok ") {
        return name.to_owned();
    }
    if let Some(kind) = answer.strip_prefix("unpublished ") {
        panic!(
            "--json printed an object of type `{kind}` that has no schema in docs/schemas: add its \
             type to src/schemas.rs and run `HUBFERRY_WRITE_SCHEMAS=1 cargo test --lib schemas`:\n{value}"
        );
    }
    panic!("--json output does not match docs/schemas ({answer}):\n{value}");
}
