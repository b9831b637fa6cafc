//! The transfer plan: which source files must move (the diff against the destination), which are
//! skipped or deleted, the ETA, and the split into chunks, one worker job each.
//!
//! Diff rule (see [`crate::manifest::sameness`]): a source file is skipped only when the destination
//! lists the same path with an equal content id (sha256 when both sides list it, else the git blob
//! id). Equal size alone is not proof, so such files move again; they are small files in practice
//! (HF lists only a git blob id for non-LFS files), so this costs little. Hub-managed files
//! ([`PLATFORM_FILES`]) never move (each hub writes its own): they count as skipped.
//!
//! Chunking: chunk count = ⌈bytes / chunk size⌉ (a last chunk under [`CHUNK_SLACK`] of the size
//! joins the others), raised so no chunk carries more than
//! [`MAX_FILES_PER_CHUNK`] files, capped at [`MAX_CHUNKS`] containers (the chunk size is then raised,
//! with a warning) and at the file count. Files are packed longest-processing-time first on a cost of
//! `size + FILE_OVERHEAD_BYTES`, so many small files spread over chunks instead of piling onto one.
//!
//! With `--parallel` and no `--chunk-size`, the chunk count is chosen for the target instead
//! ([`crate::cost::choose_chunks`]: fastest, cheapest, or cheapest within a time), still at least
//! enough chunks for [`MAX_FILES_PER_CHUNK`] and at most [`MAX_CHUNKS`].
//!
//! ETA and cost: [`crate::cost`]'s model over the chunks (chunks share the hubs' links); without
//! `--parallel` there is one chunk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::cost::{self, ChunkLoad, Estimate, Sizing, Workload};
use crate::manifest::{
    merge_sorted, sameness, FileEntry, Manifest, Merged, Sameness, PLATFORM_FILES,
};
use crate::printer::human_bytes;
use crate::repo_ref::RepoRef;

mod job;
mod streams;

pub use job::{JobFile, JobTuning};
pub use streams::Streams;

/// At most this many chunks (containers) per repository.
pub const MAX_CHUNKS: usize = 100;
/// With `--parallel`, more chunks are made so that none carries more files than this.
pub const MAX_FILES_PER_CHUNK: usize = 1000;
/// Packing cost of one file beyond its bytes: request and commit overhead, about 40 ms at 50 MB/s.
pub const FILE_OVERHEAD_BYTES: u64 = 2_000_000;
/// A last chunk smaller than this share of `--chunk-size` joins the others ([`chunks_for_size`]).
pub const CHUNK_SLACK: f64 = 0.01;
/// Both hubs advise under this many files per repository (HF storage limits; ModelScope).
pub const HUB_ADVISED_REPO_FILES: usize = 100_000;
/// Default `--chunk-size` in decimal GB.
pub const DEFAULT_CHUNK_SIZE_GB: f64 = 10.0;

/// How the worker moves files (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The hub API, falling back to git when the API refuses (HF storage lock).
    #[default]
    Auto,
    /// The hub API only.
    Api,
    /// git + git-lfs only.
    Git,
}

impl Method {
    /// `auto`, `api`, `git`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Api => "api",
            Method::Git => "git",
        }
    }
}

/// The visibility the user asked for (`--private`, `--public`, or neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisibilityChoice {
    /// Like the source; a gated source becomes private.
    #[default]
    Source,
    Private,
    Public,
}

/// A repository's visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Private,
    Public,
}

impl Visibility {
    /// `private` or `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }
}

/// Include/exclude on repository paths: the one matcher, [`crate::selection`].
pub use crate::selection::Selection as PathFilter;

/// How to split the files that move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSettings {
    /// `--parallel`: several chunks; otherwise exactly one.
    pub parallel: bool,
    /// `--chunk-size` in bytes (decimal GB × 10⁹); tiny values are allowed. None: the chunk count
    /// is chosen for `sizing.target`.
    pub chunk_size_bytes: Option<u64>,
    /// The model the ETA, the cost and a chosen chunk count come from.
    pub sizing: Sizing,
}

impl ChunkSettings {
    /// From the command line's decimal GB (at least 1 byte), default rates and target.
    pub fn from_gb(parallel: bool, chunk_size_gb: Option<f64>) -> Self {
        ChunkSettings {
            parallel,
            chunk_size_bytes: chunk_size_gb
                .filter(|g| g.is_finite() && *g > 0.0)
                // Rounded, not truncated: 0.50331648 GB is 503316480 bytes, not 503316479.
                .map(|gb| ((gb * 1e9).round() as u64).max(1)),
            sizing: Sizing::default(),
        }
    }

