//! `hubferry doctor` against the sandbox and the Modal stand-in: OK lines when all is well, a FAIL
//! line with a fix (and exit 3) for a refused token.

use crate::our_snapshot;
use crate::support::{TestContext, HF_WRONG};

#[test]
fn doctor_checks_tokens_modal_and_tools() {
    let ctx = TestContext::new();
    let out = ctx.run(&["doctor", "--json"]);
    assert_eq!(out.code, Some(0), "{out}");
    let checks = out.of_type("check");
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in [
        "hf token",
        "modelscope token",
        "modal",
        "modal credentials",
        "git",
        "git-lfs",
        "python",
    ] {
        assert!(names.contains(&name), "{name} not checked: {names:?}");
    }
    assert!(checks.iter().all(|c| c["ok"] == true), "{out}");
    let hf = checks.iter().find(|c| c["name"] == "hf token").unwrap();
    assert!(hf["detail"].as_str().unwrap().contains("alice"), "{hf}");
    assert_eq!(out.last_json()["ok"], true);
    assert!(ctx.argv_log().iter().any(|l| l == "modal token info"));

    let mut cmd = ctx.command(&["doctor", "--no-modal"]);
    cmd.env("HF_TOKEN", HF_WRONG);
    let out = ctx.run_command(cmd, std::time::Duration::from_secs(60));
    assert_eq!(out.code, Some(3), "{out}");
    // The token's lines only: the others name this machine's tool versions. (The refused token is
    // never echoed: `run_command` checks every output for it.)
    let token_lines: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("hf token"))
        .take_while(|l| l.contains("hf token") || l.trim_start().starts_with("fix: "))
        .collect();
    our_snapshot!(ctx, token_lines.join("\n"), @"
    FAIL hf token           Hugging Face GET /api/whoami-v2 answered 401: [Unauthorized] Invalid credentials in Authorization header
                            fix: the token was refused: create a new one at https://huggingface.co/settings/tokens and export HF_TOKEN
    ");
}

#[test]
fn doctor_reads_modelscope_organizations_as_every_command_does_from_dotenv_too() {
    let ctx = TestContext::new();
    // The same source preflight reads: the environment first, then `.env` in the working directory.
    let dotenv = ctx.path("home/.env");
    std::fs::write(&dotenv, "HUBFERRY_MS_ORGS=\"acme-ms, other-org\"\n").unwrap();
    let out = ctx.run_with_env(
        &["doctor", "--no-modal", "--json"],
        &[("HUBFERRY_MS_ORGS", None)],
    );
    std::fs::remove_file(&dotenv).unwrap();
    let doctor = out.last_json();
    assert_eq!(
        doctor["modelscope"]["organizations"],
        serde_json::json!(["acme-ms", "other-org"]),
        "{out}"
    );
    assert_eq!(doctor["modelscope"]["user"], "alice", "{out}");
    let orgs = &doctor["hf"]["organizations"];
    assert!(orgs.is_array(), "{out}");
}
