//! Throughput measured on this user's previous runs: one JSON line per finished run in
//! `<state dir>/throughput.jsonl`, and the [`Rates`] the next plan derives from them.
//!
//! A sample holds what the model needs and nothing about the repository: backend, direction,
//! bytes, files, chunks, the slowest worker's seconds (`transfer_s`) and the run's wall seconds;
//! a detached run's sample also carries its run id, so building its report again adds nothing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{CostBackend, RateSource, Rates, DEFAULT_MODAL_LINK_BPS, DEFAULT_PER_FILE_S};

/// Samples kept in the file (older ones are dropped when it grows past twice this).
const KEPT: usize = 100;
/// Samples a plan looks at: the most recent ones of its backend and direction.
const CONSIDERED: usize = 20;
/// Files a run must have moved for its time to bound the per-file cost.
const PER_FILE_MIN_FILES: u64 = 100;
/// The lowest per-file cost a history can set, seconds.
const PER_FILE_FLOOR_S: f64 = 0.000_5;

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix seconds.
    pub at: f64,
    pub backend: CostBackend,
    /// `hf->ms` or `ms->hf`.
    pub direction: String,
    pub bytes: u64,
    pub files: u64,
    pub chunks: u32,
    /// The slowest worker's own seconds (first event to result).
    pub transfer_s: f64,
    /// The run's wall seconds (start of the workers to the end of verification).
    pub wall_s: f64,
    /// The detached run this sample came from (`logs` records it once per run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// What a finished run took, as [`Sample::of_run`] reads it.
pub struct RunMeasure<'a> {
    pub backend: CostBackend,
    pub source: crate::repo_ref::Platform,
    pub dest: crate::repo_ref::Platform,
    pub report: &'a crate::report::Report,
    /// The slowest worker's own seconds ([`crate::report::Tracker::worker_seconds`]).
    pub slowest_worker_s: f64,
    pub wall_s: f64,
    pub run_id: Option<String>,
}

impl Sample {
    /// The sample of a finished run, or None when it says nothing about throughput: only runs
    /// that ended ok, moved bytes and heard from a worker count.
    pub fn of_run(run: RunMeasure<'_>) -> Option<Sample> {
        let r = run.report;
        if r.status != crate::events::RunStatus::Ok
            || r.totals.bytes_moved == 0
            || run.slowest_worker_s <= 0.0
        {
            return None;
        }
        Some(Sample {
            at: crate::run_records::now_s(),
            backend: run.backend,
            direction: direction(run.source, run.dest),
            bytes: r.totals.bytes_moved,
            files: r.totals.files_moved,
            chunks: r.chunks,
            transfer_s: run.slowest_worker_s,
            wall_s: run.wall_s.max(run.slowest_worker_s),
            run_id: run.run_id,
        })
    }
}

/// How samples name a direction: `hf->ms`.
pub fn direction(from: crate::repo_ref::Platform, to: crate::repo_ref::Platform) -> String {
    format!("{}->{}", from.as_str(), to.as_str())
}

/// The history file of a state directory.
pub fn path(state: &Path) -> PathBuf {
    state.join("throughput.jsonl")
}

/// Appends `sample` (creating the directory, private to the user); trims the file when long.
pub fn record(state: &Path, sample: &Sample) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(state)
        .with_context(|| format!("creating the state directory {}", state.display()))?;
    let file = path(state);
    let mut samples = load(state);
    samples.push(sample.clone());
    if samples.len() > 2 * KEPT {
        let keep = samples.split_off(samples.len() - KEPT);
        let tmp = state.join(".throughput.jsonl.tmp");
        let mut text = String::new();
        for s in &keep {
            text.push_str(&serde_json::to_string(s)?);
            text.push('\n');
        }
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &file).with_context(|| format!("writing {}", file.display()))?;
        return Ok(());
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .with_context(|| format!("writing {}", file.display()))?;
    writeln!(out, "{}", serde_json::to_string(sample)?)
        .with_context(|| format!("writing {}", file.display()))
}

/// Appends `sample` unless the history already holds one of its run id; true when it was added.
/// (A sample without a run id is always added.)
pub fn record_once(state: &Path, sample: &Sample) -> anyhow::Result<bool> {
    if sample.run_id.is_some() && load(state).iter().any(|s| s.run_id == sample.run_id) {
        return Ok(false);
    }
    record(state, sample)?;
    Ok(true)
}