    /// The same settings under `sizing`.
    pub fn with_sizing(self, sizing: Sizing) -> Self {
        ChunkSettings { sizing, ..self }
    }
}

/// One chunk: a worker job moving `files` (indices into the source manifest, in path order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    pub index: usize,
    #[serde(skip)]
    pub files: Vec<u32>,
    pub file_count: usize,
    pub bytes: u64,
}

/// The diff and the chunk split, independent of any hub.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// Indices into the source manifest, path order.
    pub to_move: Vec<u32>,
    /// Indices into the source manifest, path order.
    pub to_skip: Vec<u32>,
    /// Indices into the destination manifest: present there, absent at the source, in scope, and
    /// not hub-managed. Filled only when deletion was asked for.
    pub to_delete: Vec<u32>,
    /// Destination files that `--delete` would remove (counted whether or not it was asked).
    pub dest_extra: usize,
    /// Source files left out by include/exclude.
    pub excluded: usize,
    pub bytes_to_move: u64,
    pub bytes_to_skip: u64,
    pub chunks: Vec<Chunk>,
    /// The chunk size actually used (raised when the cap on chunks forced it; bytes over the
    /// chosen count when the count was chosen for a target).
    pub chunk_size_bytes: u64,
    /// [`Self::estimate`]'s ETA.
    pub eta_s: f64,
    /// ETA, container-seconds, cost, the rates used and why this many chunks.
    pub estimate: Estimate,
    /// What the estimate was made under ([`Transfer::reestimate`] uses it again).
    pub sizing: Sizing,
    pub warnings: Vec<String>,
}

impl Transfer {
    /// Estimates the chunks as they are now (after a caller added or changed one), keeping
    /// what the chunk choice said.
    pub fn reestimate(&mut self) {
        let loads: Vec<ChunkLoad> = self
            .chunks
            .iter()
            .map(|c| ChunkLoad {
                bytes: c.bytes,
                files: c.file_count,
            })
            .collect();
        let estimate = Estimate {
            target: self.estimate.target.take(),
            within_s: self.estimate.within_s,
            chunk_choice: self.estimate.chunk_choice.take(),
            ..cost::estimate(&loads, &self.sizing)
        };
        self.eta_s = estimate.eta_s;
        self.estimate = estimate;
    }
}

impl Default for Estimate {
    fn default() -> Self {
        cost::estimate(&[], &Sizing::default())
    }
}

/// Computes the diff of `source` against `dest` within `filter`, the delete candidates, the chunk
/// split and the ETA. Both manifests must be sorted by path (as [`Manifest::from_entries`] makes them).
pub fn plan_transfer(
    source: &Manifest,
    dest: &Manifest,
    filter: &PathFilter,
    delete: bool,
    chunking: ChunkSettings,
) -> Transfer {
    let mut t = Transfer {
        chunk_size_bytes: chunking
            .chunk_size_bytes
            .unwrap_or((DEFAULT_CHUNK_SIZE_GB * 1e9) as u64),
        sizing: chunking.sizing,
        ..Transfer::default()
    };
    let mut chunking = chunking;
    if delete && chunking.parallel {
        // The worker deletes only in a whole-repo job, where it sees the complete source.
        chunking.parallel = false;
        t.warnings
            .push("--delete runs as one whole-repo job, so --parallel is not used".to_string());
    }
    let (s, d) = (&source.files, &dest.files);
    for step in merge_sorted(s, d) {
        let (i, same_at_dest) = match step {
            Merged::Left(i) => (i, false),
            Merged::Both(i, j) => (i, sameness(&s[i], &d[j]) == Sameness::Same),
            Merged::Right(j) => {
                let path = d[j].path.as_str();
                if filter.matches(path) && !PLATFORM_FILES.contains(&path) {
                    t.dest_extra += 1;
                    if delete {
                        t.to_delete.push(j as u32);
                    }
                }
                continue;
            }
        };
        let path = s[i].path.as_str();
        if !filter.matches(path) {
            t.excluded += 1;
        } else if PLATFORM_FILES.contains(&path) || same_at_dest {
            // A platform file is skipped: the destination hub writes its own.
            t.to_skip.push(i as u32);
            t.bytes_to_skip += s[i].size;
        } else {
            t.to_move.push(i as u32);
            t.bytes_to_move += s[i].size;
        }
    }
    let split = split_into_chunks(&s[..], &t.to_move, t.bytes_to_move, chunking);
    t.chunks = split.chunks;
    t.chunk_size_bytes = split.size.unwrap_or(t.chunk_size_bytes);
    t.warnings.extend(split.warning);
    if t.chunks.is_empty() && !t.to_delete.is_empty() {
        t.chunks.push(Chunk {
            index: 0,
            files: Vec::new(),
            file_count: 0,
            bytes: 0,
        });
    }
    t.estimate.target = split.target.map(|t| t.name().to_string());
    t.estimate.within_s = match split.target {
        Some(cost::Target::Within(s)) => Some(s),
        _ => None,
    };
    t.estimate.chunk_choice = split.choice;
    t.reestimate();
    t
}

