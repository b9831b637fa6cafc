//! The counts of a run, defined once: a worker's `result` event, the report of a repository and
//! each row of `batch` carry these (flattened into their JSON, under these names), and a
//! repository's totals are its jobs' totals added up.

use serde::{Deserialize, Serialize};

/// Files and bytes moved and skipped, files failed and deleted.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Totals {
    pub files_moved: u64,
    pub bytes_moved: u64,
    pub files_skipped: u64,
    pub bytes_skipped: u64,
    pub files_failed: u64,
    pub files_deleted: u64,
}

impl Totals {
    /// Nothing moved; `files` and `bytes` already at the destination.
    pub fn skipped(files: u64, bytes: u64) -> Self {
        Totals {
            files_skipped: files,
            bytes_skipped: bytes,
            ..Totals::default()
        }
    }
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, other: Totals) {
        self.files_moved += other.files_moved;
        self.bytes_moved += other.bytes_moved;
        self.files_skipped += other.files_skipped;
        self.bytes_skipped += other.bytes_skipped;
        self.files_failed += other.files_failed;
        self.files_deleted += other.files_deleted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{parse_line, EventBody, Line};

    const RESULT: &str = r#"{"hubferry":1,"type":"result","job":"j","ts":1.0,"status":"ok","files_moved":1,"bytes_moved":2,"files_skipped":3,"bytes_skipped":4,"files_failed":5,"files_deleted":6,"duration_s":1.0,"dest_url":null,"verified":true,"fallback_used":false,"error":null}"#;

    #[test]
    fn a_result_event_carries_its_totals_flat_and_strictly() {
        let Line::Event(e) = parse_line(RESULT) else {
            panic!("a valid result line")
        };
        let EventBody::Result(r) = &e.body else {
            panic!("a result")
        };
        let mut sum = r.totals;
        sum += r.totals;
        assert_eq!(
            sum,
            Totals {
                files_moved: 2,
                bytes_moved: 4,
                files_skipped: 6,
                bytes_skipped: 8,
                files_failed: 10,
                files_deleted: 12,
            }
        );
        // Written back in the same flat shape the worker wrote.
        let back = serde_json::to_value(&*e).unwrap();
        assert_eq!(back["files_deleted"], 6);
        assert!(back.get("totals").is_none());
        // The parser stays strict with the totals flattened in.
        let extra = RESULT.replace(r#""error":null"#, r#""error":null,"files_lost":1"#);
        assert!(matches!(parse_line(&extra), Line::Invalid { .. }));
        let missing = RESULT.replace(r#""files_deleted":6,"#, "");
        assert!(matches!(parse_line(&missing), Line::Invalid { .. }));
    }
}
