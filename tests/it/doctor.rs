//! `hubferry doctor` against the sandbox and the Modal stand-in: OK lines when all is well, a FAIL
//! line with a fix (and exit 3) for a refused token.

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
    let line = out.stdout.lines().find(|l| l.contains("hf token")).unwrap();
    assert!(line.starts_with("FAIL"), "{out}");
    assert!(out.stdout.contains("fix: "), "{out}");
    assert!(
        !out.stdout.contains("hf_wrongTESTtoken"),
        "a refused token is never echoed"
    );
}
