//! `--color auto|always|never` beside `NO_COLOR` (no-color.org): `auto` colours a terminal unless
//! `NO_COLOR` is set to anything non-empty; `always` and `never` override both. The printer asks
//! [`enabled`] for its highlighted words; the progress bars go through `console`, whose global
//! switch [`apply`] sets.

use std::sync::OnceLock;

use crate::cli::ColorArg;

static CHOICE: OnceLock<ColorArg> = OnceLock::new();

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Records the `--color` choice for the whole process (call once, before building the printer).
pub fn apply(choice: ColorArg) {
    let _ = CHOICE.set(choice);
    let forced = match choice {
        ColorArg::Always => Some(true),
        ColorArg::Never => Some(false),
        ColorArg::Auto => no_color().then_some(false),
    };
    if let Some(on) = forced {
        console::set_colors_enabled(on);
        console::set_colors_enabled_stderr(on);
    }
}

/// Whether output to a stream (`terminal`: is it one?) is coloured.
pub fn enabled(terminal: bool) -> bool {
    match CHOICE.get().copied().unwrap_or_default() {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && !no_color(),
    }
}
