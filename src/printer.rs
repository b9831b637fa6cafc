//! The one place that writes to the terminal.
//!
//! Every command prints through a [`Printer`]: it owns stdout, stderr and the progress bars, so that
//! `--json` really means "NDJSON only on stdout", progress bars appear only on a terminal, lines
//! printed while bars are drawn do not tear them, and `NO_COLOR` is honoured in one place.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressDrawTarget};

/// How the user asked output to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Human text; progress bars when stderr is a terminal.
    Human,
    /// NDJSON on stdout (events and one final object); human diagnostics still go to stderr.
    Json,
}

/// A cheap, clonable handle on the terminal (clones share the same bars and locks).
#[derive(Clone)]
pub struct Printer {
    inner: Arc<Inner>,
}

struct Inner {
    mode: OutputMode,
    quiet: bool,
    verbose: bool,
    color: bool,
    progress: bool,
    multi: MultiProgress,
    // Serializes whole lines from concurrent tasks.
    lock: Mutex<()>,
    // Token values never to print (defence in depth: nothing should carry them anyway).
    secrets: std::sync::RwLock<Vec<String>>,
}

/// Styles for the few highlighted words; plain text when colour is off.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
}

impl Printer {
    /// Builds the printer from the global flags and the environment (`NO_COLOR`, terminals).
    pub fn new(mode: OutputMode, quiet: bool, verbose: bool, no_progress: bool) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let progress = stderr_tty && !quiet && !no_progress && mode == OutputMode::Human;
        let multi = MultiProgress::with_draw_target(if progress {
            ProgressDrawTarget::stderr_with_hz(8)
        } else {
            ProgressDrawTarget::hidden()
        });
        Self {
            inner: Arc::new(Inner {
                mode,
                quiet,
                verbose,
                color: crate::color::enabled(stderr_tty),
                progress,
                multi,
                lock: Mutex::new(()),
                secrets: std::sync::RwLock::new(Vec::new()),
            }),
        }
    }

    /// Registers token values that must never reach the terminal; any that slip into a line
    /// (a child's error text, say) are replaced by `***`.
    pub fn redact(&self, secrets: &[&str]) {
        let mut held = self
            .inner
            .secrets
            .write()
            .unwrap_or_else(|e| e.into_inner());
        held.extend(
            secrets
                .iter()
                .filter(|s| s.len() >= 4)
                .map(|s| s.to_string()),
        );
        held.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every registered secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let held = self.inner.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut text = text.to_owned();
        for secret in held.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }

    /// True in `--json` mode.
    pub fn json_mode(&self) -> bool {
        self.inner.mode == OutputMode::Json
    }

    /// True when live progress bars are drawn (human mode on a terminal).
    pub fn progress_enabled(&self) -> bool {
        self.inner.progress
    }

    /// The bar container; bars added to it are hidden unless [`Self::progress_enabled`].
    pub fn multi(&self) -> &MultiProgress {
        &self.inner.multi
    }

    /// Writes one NDJSON object on stdout (json mode only; ignored otherwise).
    pub fn json(&self, value: &serde_json::Value) {
        if self.json_mode() {
            self.write_stdout(&value.to_string());
        }
    }

    /// Writes a result line on stdout in human mode (ignored in json mode, where the same
    /// information travels as JSON).
    pub fn out(&self, text: &str) {
        if !self.json_mode() {
            self.write_stdout(text);
        }
    }

    /// A status line on stderr (`--quiet` hides it).
    pub fn status(&self, text: &str) {
        if !self.inner.quiet {
            self.write_stderr(text);
        }
    }

    /// A detail line on stderr, shown only with `--verbose` (worker logs, Modal status lines).
    pub fn verbose(&self, text: &str) {
        if self.inner.verbose {
            self.write_stderr(text);
        }
    }

    /// True with `--verbose`.
    pub fn is_verbose(&self) -> bool {
        self.inner.verbose
    }

    /// A warning on stderr, shown even with `--quiet`.
    pub fn warn(&self, text: &str) {
        let label = self.paint("warning", Tone::Warn);
        self.write_stderr(&format!("{label}: {text}"));
    }

    /// The final error block on stderr: `error:`, `Caused by:` lines and a `hint:`.
    pub fn error(&self, message: &str, causes: &[String], hint: Option<&str>) {
        let mut text = format!("{}: {message}", self.paint("error", Tone::Bad));
        let causes = causes_not_quoted(message, causes);
        if !causes.is_empty() {
            text.push_str("\n\nCaused by:");
            for cause in causes {
                text.push_str("\n  ");
                text.push_str(cause);
            }
        }
        if let Some(hint) = hint {
            text.push_str(&format!("\n\n{}: {hint}", self.paint("hint", Tone::Bold)));
        }
        self.write_stderr(&text);
    }

    /// Wraps `text` in the tone's colour when colour is on (stderr-based decision: stdout text
    /// gets colour only if stderr is a terminal too, which matches what users see).
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if !self.inner.color {
            return text.to_owned();
        }
        let style = console::Style::new().force_styling(true);
        let style = match tone {
            Tone::Good => style.green().bold(),
            Tone::Bad => style.red().bold(),
            Tone::Warn => style.yellow().bold(),
            Tone::Dim => style.dim(),
            Tone::Bold => style.bold(),
        };
        style.apply_to(text).to_string()
    }

    fn write_stdout(&self, text: &str) {
        let text = self.scrub(text);
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.multi.suspend(|| {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`hubferry … | head`) is not an error worth a panic.
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        });
    }

    fn write_stderr(&self, text: &str) {
        let text = self.scrub(text);
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.multi.suspend(|| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        });
    }
}

