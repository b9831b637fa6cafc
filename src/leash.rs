//! Children die with their parent. Every worker and `modal` child runs under a leash: hubferry
//! starts itself as `hubferry __leash PARENT_PID -- PROGRAM ARGS…` in a new process group; the
//! leash starts PROGRAM in that group (stdio inherited, so events flow straight to hubferry) and,
//! the moment its parent is no longer PARENT_PID (hubferry died, even by `kill -9`), kills the
//! whole group — the worker, its git and git-lfs children, or `modal run` — with SIGKILL.
//!
//! Why not `PR_SET_PDEATHSIG`: it needs `unsafe` (the crate forbids it) or `setpriv`/a Python
//! wrapper that not every machine has, it is Linux-only, and it fires when the *thread* that forked
//! exits rather than the process, and it would not reach the worker's own children. The leash needs
//! no unsafe code, works wherever `getppid` does, and covers the whole group. Cost: one small
//! process per child and a check of the parent every [`POLL`] (the child's own end is waited
//! for, not polled); a re-run started right after a kill waits at most that long before no
//! orphan can write.
//!
//! The leash ignores SIGINT and SIGTERM (hubferry signals the whole group, so the child gets them
//! itself) and exits with the child's code (128 + signal when it was killed).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{getpgrp, getppid, Pid};

/// The argv[1] that makes the binary a leash (not a clap subcommand: no other start-up runs).
pub const ARG: &str = "__leash";

/// How often the leash checks that its parent is alive.
pub const POLL: Duration = Duration::from_millis(100);

/// Set by the binary's entry point: only the hubferry executable can be re-run as a leash (a test
/// binary calling the library is not one).
static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets [`wrap`] re-run this executable as the leash.
pub fn enable() {
    ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `program args…` wrapped in a leash tied to this process (unchanged unless [`enable`]d).
pub fn wrap(program: PathBuf, args: Vec<OsString>) -> (PathBuf, Vec<OsString>) {
    if !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return (program, args);
    }
    let Ok(me) = std::env::current_exe() else {
        return (program, args);
    };
    let mut wrapped: Vec<OsString> = vec![
        ARG.into(),
        std::process::id().to_string().into(),
        "--".into(),
        program.into_os_string(),
    ];
    wrapped.extend(args);
    (me, wrapped)
}

/// Runs the leash for `args` (everything after [`ARG`]).
pub fn run(args: &[OsString]) -> ExitCode {
    let parent: Option<i32> = args.first().and_then(|a| a.to_str()?.parse().ok());
    let (Some(parent), Some(sep), Some(program)) = (parent, args.get(1), args.get(2)) else {
        complain(format_args!(
            "usage: hubferry {ARG} PARENT_PID -- PROGRAM [ARGS…]"
        ));
        return ExitCode::from(2);
    };
    if sep != "--" {
        complain(format_args!("expected `--` after the parent pid"));
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            complain(format_args!("{err}"));
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        // Registered handlers replace the default action (terminate): the leash outlives the
        // signals its group gets and reports the child's own exit.
        let _int = signal(SignalKind::interrupt());
        let _term = signal(SignalKind::terminate());
        let orphaned = || getppid() != Pid::from_raw(parent);
        if orphaned() {
            kill_group();
        }
        let mut child = match Command::new(program).args(&args[3..]).spawn() {
            Ok(c) => c,
            Err(err) => {
                complain(format_args!(
                    "could not start {}: {err}",
                    program.to_string_lossy()
                ));
                return ExitCode::from(127);
            }
        };
        // Waited for, not polled: the leash (and with it the child's end, as hubferry sees it)
        // ends the moment the child does, not up to a POLL later.
        let mut ended = tokio::task::spawn_blocking(move || child.wait());
        loop {
            tokio::select! {
                status = &mut ended => {
                    let Ok(Ok(status)) = status else {
                        return ExitCode::from(1);
                    };
                    use std::os::unix::process::ExitStatusExt;
                    let code = status
                        .code()
                        .or_else(|| status.signal().map(|s| 128 + s))
                        .unwrap_or(1);
                    return ExitCode::from(u8::try_from(code).unwrap_or(1));
                }
                () = tokio::time::sleep(POLL) => {
                    if orphaned() {
                        kill_group();
                    }
                }
            }
        }
    })
}

/// The leash's own errors: it has no printer (stdout belongs to the child's events).
fn complain(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "hubferry {ARG}: {message}");
}

/// SIGKILL to the leash's own process group: the child and everything it started, and the leash.
fn kill_group() {
    let _ = killpg(getpgrp(), Signal::SIGKILL);
    std::process::exit(137);
}
