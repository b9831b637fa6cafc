//! Ctrl-C for the whole process.
//!
//! The first SIGINT handler tokio installs replaces the default action for good, so once a watch
//! has run, a Ctrl-C that arrives while no watch listens (preflight of the next repository of a
//! batch, the orchestrator's re-listing after a run) would be swallowed. One handler therefore
//! lives for the whole process: it records every Ctrl-C, and when no watch is active — nothing is
//! running that needs stopping or a report — hubferry stops at once with exit 130. While a watch is
//! active ([`Watching`]), the watch handles the Ctrl-C itself (it listens on its own stream).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::signal::unix::{signal, SignalKind};

use crate::commands::ExitStatus;
use crate::printer::Printer;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WATCHING: AtomicUsize = AtomicUsize::new(0);

/// True once the user pressed Ctrl-C (batch reads it so that queued repositories do not start).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Installs the process-wide handler; call once, inside the runtime, before any command runs.
pub fn install(printer: Printer) {
    let Ok(mut stream) = signal(SignalKind::interrupt()) else {
        return;
    };
    tokio::spawn(async move {
        while stream.recv().await.is_some() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            if WATCHING.load(Ordering::SeqCst) == 0 {
                printer.warn("interrupted: stopped; what already finished stays as it is");
                std::process::exit(ExitStatus::Interrupted.code().into());
            }
        }
    });
}

/// Held by a watch while it handles Ctrl-C itself.
pub struct Watching(());

impl Watching {
    pub fn start() -> Self {
        WATCHING.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        WATCHING.fetch_sub(1, Ordering::SeqCst);
    }
}
