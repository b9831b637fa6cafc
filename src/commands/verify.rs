//! `hubferry verify SOURCE DEST`: both sides listed and compared file by file
//! ([`crate::verify::pair`]); exit 0 only when nothing is mismatched, missing or extra.

use super::Context;
use crate::cli::VerifyArgs;
use crate::error::ExitStatus;
use crate::settings::{load_credentials, parse_ref};
use crate::verify::pair::{check_pair, print_check, same_type_sides};

pub async fn run(ctx: &Context, args: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let creds = load_credentials()?;
    ctx.printer.redact(&creds.secrets());
    let src_ref = parse_ref(&args.source, args.repo_type)?;
    let dest_ref = parse_ref(&args.dest, args.repo_type)?;
    let (src, dest) = same_type_sides(&creds, &src_ref, &dest_ref).await?;
    let mut check = check_pair(&creds, &src, &dest).await?;
    check.provenance = crate::provenance::read_or_warn(
        &ctx.printer,
        &crate::hub::Hubs::new(&creds),
        &dest.repo,
        &dest.listed_at,
        src.repo.revision.as_deref(),
    )
    .await;
    print_check(&ctx.printer, &src, &dest, &check);
    Ok(if check.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