/// Formats a byte count with decimal units (`1.5 GB`), as the hubs show sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A progress-bar style whose sizes read as [`human_bytes`] writes them (the report's "14.7 MB",
/// not indicatif's "14.68 MB"): `{size}`, `{total_size}` and `{rate}` in `template`.
pub fn bytes_style(template: &str) -> indicatif::ProgressStyle {
    type Key = fn(&indicatif::ProgressState, &mut dyn std::fmt::Write);
    let size: Key = |s, w| {
        let _ = w.write_str(&human_bytes(s.pos()));
    };
    let total_size: Key = |s, w| {
        let _ = w.write_str(&human_bytes(s.len().unwrap_or(0)));
    };
    let rate: Key = |s, w| {
        let _ = write!(w, "{}/s", human_bytes(s.per_sec() as u64));
    };
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key("size", size)
        .with_key("total_size", total_size)
        .with_key("rate", rate)
        .progress_chars("=> ")
}

/// Formats seconds as `1h02m`, `3m05s` or `4.2s`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m{s:02}s")
    }
}

/// The causes worth a `Caused by:` line: one the message already quotes word for word would
/// only show the same text twice.
fn causes_not_quoted<'a>(message: &str, causes: &'a [String]) -> Vec<&'a String> {
    causes
        .iter()
        .filter(|c| !message.contains(c.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed() {
        let p = Printer::new(OutputMode::Human, false, false, true);
        p.redact(&["hf_secretvalue", "x"]);
        assert_eq!(
            p.scrub("token hf_secretvalue leaked, x stays"),
            "token *** leaked, x stays"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let causes = vec![
            "GET /api/whoami-v2 answered 401".to_owned(),
            "connection reset".to_owned(),
        ];
        let message = "checking the token failed: refused (GET /api/whoami-v2 answered 401)";
        assert_eq!(causes_not_quoted(message, &causes), vec![&causes[1]]);
    }

    #[test]
    fn bytes_and_durations_read_like_the_hubs() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000_000), "1.5 GB");
        assert_eq!(human_duration(4.24), "4.2s");
        assert_eq!(human_duration(185.0), "3m05s");
        assert_eq!(human_duration(3720.0), "1h02m");
    }
}
