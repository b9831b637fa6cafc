//! Rendered run directories (`$TMPDIR/hubferry-run-*`) of runs that died without cleaning up
//! (`kill -9`, a crash) are removed when the next one is rendered. Each directory names its
//! owner in [`OWNER_FILE`]; one is stale only when that file names a process that no longer
//! exists, so a live run's directory (or one still being written) is never touched.

use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Prefix of every rendered run directory.
pub const PREFIX: &str = "hubferry-run-";
/// The owning hubferry's pid, written right after the directory is made.
pub const OWNER_FILE: &str = "owner.pid";

/// Records this process as the owner of `dir`.
pub fn claim(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string())
}

/// Removes the run directories under `tmp` whose owner is dead; returns how many.
pub fn remove_stale(tmp: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        let owner = std::fs::read_to_string(dir.join(OWNER_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if owner.is_some_and(|pid| pid > 0 && kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH))
            && std::fs::remove_dir_all(&dir).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_of_dead_owners_go() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str, owner: Option<String>| {
            let d = tmp.path().join(name);
            std::fs::create_dir(&d).unwrap();
            if let Some(o) = owner {
                std::fs::write(d.join(OWNER_FILE), o).unwrap();
            }
            d
        };
        // A pid that surely exited: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = make("hubferry-run-dead", Some(dead.to_string()));
        let live = make("hubferry-run-live", Some(std::process::id().to_string()));
        let fresh = make("hubferry-run-fresh", None);
        let other = make("other-dead", Some(dead.to_string()));
        assert_eq!(remove_stale(tmp.path()), 1);
        assert!(!stale.exists() && live.exists() && fresh.exists() && other.exists());
    }
}
