//! Keeps the terminal from echoing `^C` over live progress bars.
//!
//! indicatif pads each bar line to the terminal's width, so the cursor sits in the last column;
//! the `^C` the terminal echoes on Ctrl-C then wraps onto a new line, indicatif loses count of
//! its lines and a stale bar stays on screen above the interruption message. While bars are
//! drawn, the terminal's ECHOCTL flag is cleared; the guard puts the previous settings back.
//! A hubferry killed with SIGKILL leaves it cleared, which only hides `^C` in that shell.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, Termios};

/// Restores the terminal settings it saved when dropped.
pub struct EchoGuard {
    saved: Termios,
}

/// Clears ECHOCTL on the terminal behind stderr; `None` when stderr is not a terminal or the
/// flag is already off.
pub fn hide_control_echo() -> Option<EchoGuard> {
    let stderr = std::io::stderr();
    if !stderr.is_terminal() {
        return None;
    }
    let saved = tcgetattr(stderr.as_fd()).ok()?;
    if !saved.local_flags.contains(LocalFlags::ECHOCTL) {
        return None;
    }
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHOCTL);
    tcsetattr(stderr.as_fd(), SetArg::TCSANOW, &quiet).ok()?;
    Some(EchoGuard { saved })
}

impl Drop for EchoGuard {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stderr().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}