/// Every readable sample, oldest first (a missing file or a line from another version is skipped).
pub fn load(state: &Path) -> Vec<Sample> {
    let Ok(text) = std::fs::read_to_string(path(state)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Sample>(l).ok())
        .filter(|s| s.bytes > 0 && s.transfer_s > 0.0 && s.chunks > 0)
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// The rates the samples of `backend` and `direction` give, or None without any (docs/cost.md):
/// - per container: the median of one-chunk runs' rates, else the best of several-chunk runs'
///   rate per chunk;
/// - shared link: the median aggregate of several-chunk runs that moved clearly less than their
///   chunks could on their own (the links bound them); else, with only one-chunk runs, the best
///   of those (no run has shown that more containers get more through); else the larger of the
///   default and the best aggregate seen (the local backend: the per-container rate);
/// - start-up: the median of wall time minus the slowest worker's time, over this backend's runs
///   in either direction.
///
/// - per file: the default, or less where a run of many files took less per file in all.
///
/// A sample's rate is its bytes over its slowest worker's time less its per-file cost.
pub fn rates(samples: &[Sample], backend: CostBackend, direction: &str) -> Option<Rates> {
    let recent: Vec<&Sample> = samples
        .iter()
        .rev()
        .filter(|s| s.backend == backend && s.direction == direction)
        .take(CONSIDERED)
        .collect();
    if recent.is_empty() {
        return None;
    }
    // A run of many files bounds the per-file cost: its slowest chunk cannot have spent more
    // per file than all of its time over its share of the files. Erring long (its bytes took
    // time too) keeps the ETA from coming in short; the default stays the ceiling.
    let per_file_s = recent
        .iter()
        .filter(|s| s.files >= PER_FILE_MIN_FILES)
        .map(|s| s.transfer_s * f64::from(s.chunks.max(1)) / s.files as f64)
        .fold(DEFAULT_PER_FILE_S, f64::min)
        .max(PER_FILE_FLOOR_S);
    let rate = |s: &Sample| {
        let per_file = s.files as f64 * per_file_s / f64::from(s.chunks);
        s.bytes as f64 / (s.transfer_s - per_file).max(s.transfer_s * 0.1)
    };
    let singles: Vec<f64> = recent
        .iter()
        .filter(|s| s.chunks == 1)
        .map(|s| rate(s))
        .collect();
    let multis: Vec<(f64, u32)> = recent
        .iter()
        .filter(|s| s.chunks > 1)
        .map(|s| (rate(s), s.chunks))
        .collect();
    let best_single = singles.iter().copied().fold(0.0, f64::max);
    let container_bps = median(singles).unwrap_or_else(|| {
        multis
            .iter()
            .map(|(agg, n)| agg / f64::from(*n))
            .fold(0.0, f64::max)
    });
    let bound: Vec<f64> = multis
        .iter()
        .filter(|(agg, n)| *agg < 0.8 * f64::from(*n) * container_bps)
        .map(|(agg, _)| *agg)
        .collect();
    let best_agg = multis.iter().map(|(agg, _)| *agg).fold(0.0, f64::max);
    // Only one-chunk runs: the links carried at least their best, and nothing has shown that
    // more containers get more through them, so the ETA assumes they do not; the chunk choice
    // still may use more (`Rates::for_choosing`), or the link would never get measured.
    let link_assumed = multis.is_empty();
    let link_bps = median(bound).unwrap_or(if multis.is_empty() {
        best_single
    } else {
        match backend {
            CostBackend::Modal => DEFAULT_MODAL_LINK_BPS.max(best_agg),
            CostBackend::Local => container_bps.max(best_agg),
        }
    });
    // Start-up is the backend's (container start, app set-up, verification), whichever way the
    // bytes went: runs of both directions count.
    let startup_s = median(
        samples
            .iter()
            .rev()
            .filter(|s| s.backend == backend)
            .take(CONSIDERED)
            .map(|s| (s.wall_s - s.transfer_s).clamp(0.0, 600.0))
            .collect(),
    )
    .unwrap_or(super::default_startup_s(backend));
    Some(Rates {
        container_bps,
        link_bps: link_bps.max(container_bps),
        startup_s,
        per_file_s,
        source: RateSource::Measured,
        runs: recent.len() as u32,
        link_assumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(chunks: u32, bytes: u64, transfer_s: f64, wall_s: f64) -> Sample {
        Sample {
            at: 1.0,
            backend: CostBackend::Modal,
            direction: "hf->ms".into(),
            bytes,
            files: 0,
            chunks,
            transfer_s,
            wall_s,
            run_id: None,
        }
    }

    #[test]
    fn rates_come_from_the_matching_runs_only() {
        let mut other = sample(1, 1_000, 1.0, 2.0);
        other.direction = "ms->hf".into();
        let mut local = sample(1, 1_000, 1.0, 2.0);
        local.backend = CostBackend::Local;
        assert_eq!(rates(&[other, local], CostBackend::Modal, "hf->ms"), None);
    }

    #[test]
    fn the_link_counts_as_assumed_until_a_several_chunk_run_measures_it() {
        let one = sample(1, 400_000_000, 10.0, 15.0);
        let three = sample(3, 1_200_000_000, 30.0, 35.0);
        let assumed = |s: &[Sample]| {
            rates(s, CostBackend::Modal, "hf->ms")
                .expect("samples")
                .link_assumed
        };
        assert!(assumed(std::slice::from_ref(&one)));
        assert!(!assumed(&[one, three]));
    }

    #[test]
    fn shared_links_are_learned_from_runs_the_links_held_back() {
        // (samples) → (per container, shared link, start-up) in MB/s and s.
        let cases: Vec<(Vec<Sample>, (f64, f64, f64))> = vec![
            // One chunk at 40 MB/s, 5 s of start and verification: the links carried 40 MB/s,
            // and no run has shown that more containers get more through them.
            (vec![sample(1, 400_000_000, 10.0, 15.0)], (40.0, 40.0, 5.0)),
            // Two one-chunk runs: the links carried at least the better one.
            (
                vec![
                    sample(1, 400_000_000, 10.0, 15.0),
                    sample(1, 400_000_000, 20.0, 25.0),
                ],
                (30.0, 40.0, 5.0),
            ),
            // Three chunks that each moved as fast as one alone: nothing held them back, the
            // link is at least the default.
            (
                vec![
                    sample(1, 400_000_000, 10.0, 15.0),
                    sample(3, 1_200_000_000, 10.0, 15.0),
                ],
                (40.0, 450.0, 5.0),
            ),
            // Three chunks that together moved only 40 MB/s: the links, not the containers.
            (
                vec![
                    sample(1, 400_000_000, 10.0, 15.0),
                    sample(3, 2_400_000_000, 60.0, 70.0),
                ],
                (40.0, 40.0, 7.5),
            ),
            // Three chunks and nothing else: each chunk at least a third of the aggregate.
            (
                vec![sample(3, 2_400_000_000, 60.0, 64.0)],
                (40.0 / 3.0, 450.0, 4.0),
            ),
        ];
        for (samples, (c, l, start)) in cases {
            let r = rates(&samples, CostBackend::Modal, "hf->ms").unwrap();
            assert!((r.container_bps / 1e6 - c).abs() < 1e-6, "{r:?}");
            assert!((r.link_bps / 1e6 - l).abs() < 1e-6, "{r:?}");
            assert!((r.startup_s - start).abs() < 1e-9, "{r:?}");
            assert_eq!(
                (r.source, r.runs),
                (RateSource::Measured, samples.len() as u32)
            );
        }
    }

    #[test]
    fn many_small_files_lower_the_per_file_cost_to_what_they_took() {
        // 20,000 files of 4 kB in 100 s: at most 5 ms a file, not the default 50 ms.
        let mut small = sample(1, 80_000_000, 100.0, 103.0);
        small.files = 20_000;
        let r = rates(std::slice::from_ref(&small), CostBackend::Modal, "hf->ms");
        assert!((r.unwrap().per_file_s - 0.005).abs() < 1e-12);
        // In 20 chunks whose slowest took 10 s: 1,000 files each, 10 ms a file.
        let mut chunked = sample(20, 80_000_000, 10.0, 13.0);
        chunked.files = 20_000;
        let r = rates(&[chunked], CostBackend::Modal, "hf->ms").unwrap();
        assert!((r.per_file_s - 0.01).abs() < 1e-12, "{r:?}");
        // A few large files say nothing about per-file costs; the default stays.
        let mut few = sample(1, 4_000_000_000, 100.0, 103.0);
        few.files = 8;
        let r = rates(&[few], CostBackend::Modal, "hf->ms").unwrap();
        assert_eq!(r.per_file_s, DEFAULT_PER_FILE_S);
    }

    #[test]
    fn start_up_is_the_backends_whichever_way_the_bytes_went() {
        let mut back = sample(1, 400_000_000, 10.0, 19.0);
        back.direction = "ms->hf".into();
        let mut local = sample(1, 400_000_000, 10.0, 10.5);
        local.backend = CostBackend::Local;
        let samples = [
            back.clone(),
            back,
            local,
            sample(1, 400_000_000, 10.0, 13.0),
        ];
        let r = rates(&samples, CostBackend::Modal, "hf->ms").unwrap();
        // Start-ups of 9, 9 and 3 s on Modal (the local run's 0.5 s does not count).
        assert!((r.startup_s - 9.0).abs() < 1e-9, "{r:?}");
        assert_eq!(
            r.runs, 1,
            "the rates themselves come from this direction only"
        );
    }

    #[test]
    fn samples_append_and_the_file_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(2 * KEPT + 1) {
            record(dir.path(), &sample(1, 1 + i as u64, 1.0, 2.0)).unwrap();
        }
        let all = load(dir.path());
        assert_eq!(all.len(), KEPT);
        assert_eq!(
            all.last().unwrap().bytes,
            2 * KEPT as u64 + 1,
            "newest kept"
        );
        let mut detached = sample(1, 7, 1.0, 2.0);
        detached.run_id = Some("run-x".into());
        assert!(record_once(dir.path(), &detached).unwrap());
        assert!(
            !record_once(dir.path(), &detached).unwrap(),
            "once per run id"
        );
        assert_eq!(load(dir.path()).len(), KEPT + 1);
        std::fs::write(path(dir.path()), "not json\n").unwrap();
        assert!(load(dir.path()).is_empty(), "unreadable lines are skipped");
    }
}
