//! `hubferry retire SOURCE --copy DEST [--confirm NS/NAME]`: deletes a repository once a copy of
//! it is proven identical.
//!
//! Order: the confirmation (when given) must name SOURCE exactly; then a fresh `verify` of SOURCE
//! against the copy runs (both listed now, not from any earlier run); only when it passes and the
//! confirmation was given is SOURCE deleted, and the deletion is checked by looking the repo up
//! again. Without `--confirm` it prints what it would delete and exits 0.
//!
//! ModelScope's SDK marks repo deletion through the API as deprecated (the web console is the
//! supported way); a refusal there is reported with a hint pointing at the console.

use super::Context;
use crate::cli::RetireArgs;
use crate::error::{CliError, ExitStatus};
use crate::hub::{HubErrorKind, Hubs};
use crate::printer::Tone;
use crate::repo_ref::Platform;
use crate::settings::parse_ref;
use crate::verify::pair::{self as verify_pair, check_pair, print_check, same_type_sides};

pub async fn run(ctx: &Context, args: RetireArgs) -> anyhow::Result<ExitStatus> {
    let p = &ctx.printer;
    let creds = crate::settings::load_credentials()?;
    p.redact(&creds.secrets());
    let src_ref = parse_ref(&args.source, args.repo_type)?;
    let copy_ref = parse_ref(&args.copy, args.repo_type)?;
    if src_ref.platform == copy_ref.platform && src_ref.id == copy_ref.id {
        return Err(
            CliError::bad_input(format!("{src_ref} cannot be its own copy"))
                .with_hint("pass the other copy with --copy")
                .into(),
        );
    }
    if let Some(confirm) = &args.confirm {
        if confirm != &src_ref.id {
            return Err(CliError::bad_input(format!(
                "--confirm {confirm} does not name the repository to delete ({})",
                src_ref.id
            ))
            .with_hint(format!("pass --confirm {} exactly", src_ref.id))
            .into());
        }
    }
    let (src, copy) = same_type_sides(&creds, &src_ref, &copy_ref).await?;
    p.status(&format!(
        "verifying {} against {} before deleting anything…",
        src.describe(),
        copy.describe()
    ));
    let check = check_pair(&creds, &src, &copy).await?;
    print_check(p, &src, &copy, &check);
    if !check.ok {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "refusing to delete {}: the copy at {} is not identical ({} mismatched, {} missing, {} extra)",
                src.describe(),
                copy.describe(),
                check.mismatched.len(),
                check.missing.len(),
                check.extra.len()
            ),
        )
        .with_hint(format!(
            "bring the copy up to date (`hubferry migrate {} --dest {}` or `hubferry sync`), then retire again",
            args.source, copy.repo.id
        ))
        .into());
    }
    let kind = src.repo.repo_type_or_model();
    let Some(confirm) = &args.confirm else {
        p.json(&retire_object(&src.describe(), &copy.describe(), false));
        p.out(&format!(
            "would delete {} {} ({} files; its copy at {} is verified)\n  nothing was deleted: re-run with --confirm {} to delete it",
            kind.as_str(),
            src.describe(),
            check.files,
            copy.describe(),
            src.repo.id
        ));
        return Ok(ExitStatus::Success);
    };
    let hubs = Hubs::new(&creds);
    if !hubs.has_token(src.repo.platform) {
        return Err(CliError::new(
            ExitStatus::Credentials,
            format!(
                "deleting {} needs a {} token with write access",
                src.describe(),
                src.repo.platform.display_name()
            ),
        )
        .with_hint(src.repo.platform.token_hint())
        .into());
    }
    if let Err(e) = hubs.delete_repo(src.repo.platform, kind, confirm).await {
        let console = matches!(
            (src.repo.platform, e.kind),
            (
                Platform::Ms,
                HubErrorKind::Unauthorized | HubErrorKind::Forbidden
            )
        );
        let err = crate::error::hub_error("deleting", &src.repo, e);
        return Err(if console {
            CliError::new(ExitStatus::Credentials, format!("{err}"))
                .with_hint(
                    "ModelScope may refuse repository deletion through an API token; delete it in the web console (repo settings)",
                )
                .into()
        } else {
            err
        });
    }
    if verify_pair::try_side(&creds, &src.repo).await?.is_some() {
        return Err(CliError::new(
            ExitStatus::Failure,
            format!(
                "{} still exists after the hub accepted its deletion",
                src.describe()
            ),
        )
        .with_hint("check it on the hub's web page; deletion may take a moment to show")
        .into());
    }
    p.json(&retire_object(&src.describe(), &copy.describe(), true));
    p.out(&format!(
        "{} {} (verified copy kept at {})",
        p.paint("deleted", Tone::Warn),
        src.describe(),
        copy.describe()
    ));
    Ok(ExitStatus::Success)
}

/// The `retire` line of `--json` (docs/schemas/retire.json): the copy was verified; `deleted`
/// says whether the source is gone or only would be (no `--confirm`).
fn retire_object(source: &str, copy: &str, deleted: bool) -> serde_json::Value {
    serde_json::to_value(crate::schemas::RetireObject {
        kind: "retire".into(),
        source: source.to_owned(),
        copy: copy.to_owned(),
        verified: true,
        deleted,
        would_delete: !deleted,
    })
    .unwrap_or_default()
}
