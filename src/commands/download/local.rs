//! How a file in DIR relates to the source's manifest: checked by size, then by the content id the
//! listing gives (sha256, else the git blob id). Both download paths and the final check use it.

use std::path::Path;

use sha1::Digest as _;

use crate::manifest::FileEntry;

/// How a file in DIR relates to the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Local {
    Verified,
    Missing,
    Differs,
}

/// Hashes `path` the way `entry` can be checked: sha256 when listed, else the git blob id, else
/// the size alone.
pub(super) fn check_file(path: &Path, entry: &FileEntry) -> Local {
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(path) else {
        return Local::Missing;
    };
    if !meta.is_file() || meta.len() != entry.size {
        return Local::Differs;
    }
    if entry.sha256.is_none() && entry.git_oid.is_none() {
        return Local::Verified;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return Local::Differs;
    };
    let mut sha = sha2::Sha256::new();
    let mut git = sha1::Sha1::new();
    git.update(format!("blob {}\0", entry.size).as_bytes());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if entry.sha256.is_some() {
                    sha.update(&buf[..n]);
                } else {
                    git.update(&buf[..n]);
                }
            }
            Err(_) => return Local::Differs,
        }
    }
    let ok = match (entry.sha256, entry.git_oid) {
        (Some(want), _) => <[u8; 32]>::from(sha.finalize()) == want.0,
        (None, Some(want)) => <[u8; 20]>::from(git.finalize()) == want.0,
        (None, None) => true,
    };
    if ok {
        Local::Verified
    } else {
        Local::Differs
    }
}

/// Checks every manifest file in `dir` (on a blocking thread: it reads whole files).
pub(super) async fn check_dir(dir: &Path, files: &[FileEntry]) -> Vec<Local> {
    let dir = dir.to_path_buf();
    let files = files.to_vec();
    tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|f| check_file(&dir.join(&f.path), f))
            .collect()
    })
    .await
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_are_checked_by_the_listed_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello\n").unwrap();
        let (sha, oid) = crate::verify::pair::content_ids(b"hello\n");
        let mut e = FileEntry {
            path: "f".into(),
            size: 6,
            sha256: Some(sha),
            git_oid: None,
            lfs: true,
        };
        assert_eq!(check_file(&path, &e), Local::Verified);
        e.sha256 = None;
        e.git_oid = Some(oid);
        assert_eq!(check_file(&path, &e), Local::Verified);
        std::fs::write(&path, b"hellO\n").unwrap();
        assert_eq!(check_file(&path, &e), Local::Differs);
        assert_eq!(check_file(&dir.path().join("nope"), &e), Local::Missing);
    }
}
