//! File manifests of one repository revision: path, size and whatever content ids the hub lists
//! (sha256 for LFS files on HF and for every file on ModelScope; the git blob id for HF's small files).
//!
//! Ids are stored as fixed-size byte arrays, not hex strings, so a million-entry manifest stays small.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A content digest of `N` bytes, serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest<const N: usize>(pub [u8; N]);

/// sha256 of the file content.
pub type Sha256 = Digest<32>;
/// git blob id (sha1 of `blob <len>\0<content>`).
pub type GitOid = Digest<20>;

impl<const N: usize> Digest<N> {
    /// Parses `2N` hex digits (either case); anything else is `None`.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != 2 * N {
            return None;
        }
        let mut out = [0u8; N];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(Digest(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(2 * N);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl<const N: usize> fmt::Debug for Digest<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> fmt::Display for Digest<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> Serialize for Digest<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de, const N: usize> Deserialize<'de> for Digest<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("expected {} hex digits", 2 * N)))
    }
}

/// One file of a repository revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    /// Known for LFS files on HF and for every file on ModelScope.
    pub sha256: Option<Sha256>,
    /// The git blob id of the content. HF lists it for non-LFS files (for LFS files HF's `oid` is the
    /// pointer's id, which says nothing about the content, so it is not kept). ModelScope lists it
    /// for every file; likewise kept only for files it does not store through LFS.
    pub git_oid: Option<GitOid>,
    /// Stored through LFS at the source (informational).
    #[serde(default)]
    pub lfs: bool,
}

/// All files of one repository revision, sorted by path with unique paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Sorts by path and keeps one entry per path (a directory listed twice yields duplicates,
    /// which describe the same file).
    pub fn from_entries(mut files: Vec<FileEntry>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        Manifest { files }
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the manifest lists no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Sum of all file sizes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The entry for `path`, by binary search.
    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }
}

/// Paths the hubs create and manage themselves: never deleted, and not moved over an existing one.
pub const PLATFORM_FILES: &[&str] = &[".gitattributes"];

/// Paths the worker may rewrite on the way (the model card's front-matter license is mapped to a
/// Hugging Face license id when moving to HF), so their content can legitimately differ.
pub const REWRITTEN_FILES: &[&str] = &["README.md"];

/// How two entries for the same path relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sameness {
    /// A content id both sides list (sha256, else git blob id) is equal.
    Same,
    /// Sizes equal but no content id is listed on both sides: equal as far as can be told.
    SizeOnly,
    /// Sizes or a shared content id differ.
    Different,
}

/// Compares two entries of the same path.
///
/// Rule: sha256 when both sides list it; else the git blob id when both list it; else equal sizes
/// give [`Sameness::SizeOnly`]. HF lists only a git blob id for small (non-LFS) files and ModelScope
/// lists sha256 (and maybe a blob id), so small files crossing hubs are often `SizeOnly`: the plan
/// moves them again (cheap, and safe), verification counts them as matched by size.
pub fn sameness(a: &FileEntry, b: &FileEntry) -> Sameness {
    if a.size != b.size {
        return Sameness::Different;
    }
    if let (Some(x), Some(y)) = (a.sha256, b.sha256) {
        return if x == y {
            Sameness::Same
        } else {
            Sameness::Different
        };
    }
    if let (Some(x), Some(y)) = (a.git_oid, b.git_oid) {
        return if x == y {
            Sameness::Same
        } else {
            Sameness::Different
        };
    }
    Sameness::SizeOnly
}

/// Where one path stands when two path-sorted file lists are walked together: its index on each
/// side that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    Left(usize),
    Right(usize),
    Both(usize, usize),
}

/// Walks two path-sorted file lists (a [`Manifest`]'s files) in path order, each path once. The one
/// merge behind the planner ([`crate::plan::plan_transfer`]), verification ([`crate::verify`])
/// and the pair check.
pub fn merge_sorted<'a>(
    left: &'a [FileEntry],
    right: &'a [FileEntry],
) -> impl Iterator<Item = Merged> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let step = match (left.get(i), right.get(j)) {
            (None, None) => return None,
            (Some(_), None) => Merged::Left(i),
            (None, Some(_)) => Merged::Right(j),
            (Some(x), Some(y)) => match x.path.cmp(&y.path) {
                std::cmp::Ordering::Less => Merged::Left(i),
                std::cmp::Ordering::Greater => Merged::Right(j),
                std::cmp::Ordering::Equal => Merged::Both(i, j),
            },
        };
        match step {
            Merged::Left(_) => i += 1,
            Merged::Right(_) => j += 1,
            Merged::Both(..) => {
                i += 1;
                j += 1;
            }
        }
        Some(step)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(path: &str, size: u64, sha: Option<u8>, oid: Option<u8>) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: sha.map(|b| Digest([b; 32])),
            git_oid: oid.map(|b| Digest([b; 20])),
            lfs: sha.is_some(),
        }
    }

    #[test]
    fn hex_round_trip() {
        let h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let d = Sha256::from_hex(h).unwrap();
        assert_eq!(d.to_hex(), h);
        assert_eq!(Sha256::from_hex(&h.to_uppercase()), Some(d));
        assert!(Sha256::from_hex(&h[1..]).is_none());
        assert!(GitOid::from_hex("zz".repeat(20).as_str()).is_none());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), d);
    }

    #[test]
    fn manifest_sorted_and_searchable() {
        let m = Manifest::from_entries(vec![
            entry("b", 2, None, None),
            entry("a", 1, None, None),
            entry("b", 2, None, None),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.files[0].path, "a");
        assert_eq!(m.get("b").unwrap().size, 2);
        assert!(m.get("c").is_none());
        assert_eq!(m.total_bytes(), 3);
    }

    #[test]
    fn sameness_rules() {
        use Sameness::*;
        assert_eq!(
            sameness(&entry("a", 1, Some(1), None), &entry("a", 1, Some(1), None)),
            Same
        );
        assert_eq!(
            sameness(&entry("a", 1, Some(1), None), &entry("a", 1, Some(2), None)),
            Different
        );
        assert_eq!(
            sameness(&entry("a", 1, Some(1), None), &entry("a", 2, Some(1), None)),
            Different
        );
        assert_eq!(
            sameness(
                &entry("a", 1, None, Some(3)),
                &entry("a", 1, Some(1), Some(3))
            ),
            Same
        );
        assert_eq!(
            sameness(
                &entry("a", 1, None, Some(3)),
                &entry("a", 1, Some(1), Some(4))
            ),
            Different
        );
        assert_eq!(
            sameness(&entry("a", 1, None, Some(3)), &entry("a", 1, Some(1), None)),
            SizeOnly
        );
        assert_eq!(
            sameness(
                &entry("a", 1, Some(1), Some(9)),
                &entry("a", 1, Some(1), Some(8))
            ),
            Same,
            "sha256 wins"
        );
    }

    #[test]
    fn merge_walks_both_lists_in_path_order() {
        let entry = |p: &str| FileEntry {
            path: p.into(),
            size: 1,
            sha256: None,
            git_oid: None,
            lfs: false,
        };
        let left = [entry("a"), entry("c"), entry("d")];
        let right = [entry("b"), entry("c"), entry("e")];
        let merged: Vec<Merged> = merge_sorted(&left, &right).collect();
        use Merged::*;
        assert_eq!(merged, [Left(0), Right(0), Both(1, 1), Left(2), Right(2)]);
        assert_eq!(merge_sorted(&[], &right).count(), 3);
    }
}
