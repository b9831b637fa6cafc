//! Deleting files at a destination needs consent: given up front (`migrate --yes`, a mirror's
//! `delete = true` in the mirrors file: CI has no terminal to ask), or a `y` typed at a prompt on
//! a terminal. Without it the command stops before anything changes, saying how to give it.

use std::io::IsTerminal;

use crate::error::CliError;

/// Whether deletions were consented to up front, and how to give consent when not.
#[derive(Debug, Clone)]
pub struct Consent {
    pub given: bool,
    /// The refusal's hint: the flag or setting that gives consent.
    pub hint: String,
    /// Whether a terminal may be asked (not while several repositories run at once).
    pub may_ask: bool,
}

impl Consent {
    pub fn new(given: bool, hint: impl Into<String>) -> Self {
        Consent {
            given,
            hint: hint.into(),
            may_ask: true,
        }
    }

    /// Consent that only the up-front flag gives: `batch` runs repositories concurrently, and
    /// prompts from several of them would interleave.
    pub fn up_front_only(given: bool, hint: impl Into<String>) -> Self {
        Consent {
            may_ask: false,
            ..Consent::new(given, hint)
        }
    }

    /// `Ok` when `n` deletions at `dest` may go ahead: consent given, nothing to delete, or a yes
    /// at the prompt; else the refusal, with the hint.
    pub fn deletions(&self, n: usize, dest: &str) -> Result<(), CliError> {
        if n == 0 || self.given {
            return Ok(());
        }
        if self.may_ask && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint_prompt(&format!(
                "delete {n} file(s) at {dest} that the source does not have? [y/N] "
            ));
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            if matches!(answer.trim(), "y" | "Y" | "yes") {
                return Ok(());
            }
        }
        Err(CliError::bad_input(format!(
            "refusing to delete {n} file(s) at {dest} without confirmation"
        ))
        .with_hint(&self.hint))
    }
}

#[allow(clippy::print_stderr)]
fn eprint_prompt(text: &str) {
    // A prompt is the one stderr write that must not end with a newline.
    eprint!("{text}");
}
