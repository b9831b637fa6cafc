//! Ctrl-C for the whole process: the one SIGINT handler, installed before any command runs.
//!
//! Every Ctrl-C is recorded ([`interrupted`]). While a watch is active it holds a [`Watching`],
//! subscribed before its first bar is drawn, and receives each Ctrl-C to stop or detach from its
//! workers and still report. When no watch is active — nothing is running that needs stopping or
//! a report (preflight, between the repositories of a batch, the re-listing after a run) —
//! hubferry stops at once with exit 130. A handler of its own per watch would leave those gaps
//! with Ctrl-C swallowed: once tokio has a SIGINT handler, the default action never comes back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::broadcast;

use crate::error::ExitStatus;
use crate::printer::Printer;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WATCHING: AtomicUsize = AtomicUsize::new(0);
static CTRL_C: OnceLock<broadcast::Sender<()>> = OnceLock::new();

/// True once the user pressed Ctrl-C (batch reads it so that queued repositories do not start).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn sender() -> &'static broadcast::Sender<()> {
    CTRL_C.get_or_init(|| broadcast::channel(16).0)
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
            let _ = sender().send(());
        }
    });
}

/// Held by a watch while it handles Ctrl-C itself; each Ctrl-C after [`Watching::start`] reaches
/// [`Watching::ctrl_c`], also one that comes while the watch is busy with an event.
pub struct Watching {
    ctrl_c: broadcast::Receiver<()>,
}

impl Watching {
    pub fn start() -> Self {
        // Subscribed before it counts as watching: a Ctrl-C in between stops hubferry instead of
        // going to nobody.
        let ctrl_c = sender().subscribe();
        WATCHING.fetch_add(1, Ordering::SeqCst);
        Self { ctrl_c }
    }

    /// The next Ctrl-C (the sender lives for the whole process, so it never closes; a lagged
    /// receiver has missed Ctrl-Cs, which is a Ctrl-C too).
    pub async fn ctrl_c(&mut self) {
        let _ = self.ctrl_c.recv().await;
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        WATCHING.fetch_sub(1, Ordering::SeqCst);
    }
}