/// The chunks, the chunk size used (None: nothing was split), a warning when the chunk size had
/// to be raised or a time budget cannot be met, and what the count was chosen for and why.
struct Split {
    chunks: Vec<Chunk>,
    size: Option<u64>,
    warning: Option<String>,
    target: Option<cost::Target>,
    choice: Option<String>,
}

/// Splits `to_move` (indices into `files`) into size-balanced chunks.
fn split_into_chunks(
    files: &[FileEntry],
    to_move: &[u32],
    bytes: u64,
    chunking: ChunkSettings,
) -> Split {
    let mut split = Split {
        chunks: Vec::new(),
        size: None,
        warning: None,
        target: None,
        choice: None,
    };
    if to_move.is_empty() {
        return split;
    }
    let by_files = to_move.len().div_ceil(MAX_FILES_PER_CHUNK);
    let count = match (chunking.parallel, chunking.chunk_size_bytes) {
        (false, _) => 1,
        (true, None) => {
            let largest = to_move
                .iter()
                .map(|&i| files[i as usize].size)
                .max()
                .unwrap_or(0);
            let workload = Workload {
                bytes,
                files: to_move.len(),
                largest,
            };
            let (n, why, warning) = cost::choose_chunks(workload, by_files, &chunking.sizing);
            split.size = Some(bytes.div_ceil(n as u64).max(1));
            split.warning = warning;
            split.target = Some(chunking.sizing.target);
            split.choice = Some(why);
            n
        }
        (true, Some(size)) => {
            let n = count_by_size(to_move.len(), bytes, size, by_files, &mut split);
            split.choice = Some(format!(
                "{n} chunk{} from --chunk-size {}",
                if n == 1 { "" } else { "s" },
                human_bytes(size)
            ));
            n
        }
    };
    split.chunks = pack(files, to_move, bytes, count);
    split
}

/// The chunk count for a given chunk size, raising the size (with a warning) when the count would
/// pass [`MAX_CHUNKS`].
fn count_by_size(files: usize, bytes: u64, size: u64, by_files: usize, split: &mut Split) -> usize {
    let mut size = size;
    let count = {
        let by_bytes = chunks_for_size(bytes, size);
        let wanted = by_bytes.max(by_files);
        // Chunks never outnumber files: the cap (and its warning) matters only above MAX_CHUNKS files.
        if wanted.min(files) > MAX_CHUNKS {
            let raised = bytes.div_ceil(MAX_CHUNKS as u64).max(size);
            if raised > size {
                split.warning = Some(format!(
                    "chunk size raised from {} to {} so the plan stays within {MAX_CHUNKS} containers",
                    human_bytes(size),
                    human_bytes(raised)
                ));
                size = raised;
            }
        }
        wanted.min(MAX_CHUNKS).min(files)
    };
    split.size = Some(size);
    count
}

/// ⌈bytes / size⌉ chunks, except that a last chunk of under [`CHUNK_SLACK`] of `size` is spread
/// over the others: a size meant as bytes / N and written in decimal GB (9 places: bytes) rounds
/// a few bytes short, and one more container for them would cost a whole start-up.
fn chunks_for_size(bytes: u64, size: u64) -> usize {
    let n = bytes.div_ceil(size).max(1);
    let last = bytes - (n - 1) * size;
    let spread = n > 1 && (last as f64) < CHUNK_SLACK * size as f64;
    (if spread { n - 1 } else { n }) as usize
}

/// Packs `to_move` into `count` chunks, longest processing time first.
fn pack(files: &[FileEntry], to_move: &[u32], bytes: u64, count: usize) -> Vec<Chunk> {
    if count == 1 {
        return vec![Chunk {
            index: 0,
            files: to_move.to_vec(),
            file_count: to_move.len(),
            bytes,
        }];
    }
    // Longest processing time first: biggest cost to the least loaded chunk.
    let cost = |i: u32| files[i as usize].size + FILE_OVERHEAD_BYTES;
    let mut order: Vec<u32> = to_move.to_vec();
    order.sort_by_key(|&i| Reverse(cost(i)));
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = (0..count).map(|c| Reverse((0, c))).collect();
    let mut chunks: Vec<Chunk> = (0..count)
        .map(|index| Chunk {
            index,
            files: Vec::new(),
            file_count: 0,
            bytes: 0,
        })
        .collect();
    for i in order {
        let Reverse((load, c)) = heap.pop().expect("count >= 1");
        chunks[c].files.push(i);
        chunks[c].bytes += files[i as usize].size;
        heap.push(Reverse((load + cost(i), c)));
    }
    for c in &mut chunks {
        c.files.sort_unstable();
        c.file_count = c.files.len();
    }
    chunks
}

