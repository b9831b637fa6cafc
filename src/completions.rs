//! `hubferry completions SHELL` and `hubferry man`: both generated from the clap definitions in
//! `cli.rs`, so they never drift from the flags the binary accepts.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::ExitStatus;

fn stdout_error(err: std::io::Error) -> anyhow::Error {
    anyhow::Error::new(err).context("could not write to stdout")
}

/// Writes the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "hubferry", &mut out);
    std::io::stdout().write_all(&out).map_err(stdout_error)?;
    Ok(ExitStatus::Success)
}

/// Writes the man page (section 1, roff): the top-level page followed by one section per
/// command with its options, so `man hubferry` documents every flag.
pub fn man() -> anyhow::Result<ExitStatus> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(stdout_error)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("hubferry {}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        writeln!(out, ".SH \"{}\"", name.to_uppercase()).map_err(stdout_error)?;
        page.render_description_section(&mut out)
            .and_then(|()| page.render_synopsis_section(&mut out))
            .and_then(|()| page.render_options_section(&mut out))
            .and_then(|()| page.render_extra_section(&mut out))
            .map_err(stdout_error)?;
    }
    std::io::stdout().write_all(&out).map_err(stdout_error)?;
    Ok(ExitStatus::Success)
}
