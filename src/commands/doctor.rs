//! `hubferry doctor`: checks everything a migration needs, one line each, OK or FAIL with a fix.
//! Exit 0 when all pass, 3 when a credential check fails, 1 otherwise.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::Context;
use crate::cli::DoctorArgs;
use crate::credentials::TokenSource;
use crate::error::ExitStatus;
use crate::hub::Hubs;
use crate::printer::Tone;
use crate::schemas::{CheckObject, DoctorObject, HubIdentity, ModalIdentity, ToolInfo};
use crate::tools;
use crate::workers::CHILD_ENV;

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
    /// Failing it means a credentials problem (exit 3).
    #[serde(skip)]
    credential: bool,
}

fn ok(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        detail: detail.into(),
        fix: None,
        credential: false,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
        credential: false,
    }
}

fn cred(mut check: Check) -> Check {
    check.credential = true;
    check
}

pub async fn run(ctx: &Context, args: DoctorArgs) -> anyhow::Result<ExitStatus> {
    let mut checks = Vec::new();
    let mut found = DoctorObject {
        kind: "doctor".into(),
        ..Default::default()
    };
    match crate::credentials::Credentials::from_env() {
        Err(err) => checks.push(cred(fail("credentials", err.to_string(), err.hint()))),
        Ok(creds) => {
            ctx.printer.redact(&creds.secrets());
            let Hubs { hf, ms } = Hubs::new(&creds);
            checks.push(cred(if !hf.has_token() {
                fail(
                    "hf token",
                    "no Hugging Face token (HF_TOKEN, or the token file of `hf auth login`)",
                    "create a write token at https://huggingface.co/settings/tokens and export HF_TOKEN=… (or run `hf auth login`)",
                )
            } else {
                match hf.whoami().await {
                    Ok(user) => {
                        let detail = format!(
                            "{} (orgs: {}) at {}",
                            user.name,
                            if user.orgs.is_empty() { "none".into() } else { user.orgs.join(", ") },
                            creds.hf_base()
                        );
                        found.hf = Some(HubIdentity {
                            user: user.name,
                            organizations: user.orgs,
                            endpoint: creds.hf_base(),
                        });
                        ok("hf token", detail)
                    }
                    Err(err) => fail(
                        "hf token",
                        err.to_string(),
                        "the token was refused: create a new one at https://huggingface.co/settings/tokens and export HF_TOKEN",
                    ),
                }
            }));
            checks.push(cred(if !ms.has_token() {
                let detail = match &creds.ms_saved_login_note {
                    Some(note) => format!("no ModelScope token: {note}"),
                    None => "no ModelScope token (MODELSCOPE_API_TOKEN, MODELSCOPE_TOKEN or `modelscope login`)".to_owned(),
                };
                fail(
                    "modelscope token",
                    detail,
                    "create an access token at https://modelscope.cn/my/myaccesstoken and export MODELSCOPE_API_TOKEN=… (or run `modelscope login`)",
                )
            } else {
                match ms.login().await {
                    Ok(user) => {
                        found.modelscope = Some(HubIdentity {
                            user: user.username.clone(),
                            organizations: std::env::var("HUBFERRY_MS_ORGS")
                                .unwrap_or_default()
                                .split(',')
                                .map(str::trim)
                                .filter(|o| !o.is_empty())
                                .map(str::to_owned)
                                .collect(),
                            endpoint: creds.ms_base(),
                        });
                        let from_login = match &creds.ms_token_source {
                            Some(source @ TokenSource::SavedLogin(_)) => format!(" (from {source})"),
                            _ => String::new(),
                        };
                        ok(
                            "modelscope token",
                            format!("{} at {}{from_login}", user.username, creds.ms_base()),
                        )
                    }
                    Err(err) => fail(
                        "modelscope token",
                        err.to_string(),
                        "the token was refused: create a new one at https://modelscope.cn/my/myaccesstoken and export MODELSCOPE_API_TOKEN",
                    ),
                }
            }));
        }
    }
    if !args.no_modal {
        match tools::modal() {
            Ok(modal) => {
                checks.push(ok("modal", modal.display().to_string()));
                found.tools.insert("modal".into(), tool_info(&modal).await);
                let (check, identity) = modal_token(&modal).await;
                found.modal = identity;
                checks.push(cred(check));
            }
            Err(err) => checks.push(fail(
                "modal",
                err.message.clone(),
                err.hint.clone().unwrap_or_default(),
            )),
        }
    }
    for (name, path) in [("git", tools::git()), ("git-lfs", tools::git_lfs())] {
        let info = match &path {
            Some(p) => tool_info(p).await,
            None => ToolInfo {
                path: None,
                version: None,
            },
        };
        found.tools.insert(name.into(), info);
    }
    checks.push(match tools::git() {
        Some(path) => ok("git", path.display().to_string()),
        None => fail(
            "git",
            "git not found on PATH",
            "install git (e.g. `sudo apt-get install git` or `brew install git`)",
        ),
    });
    checks.push(match tools::git_lfs() {
        Some(path) => ok("git-lfs", path.display().to_string()),
        None => fail(
            "git-lfs",
            "git-lfs not found on PATH (needed by the git method and the local git fallback)",
            "install git-lfs (e.g. `sudo apt-get install git-lfs` or `brew install git-lfs`) and run `git lfs install`",
        ),
    });
    checks.push(match tools::python().await {
        Ok(path) => {
            found.tools.insert("python".into(), tool_info(&path).await);
            ok(
                "python",
                format!("{} (worker packages present)", path.display()),
            )
        }
        Err(err) => {
            let mut check = fail(
                "python",
                err.message.clone(),
                err.hint.clone().unwrap_or_default(),
            );
            if !args.no_modal {
                // Only the local backend needs it.
                check.detail.push_str(" — only needed for --backend local");
            }
            check
        }
    });
    found.ok = checks.iter().all(|c| c.ok);
    print(ctx, &checks, &found);
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    Ok(if failed.is_empty() {
        ExitStatus::Success
    } else if failed.iter().any(|c| c.credential) {
        ExitStatus::Credentials
    } else {
        ExitStatus::Failure
    })
}