/// What a plan of very many files will ask of `dest`: when chunks carry more files than
/// [`MAX_FILES_PER_CHUNK`] because the container cap bit, how many commits each makes (at the
/// hub's files per commit, [`job::commit_files`]); and when the destination would hold more
/// files than the hubs advise ([`HUB_ADVISED_REPO_FILES`]).
pub fn scale_warnings(t: &Transfer, dest: crate::repo_ref::Platform) -> Vec<String> {
    let mut out = Vec::new();
    let per_commit = job::commit_files(dest) as usize;
    let most = t.chunks.iter().map(|c| c.file_count).max().unwrap_or(0);
    if t.chunks.len() >= MAX_CHUNKS && most > MAX_FILES_PER_CHUNK {
        let commits: usize = t
            .chunks
            .iter()
            .map(|c| c.file_count.div_ceil(per_commit))
            .sum();
        out.push(format!(
            "{} chunks (the container cap) carry up to {} files each, more than the {} a chunk is sized for: each makes up to {} commits of at most {per_commit} files to {}, {} commits in all, which the hub's commit rate limits may slow",
            t.chunks.len(),
            group_digits(most),
            group_digits(MAX_FILES_PER_CHUNK),
            most.div_ceil(per_commit),
            dest.display_name(),
            group_digits(commits),
        ));
    }
    let kept_extra = if t.to_delete.is_empty() {
        t.dest_extra
    } else {
        0
    };
    let held = t.to_move.len() + t.to_skip.len() + kept_extra;
    if held > HUB_ADVISED_REPO_FILES {
        out.push(format!(
            "the destination would hold {} files; {} advises under {} per repository",
            group_digits(held),
            dest.display_name(),
            group_digits(HUB_ADVISED_REPO_FILES),
        ));
    }
    out
}

/// `1234567` → `1,234,567`.
fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the user asked for that the jobs carry along.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanOptions {
    pub method: Method,
    pub visibility_choice: VisibilityChoice,
    pub allow_public_gated: bool,
    pub delete: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub parallel: bool,
}

/// Everything preflight found out, and what will happen. `Serialize` gives the `--dry-run --json`
/// object (file lists as `{path,size,sha256,git_oid}` objects; chunks with counts and bytes).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Type and revision resolved.
    pub source: RepoRef,
    /// The commit the source revision pointed at (HF only; ModelScope lists no commit ids).
    pub source_sha: Option<String>,
    /// Type and revision (the destination's default branch) resolved.
    pub dest: RepoRef,
    pub source_private: bool,
    pub source_gated: bool,
    pub dest_exists: bool,
    /// The visibility the destination will have (when it exists already, what it has on ModelScope,
    /// which cannot change it; the worker applies it on HF).
    pub dest_visibility: Visibility,
    pub source_manifest: Manifest,
    pub dest_manifest: Manifest,
    pub transfer: Transfer,
    pub options: PlanOptions,
    pub warnings: Vec<String>,
    /// Web URL of the destination repository.
    pub dest_url: String,
    /// How long preflight took, seconds.
    pub preflight_s: f64,
    /// The source's README mapped for the destination hub, when its front matter reads
    /// differently there ([`crate::cards`]).
    pub card: Option<crate::cards::CardPlan>,
}

impl Plan {
    /// Files that move, in path order.
    pub fn files_to_move(&self) -> impl Iterator<Item = &FileEntry> {
        self.transfer
            .to_move
            .iter()
            .map(|&i| &self.source_manifest.files[i as usize])
    }

    /// Files already at the destination, in path order.
    pub fn files_to_skip(&self) -> impl Iterator<Item = &FileEntry> {
        self.transfer
            .to_skip
            .iter()
            .map(|&i| &self.source_manifest.files[i as usize])
    }

    /// Files (and their bytes) already at the destination. Platform files are not counted: each
    /// hub writes its own, so they are neither moved nor skipped (the plan names them apart).
    pub fn already_at_dest(&self) -> (u64, u64) {
        self.files_to_skip()
            .filter(|f| !PLATFORM_FILES.contains(&f.path.as_str()))
            .fold((0, 0), |(n, b), f| (n + 1, b + f.size))
    }

