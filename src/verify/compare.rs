//! Compares what a destination should hold with what it holds, path by path, using the rule of
//! [`crate::manifest::sameness`]. Used after a run (the orchestrator re-lists the destination itself)
//! and by `verify`.

use serde::Serialize;

use crate::manifest::{
    merge_sorted, sameness, Manifest, Merged, Sameness, PLATFORM_FILES, REWRITTEN_FILES,
};

/// The outcome of [`compare`]. Path lists are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Paths present on both sides and equal (including `matched_size_only`).
    pub matched: usize,
    /// Of `matched`, those equal by size only (no content id listed on both sides).
    pub matched_size_only: usize,
    /// Present on both sides with different size or content id.
    pub mismatched: Vec<String>,
    /// Files the worker may rewrite ([`REWRITTEN_FILES`]) that differ: reported, not a failure.
    pub rewritten: Vec<String>,
    /// Expected but absent (hub-managed files such as `.gitattributes` are not reported).
    pub missing: Vec<String>,
    /// Present but not expected (hub-managed files such as `.gitattributes` are not reported).
    pub extra: Vec<String>,
}

impl Comparison {
    /// True when nothing is mismatched or missing (extra files do not fail a verification).
    pub fn ok(&self) -> bool {
        self.mismatched.is_empty() && self.missing.is_empty()
    }
}

/// Compares `expected` (usually the filtered source manifest) with `actual` (the destination).
/// A hub-managed file present on both sides counts as matched whatever its content: each hub
/// writes its own. A differing `README.md` is listed in `rewritten` (the worker maps its license
/// for HF) and does not fail the comparison.
pub fn compare(expected: &Manifest, actual: &Manifest) -> Comparison {
    let mut out = Comparison::default();
    let (e, a) = (&expected.files, &actual.files);
    for step in merge_sorted(e, a) {
        match step {
            Merged::Left(i) => {
                if !PLATFORM_FILES.contains(&e[i].path.as_str()) {
                    out.missing.push(e[i].path.clone());
                }
            }
            Merged::Right(j) => {
                if !PLATFORM_FILES.contains(&a[j].path.as_str()) {
                    out.extra.push(a[j].path.clone());
                }
            }
            Merged::Both(i, j) => {
                let platform_file = PLATFORM_FILES.contains(&e[i].path.as_str());
                match sameness(&e[i], &a[j]) {
                    Sameness::Same => out.matched += 1,
                    Sameness::SizeOnly => {
                        out.matched += 1;
                        out.matched_size_only += 1;
                    }
                    Sameness::Different if platform_file => out.matched += 1,
                    Sameness::Different if REWRITTEN_FILES.contains(&e[i].path.as_str()) => {
                        out.rewritten.push(e[i].path.clone())
                    }
                    Sameness::Different => out.mismatched.push(e[i].path.clone()),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::entry;

    #[test]
    fn classifies_every_path() {
        let expected = Manifest::from_entries(vec![
            entry(".gitattributes", 10, None, Some(1)),
            entry("a.bin", 100, Some(1), None),
            entry("b.bin", 100, Some(2), None),
            entry("c.txt", 5, None, Some(3)),
            entry("d.txt", 5, None, Some(4)),
            entry("gone.txt", 1, None, Some(5)),
            entry("README.md", 50, None, Some(6)),
        ]);
        let actual = Manifest::from_entries(vec![
            entry(".gitattributes", 99, Some(7), None),
            entry("a.bin", 100, Some(1), None),
            entry("b.bin", 100, Some(9), None),
            entry("c.txt", 5, Some(3), None),
            entry("d.txt", 6, Some(4), None),
            entry("new.txt", 1, Some(5), None),
            entry("README.md", 48, Some(6), None),
        ]);
        let c = compare(&expected, &actual);
        assert_eq!(c.matched, 3, "{c:?}");
        assert_eq!(c.matched_size_only, 1);
        assert_eq!(c.mismatched, vec!["b.bin", "d.txt"]);
        assert_eq!(c.missing, vec!["gone.txt"]);
        assert_eq!(c.extra, vec!["new.txt"]);
        assert_eq!(c.rewritten, vec!["README.md"]);
        assert!(!c.ok());
    }

    #[test]
    fn identical_and_empty() {
        let m = Manifest::from_entries(vec![
            entry("a", 1, Some(1), None),
            entry("b", 2, None, Some(2)),
        ]);
        let c = compare(&m, &m);
        assert!(c.ok());
        assert_eq!(c.matched, 2);
        assert!(compare(&Manifest::default(), &Manifest::default()).ok());
        let c = compare(&m, &Manifest::default());
        assert_eq!(c.missing.len(), 2);
        let c = compare(&Manifest::default(), &m);
        assert!(c.ok());
        let hub_file = Manifest::from_entries(vec![entry(".gitattributes", 1, None, Some(1))]);
        assert!(
            compare(&hub_file, &Manifest::default()).ok(),
            "each hub writes its own"
        );
        assert_eq!(c.extra.len(), 2);
    }
}
