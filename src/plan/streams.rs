//! How many downloads and uploads one container runs at once (the job's `download_workers` /
//! `upload_workers`), chosen from the plan: the hubs cap every single connection far below what a
//! container's link carries, so a container needs about `link ÷ per-connection cap` streams to fill
//! it, and never more than it has files.
//!
//! Rule, per side (downloads from the source hub, uploads to the destination hub):
//! `⌈CONTAINER_BPS ÷ that hub's per-connection rate⌉`, at least [`SMALL_FILE_STREAMS`] when the
//! files are small on average (below [`SMALL_FILE_BYTES`]: requests, not bytes, bound the time),
//! at most [`MAX_STREAMS`] (memory: one buffer per stream; hub request rate), and at most the file
//! count of the largest chunk. The assumed rates are in docs/job-file.md ("Streams").

use serde::Serialize;

use super::Plan;
use crate::repo_ref::Platform;

/// Assumed payload rate of one container's link, each way (bytes per second).
pub const CONTAINER_BPS: f64 = 200e6;
/// The most streams per side and container.
pub const MAX_STREAMS: u32 = 32;
/// The fewest streams per side when files are small (latency-bound).
pub const SMALL_FILE_STREAMS: u32 = 8;
/// Mean file size below which a job counts as many small files.
pub const SMALL_FILE_BYTES: u64 = 10_000_000;

/// The streams one container runs at once, per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Streams {
    pub downloads: u32,
    pub uploads: u32,
}

/// Streams for one side of a container moving `files` files of `bytes` in total.
fn side(platform: Platform, files: usize, bytes: u64) -> u32 {
    let mut n = (CONTAINER_BPS / crate::hub::connection_bps(platform)).ceil() as u32;
    if files > 0 && bytes / files as u64 <= SMALL_FILE_BYTES {
        n = n.max(SMALL_FILE_STREAMS);
    }
    n.min(MAX_STREAMS)
        .min(u32::try_from(files).unwrap_or(u32::MAX))
        .max(1)
}

impl Plan {
    /// The streams every job of this plan runs (from its largest chunk; see the module header).
    pub fn streams(&self) -> Streams {
        let (files, bytes) = self
            .transfer
            .chunks
            .iter()
            .map(|c| (c.file_count, c.bytes))
            .max()
            .unwrap_or((0, 0));
        Streams {
            downloads: side(self.source.platform, files, bytes),
            uploads: side(self.dest.platform, files, bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelscope_gets_a_stream_per_file_up_to_its_link() {
        // 16 files of 100 MB to ModelScope: 40 streams would fill the link; 16 files cap it.
        assert_eq!(side(Platform::Ms, 16, 1_600_000_000), 16);
        assert_eq!(side(Platform::Ms, 500, 50_000_000_000), MAX_STREAMS);
        assert_eq!(side(Platform::Hf, 16, 1_600_000_000), 4);
    }

    #[test]
    fn small_files_get_more_streams_and_one_file_gets_one() {
        assert_eq!(
            side(Platform::Hf, 20_000, 20_000 * 4096),
            SMALL_FILE_STREAMS
        );
        assert_eq!(side(Platform::Ms, 1, 2_000_000_000), 1);
        assert_eq!(side(Platform::Hf, 0, 0), 1);
    }
}