    /// What the report adds to the workers' own skip counts: every job lists only the files to
    /// move, so the plan's skips are never seen by a worker.
    pub fn skipped_outside_jobs(&self) -> (u64, u64) {
        self.already_at_dest()
    }

    /// The skips of a plan whose files to move all proved to be at the destination already (by a
    /// content check): those files count as skipped too.
    pub fn settled_skips(&self) -> (u64, u64) {
        let (n, b) = self.already_at_dest();
        (
            n + self.transfer.to_move.len() as u64,
            b + self.transfer.bytes_to_move,
        )
    }

    /// Destination files that will be deleted, in path order.
    pub fn files_to_delete(&self) -> impl Iterator<Item = &FileEntry> {
        self.transfer
            .to_delete
            .iter()
            .map(|&i| &self.dest_manifest.files[i as usize])
    }

    /// The source manifest within include/exclude, without hub-managed files: what the destination
    /// should hold afterwards (pass it with a fresh destination listing to [`crate::verify::compare::compare`]).
    pub fn expected_manifest(&self) -> Manifest {
        let filter = PathFilter::new(&self.options.include, &self.options.exclude)
            .unwrap_or_else(|_| PathFilter::all());
        Manifest {
            files: self
                .source_manifest
                .files
                .iter()
                .filter(|f| filter.matches(&f.path) && !PLATFORM_FILES.contains(&f.path.as_str()))
                .map(|f| match &self.card {
                    Some(card) if card.path == f.path => card.entry.clone(),
                    _ => f.clone(),
                })
                .collect(),
        }
    }

