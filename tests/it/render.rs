//! The rendered Modal app imports offline with the pinned `modal` client and asks Modal for what
//! the design says (24 h timeout, retries, the secret built from the environment, the worker
//! package shipped), and passes ruff like the rest of the project's Python.

use std::process::Command;

use hubferry::render::{render, AppSettings, APP_FILE};

use crate::support::root;

#[test]
fn rendered_app_imports_offline_with_the_promised_settings() {
    let jobs = vec![serde_json::json!({"hubferry_job": 1, "job": "r0c0"})];
    let env = vec![
        ("HF_TOKEN".to_string(), "unused".to_string()),
        ("MODELSCOPE_API_TOKEN".to_string(), "unused".to_string()),
    ];
    let rendered = render(&jobs, &AppSettings::for_env(&env)).unwrap();
    let script = r#"
import json, warnings
warnings.simplefilter("ignore")
import app
info = app.transfer.info()
print(json.dumps({
    "timeout": info.timeout, "max_retries": info.max_retries, "secrets": info.secrets,
    "cpu": info.cpu, "memory_mib": info.memory_mib, "disk": info.ephemeral_disk_mib,
    "run_all_timeout": app.run_all.info().timeout,
    "mounts": [str(m) for m in app.transfer._spec_.mounts],
}))
"#;
    let out = Command::new(root().join(".venv/bin/python"))
        .args(["-c", script])
        .current_dir(rendered.root())
        .env("HF_TOKEN", "x")
        .env("MODELSCOPE_API_TOKEN", "y")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["timeout"], 86400);
    assert_eq!(info["run_all_timeout"], 86400);
    assert_eq!(info["max_retries"], 2);
    let secrets = info["secrets"].to_string();
    assert!(
        secrets.contains("HF_TOKEN") && secrets.contains("MODELSCOPE_API_TOKEN"),
        "{secrets}"
    );
    assert!(
        !secrets.contains("\"x\""),
        "secret values are never part of the definition"
    );

    let ruff = Command::new(root().join(".venv/bin/ruff"))
        .args(["check", "--quiet", "--config"])
        .arg(root().join("pyproject.toml"))
        .arg(rendered.root().join(APP_FILE))
        .output()
        .unwrap();
    assert!(
        ruff.status.success(),
        "{}",
        String::from_utf8_lossy(&ruff.stdout)
    );
}
