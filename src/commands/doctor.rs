//! `hubferry doctor`: checks everything a migration needs, one line each, OK or FAIL with a fix.
//! Exit 0 when all pass, 3 when a credential check fails, 1 otherwise.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::Context;
use crate::cli::DoctorArgs;
use crate::credentials::{Credentials, TokenSource};
use crate::error::ExitStatus;
use crate::hub::Hubs;
use crate::printer::Tone;
use crate::repo_ref::Platform;
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

/// What doctor says of one hub's token.
struct TokenWords {
    platform: Platform,
    name: &'static str,
    /// Where hubferry looks for the token, for the FAIL line.
    looked_in: &'static str,
    kind: &'static str,
}

const TOKEN_WORDS: [TokenWords; 2] = [
    TokenWords {
        platform: Platform::Hf,
        name: "hf token",
        looked_in: "HF_TOKEN, or the token file of `hf auth login`",
        kind: "a write token",
    },
    TokenWords {
        platform: Platform::Ms,
        name: "modelscope token",
        looked_in: "MODELSCOPE_API_TOKEN, MODELSCOPE_TOKEN or `modelscope login`",
        kind: "an access token",
    },
];

/// The check of one hub's token: set at all, then accepted by the hub (who it belongs to).
async fn token_check(
    hubs: &Hubs,
    creds: &Credentials,
    words: &TokenWords,
) -> (Check, Option<HubIdentity>) {
    let platform = words.platform;
    let (endpoint, token) = creds.hub(platform);
    let token_var = platform.token_var();
    if token.is_none() {
        let detail = match creds.saved_login_note(platform) {
            Some(note) => format!("no {} token: {note}", platform.display_name()),
            None => format!("no {} token ({})", platform.display_name(), words.looked_in),
        };
        let fix = format!(
            "create {} at {} and export {token_var}=… (or run `{}`)",
            words.kind,
            platform.token_page(),
            platform.login_command()
        );
        return (fail(words.name, detail, fix), None);
    }
    let owner = match hubs.token_owner(platform).await {
        Ok(owner) => owner,
        Err(err) => {
            let fix = format!(
                "the token was refused: create a new one at {} and export {token_var}",
                platform.token_page()
            );
            return (fail(words.name, err.to_string(), fix), None);
        }
    };
    let orgs = match &owner.orgs {
        Some(orgs) if orgs.is_empty() => " (orgs: none)".to_owned(),
        Some(orgs) => format!(" (orgs: {})", orgs.join(", ")),
        None => String::new(),
    };
    let from_login = match creds.token_source(platform) {
        Some(source @ TokenSource::SavedLogin(_)) => format!(" (from {source})"),
        _ => String::new(),
    };
    let detail = format!("{}{orgs} at {endpoint}{from_login}", owner.user);
    let identity = HubIdentity {
        user: owner.user,
        // A hub that lists no organizations (ModelScope): the ones the user names.
        organizations: owner.orgs.unwrap_or_else(|| creds.ms_orgs.clone()),
        endpoint,
    };
    (ok(words.name, detail), Some(identity))
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
            let hubs = Hubs::new(&creds);
            let [hf, ms] = &TOKEN_WORDS;
            let (check, identity) = token_check(&hubs, &creds, hf).await;
            checks.push(cred(check));
            found.hf = identity;
            let (check, identity) = token_check(&hubs, &creds, ms).await;
            checks.push(cred(check));
            found.modelscope = identity;
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