    /// True when there is nothing to move and nothing to delete.
    pub fn is_noop(&self) -> bool {
        self.transfer.chunks.is_empty()
    }
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Summary {
            files: usize,
            bytes: u64,
        }
        #[derive(Serialize)]
        struct View<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            source: &'a RepoRef,
            source_sha: &'a Option<String>,
            dest: &'a RepoRef,
            dest_url: &'a str,
            source_private: bool,
            source_gated: bool,
            dest_exists: bool,
            dest_visibility: Visibility,
            source_files: Summary,
            dest_files: Summary,
            files_to_move: usize,
            bytes_to_move: u64,
            files_to_skip: usize,
            bytes_to_skip: u64,
            files_to_delete: usize,
            files_excluded: usize,
            dest_extra: usize,
            eta_s: f64,
            estimate: &'a Estimate,
            chunk_size_bytes: u64,
            chunks: &'a [Chunk],
            streams: streams::Streams,
            options: &'a PlanOptions,
            warnings: &'a [String],
            preflight_s: f64,
            to_move: Vec<&'a FileEntry>,
            to_skip: Vec<&'a FileEntry>,
            to_delete: Vec<&'a FileEntry>,
            card: &'a Option<crate::cards::CardPlan>,
        }
        let t = &self.transfer;
        View {
            kind: "plan",
            source: &self.source,
            source_sha: &self.source_sha,
            dest: &self.dest,
            dest_url: &self.dest_url,
            source_private: self.source_private,
            source_gated: self.source_gated,
            dest_exists: self.dest_exists,
            dest_visibility: self.dest_visibility,
            source_files: Summary {
                files: self.source_manifest.len(),
                bytes: self.source_manifest.total_bytes(),
            },
            dest_files: Summary {
                files: self.dest_manifest.len(),
                bytes: self.dest_manifest.total_bytes(),
            },
            files_to_move: t.to_move.len(),
            bytes_to_move: t.bytes_to_move,
            files_to_skip: t.to_skip.len(),
            bytes_to_skip: t.bytes_to_skip,
            files_to_delete: t.to_delete.len(),
            files_excluded: t.excluded,
            dest_extra: t.dest_extra,
            eta_s: (t.eta_s * 10.0).round() / 10.0,
            estimate: &t.estimate,
            chunk_size_bytes: t.chunk_size_bytes,
            chunks: &t.chunks,
            streams: self.streams(),
            options: &self.options,
            warnings: &self.warnings,
            preflight_s: (self.preflight_s * 1000.0).round() / 1000.0,
            to_move: self.files_to_move().collect(),
            to_skip: self.files_to_skip().collect(),
            to_delete: self.files_to_delete().collect(),
            card: &self.card,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::entry;

    fn manifest(n: usize, size: impl Fn(usize) -> u64) -> Manifest {
        Manifest::from_entries(
            (0..n)
                .map(|i| entry(&format!("f{i:06}"), size(i), Some((i % 251) as u8), None))
                .collect(),
        )
    }

    fn settings(parallel: bool, bytes: u64) -> ChunkSettings {
        ChunkSettings {
            parallel,
            chunk_size_bytes: Some(bytes),
            sizing: Sizing::default(),
        }
    }

    #[test]
    fn diff_moves_skips_and_deletes() {
        let src = Manifest::from_entries(vec![
            entry(".gitattributes", 10, None, Some(1)),
            entry("README.md", 5, None, Some(2)),
            entry("model.bin", 1000, Some(1), None),
            entry("changed.bin", 1000, Some(2), None),
            entry("new.bin", 7, Some(3), None),
            entry("logs/run.txt", 3, None, Some(4)),
        ]);
        let dst = Manifest::from_entries(vec![
            entry(".gitattributes", 99, Some(9), None),
            entry("README.md", 5, Some(8), Some(2)),
            entry("model.bin", 1000, Some(1), None),
            entry("changed.bin", 1000, Some(5), None),
            entry("stale.bin", 1, Some(6), None),
            entry("logs/old.txt", 1, Some(7), None),
        ]);
        let filter = PathFilter::new(&[], &["logs/*".into()]).unwrap();
        let t = plan_transfer(&src, &dst, &filter, true, settings(false, 1));
        let paths = |idx: &[u32], m: &Manifest| {
            idx.iter()
                .map(|&i| m.files[i as usize].path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(&t.to_move, &src), vec!["changed.bin", "new.bin"]);
        assert_eq!(
            paths(&t.to_skip, &src),
            vec![".gitattributes", "README.md", "model.bin"]
        );
        assert_eq!(
            paths(&t.to_delete, &dst),
            vec!["stale.bin"],
            "out-of-scope and hub files are kept"
        );
        assert_eq!(t.excluded, 1);
        assert_eq!((t.bytes_to_move, t.bytes_to_skip), (1007, 1015));
        assert_eq!(t.chunks.len(), 1);
        assert_eq!(t.chunks[0].files, t.to_move);

        let t = plan_transfer(&src, &dst, &filter, false, settings(false, 1));
        assert!(t.to_delete.is_empty());
        assert_eq!(t.dest_extra, 1);
    }

    #[test]
    fn size_only_equality_moves_again() {
        let src = Manifest::from_entries(vec![entry("a.txt", 5, None, Some(1))]);
        let dst = Manifest::from_entries(vec![entry("a.txt", 5, Some(1), None)]);
        let t = plan_transfer(&src, &dst, &PathFilter::all(), false, settings(false, 1));
        assert_eq!(t.to_move, vec![0]);
    }

    #[test]
    fn include_and_exclude_globs_follow_fnmatch() {
        let f = PathFilter::new(
            &["*.safetensors".into(), "config.json".into()],
            &["*/bad*".into()],
        )
        .unwrap();
        assert!(f.matches("model.safetensors"));
        assert!(
            f.matches("sub/dir/model.safetensors"),
            "* crosses / as in fnmatch"
        );
        assert!(f.matches("config.json"));
        assert!(!f.matches("sub/config.json"));
        assert!(!f.matches("sub/bad.safetensors"));
        assert!(PathFilter::new(&["[".into()], &[])
            .unwrap_err()
            .contains("`[`"));
    }

    #[test]
    fn nothing_to_do_means_no_chunks() {
        let m = manifest(10, |_| 100);
        let t = plan_transfer(&m, &m, &PathFilter::all(), true, settings(true, 1));
        assert!(t.chunks.is_empty());
        assert_eq!(t.eta_s, 0.0);
        let t = plan_transfer(
            &Manifest::default(),
            &m,
            &PathFilter::all(),
            true,
            settings(true, 1),
        );
        assert_eq!(t.chunks.len(), 1, "a delete-only run still needs one job");
        assert_eq!(t.to_delete.len(), 10);
    }

    fn check_partition(t: &Transfer, m: &Manifest) {
        let mut all: Vec<u32> = t
            .chunks
            .iter()
            .flat_map(|c| c.files.iter().copied())
            .collect();
        all.sort_unstable();
        assert_eq!(all, t.to_move, "every file in exactly one chunk");
        for (k, c) in t.chunks.iter().enumerate() {
            assert_eq!(c.index, k);
            assert!(!c.files.is_empty());
            assert!(
                c.files.windows(2).all(|w| w[0] < w[1]),
                "path order inside a chunk"
            );
            assert_eq!(
                c.bytes,
                c.files
                    .iter()
                    .map(|&i| m.files[i as usize].size)
                    .sum::<u64>()
            );
            assert_eq!(c.file_count, c.files.len());
        }
        assert!(t.chunks.len() <= MAX_CHUNKS);
    }

    #[test]
    fn tiny_chunk_size_gives_one_chunk_per_file_up_to_the_file_count() {
        let m = manifest(5, |i| 10 + i as u64);
        let t = plan_transfer(
            &m,
            &Manifest::default(),
            &PathFilter::all(),
            false,
            ChunkSettings::from_gb(true, Some(1e-9)),
        );
        assert_eq!(t.chunks.len(), 5);
        check_partition(&t, &m);
        let t = plan_transfer(
            &m,
            &Manifest::default(),
            &PathFilter::all(),
            false,
            ChunkSettings::from_gb(false, Some(1e-9)),
        );
        assert_eq!(t.chunks.len(), 1, "without --parallel there is one chunk");
    }

    #[test]
    fn chunks_are_size_balanced() {
        // 40 files of mixed sizes, 4 GB in all, 1 GB chunks.
        let m = manifest(40, |i| {
            if i % 4 == 0 {
                250_000_000
            } else {
                40_000_000 + i as u64 * 1_000_000
            }
        });
        let total = m.total_bytes();
        let t = plan_transfer(
            &m,
            &Manifest::default(),
            &PathFilter::all(),
            false,
            settings(true, 1_000_000_000),
        );
        assert_eq!(t.chunks.len(), total.div_ceil(1_000_000_000) as usize);
        check_partition(&t, &m);
        let max = t.chunks.iter().map(|c| c.bytes).max().unwrap();
        let min = t.chunks.iter().map(|c| c.bytes).min().unwrap();
        assert!(
            max - min <= 250_000_000 + FILE_OVERHEAD_BYTES,
            "LPT keeps chunks within one big file: {max} vs {min}"
        );
    }

    #[test]
    fn many_small_files_are_spread() {
        // 5,000 tiny files next to one big one: the small files must not all land in one chunk.
        let m = manifest(5001, |i| if i == 0 { 5_000_000_000 } else { 1_000 });
        let t = plan_transfer(
            &m,
            &Manifest::default(),
            &PathFilter::all(),
            false,
            settings(true, 10_000_000_000),
        );
        assert!(t.chunks.len() >= 5, "{} chunks", t.chunks.len());
        check_partition(&t, &m);
        assert!(t
            .chunks
            .iter()
            .all(|c| c.file_count <= MAX_FILES_PER_CHUNK + 1));
    }

    #[test]
    fn chunk_count_is_capped_and_size_raised() {
        // (files, bytes each, chunk size) → (chunks, chunk size used, warned): a tiny chunk size
        // over few files gives one chunk per file and no "raised" warning (the cap never bit).
        for (n, each, chunk, want) in [
            (500, 1_000_000, 1_000_000, (MAX_CHUNKS, 5_000_000, true)),
            (6, 400_000, 1_000, (6, 1_000, false)),
        ] {
            let m = manifest(n, |_| each);
            let t = plan_transfer(
                &m,
                &Manifest::default(),
                &PathFilter::all(),
                false,
                settings(true, chunk),
            );
            let warned = t.warnings.iter().any(|w| w.contains("raised"));
            assert_eq!((t.chunks.len(), t.chunk_size_bytes, warned), want);
            assert_eq!(t.warnings.len(), usize::from(want.2));
            check_partition(&t, &m);
            assert!(t.chunks.iter().all(|c| c.file_count == n / want.0));
        }
    }

    /// The plan of moving all of `m` into an empty destination.
    fn plan_all_new(m: &Manifest, chunking: ChunkSettings) -> Transfer {
        plan_transfer(m, &Manifest::default(), &PathFilter::all(), false, chunking)
    }

    #[test]
    fn a_chunk_size_meant_for_n_chunks_gives_n() {
        // The size as `scripts/bench ways` passes it: bytes / N in GB to 9 places, which rounds
        // to the nearest byte (sometimes down), then truncated to bytes (sometimes down again).
        for total in [2_400_001_234_u64, 2_516_582_400, 3_221_225_472, 20_480_000] {
            let m = manifest(64, |i| total / 64 + u64::from(i == 0) * (total % 64));
            assert_eq!(m.total_bytes(), total);
            for n in 2..=7 {
                let gb: f64 = format!("{:.9}", total as f64 / n as f64 / 1e9)
                    .parse()
                    .unwrap();
                let t = plan_all_new(&m, ChunkSettings::from_gb(true, Some(gb)));
                assert_eq!(t.chunks.len(), n, "{total} bytes, --chunk-size {gb}");
                check_partition(&t, &m);
            }
        }
        // A real remainder still gets its own chunk: 2.5 GB in 1 GB chunks is 3, 3% over three
        // chunks is a fourth; 0.9% over is spread over the three.
        for (total, want) in [(2_500_000_000, 3), (3_030_000_000, 4), (3_009_000_000, 3)] {
            let m = manifest(100, |_| total / 100);
            let t = plan_all_new(&m, ChunkSettings::from_gb(true, Some(1.0)));
            assert_eq!(t.chunks.len(), want, "{total} bytes in 1 GB chunks");
        }
    }

    #[test]
    fn capped_chunks_of_many_files_warn_of_their_commits() {
        use crate::repo_ref::Platform;
        // 200,000 files: 100 chunks (the cap) of 2,000 files, more than the 1,000 a chunk is for.
        let m = manifest(200_000, |_| 10);
        let t = plan_all_new(&m, ChunkSettings::from_gb(true, None));
        assert_eq!(t.chunks.len(), MAX_CHUNKS);
        let ms = scale_warnings(&t, Platform::Ms);
        assert_eq!(ms.len(), 2, "{ms:?}");
        assert!(
            ms[0].starts_with("100 chunks (the container cap) carry up to 2,000 files each, more than the 1,000 a chunk is sized for: each makes up to 8 commits of at most 256 files to ModelScope, 800 commits in all"),
            "{}",
            ms[0]
        );
        assert_eq!(
            ms[1],
            "the destination would hold 200,000 files; ModelScope advises under 100,000 per repository"
        );
        let hf = scale_warnings(&t, Platform::Hf);
        assert!(
            hf[0].contains(
                "up to 20 commits of at most 100 files to Hugging Face, 2,000 commits in all"
            ),
            "{}",
            hf[0]
        );
        // Uncapped chunks, and one container without --parallel, are as planned: no warning
        // (100,000 files is still within the advice).
        let m = manifest(100_000, |_| 10);
        for parallel in [true, false] {
            let t = plan_all_new(&m, ChunkSettings::from_gb(parallel, None));
            assert_eq!(scale_warnings(&t, Platform::Ms), Vec::<String>::new());
        }
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(999), "999");
    }

    #[test]
    fn eta_follows_the_slowest_chunk() {
        let m = Manifest::from_entries(vec![
            entry("a.bin", 500_000_000, Some(1), None),
            entry("b.bin", 50_000_000, Some(2), None),
        ]);
        let t = plan_transfer(
            &m,
            &Manifest::default(),
            &PathFilter::all(),
            false,
            settings(true, 1),
        );
        assert_eq!(t.chunks.len(), 2);
        // Two chunks at 50 MB/s each (the default link is wider): the 500 MB one sets the ETA.
        let want =
            cost::default_startup_s(Sizing::default().backend) + 10.0 + cost::DEFAULT_PER_FILE_S;
        assert!((t.eta_s - want).abs() < 1e-9, "{}", t.eta_s);
        assert_eq!(t.estimate.eta_s, t.eta_s);
        assert_eq!(
            t.estimate.chunk_choice.as_deref(),
            Some("2 chunks from --chunk-size 1 B")
        );
    }

    #[test]
    fn without_a_chunk_size_the_target_chooses_the_count() {
        // 16 files of 300 MB; per container 50 MB/s by default, links (default 450 MB/s) shared.
        let m = manifest(16, |_| 300_000_000);
        let plan = |target, link_bps: f64| {
            let sizing = Sizing {
                target,
                rates: Some(cost::Rates {
                    link_bps,
                    ..cost::Rates::defaults(cost::CostBackend::Modal)
                }),
                ..Sizing::default()
            };
            plan_transfer(
                &m,
                &Manifest::default(),
                &PathFilter::all(),
                false,
                ChunkSettings::from_gb(true, None).with_sizing(sizing),
            )
        };
        let t = plan(cost::Target::Fastest, 150e6);
        assert_eq!(t.chunks.len(), 3, "3 × 50 MB/s fill a 150 MB/s link");
        check_partition(&t, &m);
        assert!(t
            .estimate
            .chunk_choice
            .as_deref()
            .unwrap()
            .contains("fill the hubs' shared"));
        assert_eq!(t.chunk_size_bytes, 1_600_000_000);
        assert_eq!(plan(cost::Target::Cheapest, 150e6).chunks.len(), 1);
        // 4.8 GB: 15 s + 96 s on one chunk, 15 s + 48 s on two; 70 s allows two.
        let within = plan(cost::Target::Within(70.0), 1e12);
        assert_eq!(within.chunks.len(), 2, "{:?}", within.estimate);
        assert!(within.warnings.is_empty());
        let impossible = plan(cost::Target::Within(5.0), 150e6);
        assert_eq!(impossible.chunks.len(), 3, "the fastest when none fits");
        assert!(impossible.warnings[0].contains("no chunk count finishes within 5.0s"));
    }

    #[test]
    fn human_bytes_is_decimal() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000_000), "1.5 GB");
    }
}