/// Where a tool is and the first line its `--version` prints (bounded: a hung tool is no version).
async fn tool_info(path: &Path) -> ToolInfo {
    let run = tokio::process::Command::new(path)
        .arg("--version")
        .envs(CHILD_ENV.iter().copied())
        .stdin(std::process::Stdio::null())
        .output();
    let version = match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        }
        _ => None,
    };
    ToolInfo {
        path: Some(path.display().to_string()),
        version,
    }
}

/// `modal token info`: the one non-interactive check that Modal accepts the credentials.
async fn modal_token(modal: &Path) -> (Check, Option<ModalIdentity>) {
    let run = tokio::process::Command::new(modal)
        .args(["token", "info"])
        .envs(CHILD_ENV.iter().copied())
        .stdin(std::process::Stdio::null())
        .output();
    let check = match tokio::time::timeout(Duration::from_secs(60), run).await {
        Err(_) => fail(
            "modal credentials",
            "`modal token info` did not answer within 60 s",
            "check your network, then `modal token info`",
        ),
        Ok(Err(err)) => fail(
            "modal credentials",
            format!("could not run modal: {err}"),
            "reinstall modal",
        ),
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
            };
            let workspace = field("Workspace:").unwrap_or_else(|| "?".into());
            let user = field("User:").unwrap_or_else(|| "?".into());
            let check = ok(
                "modal credentials",
                format!("workspace {workspace}, user {user}"),
            );
            return (check, Some(ModalIdentity { workspace, user }));
        }
        Ok(Ok(out)) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err
                .lines()
                .find(|l| l.starts_with("Error:"))
                .unwrap_or_else(|| err.lines().last().unwrap_or(""))
                .trim()
                .to_owned();
            fail(
                "modal credentials",
                line,
                "run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET)",
            )
        }
    };
    (check, None)
}

fn print(ctx: &Context, checks: &[Check], found: &DoctorObject) {
    let p = &ctx.printer;
    if p.json_mode() {
        for c in checks {
            let line = CheckObject {
                kind: "check".into(),
                name: c.name.into(),
                ok: c.ok,
                detail: c.detail.clone(),
                fix: c.fix.clone(),
            };
            p.json(&serde_json::to_value(line).unwrap_or_default());
        }
        p.json(&serde_json::to_value(found).unwrap_or_default());
        return;
    }
    let mut lines = Vec::new();
    for c in checks {
        let word = if c.ok {
            p.paint("OK  ", Tone::Good)
        } else {
            p.paint("FAIL", Tone::Bad)
        };
        lines.push(format!("{word} {:<18} {}", c.name, c.detail));
        if let Some(fix) = &c.fix {
            lines.push(format!("     {:<18} fix: {fix}", ""));
        }
    }
    p.out(&lines.join("\n"));
}
