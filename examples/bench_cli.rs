//! Benchmark helper for `scripts/bench cli` (prints numbers; asserts nothing).
//!
//! - `bench_cli plan [FILES]`: builds a synthetic source manifest of FILES entries (default
//!   1,000,000; 1% large LFS files, the rest small) and a destination holding every other file,
//!   then times sorting both manifests and planning (diff + parallel chunk plan), and reports the
//!   process's peak RSS (`VmHWM`).
//! - `bench_cli events [LINES]`: parses LINES worker output lines (the shared fixture's events and
//!   log lines, repeated) with `hubferry::events::parse_line` and reports lines/s and MB/s.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use hubferry::manifest::{Digest, FileEntry, Manifest};
use hubferry::plan::{
    plan_transfer, ChunkSettings, JobTuning, Method, PathFilter, Plan, PlanOptions, Visibility,
    VisibilityChoice,
};
use hubferry::repo_ref::{Platform, RepoRef, RepoType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("plan") => plan(count(2, 1_000_000)),
        Some("events") => events(count(2, 1_000_000)),
        _ => {
            println!("usage: bench_cli plan [FILES] | events [LINES]");
            std::process::exit(2);
        }
    }
}

/// xorshift64*: deterministic sizes and ids without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

fn synthetic(n: usize) -> Vec<FileEntry> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let large = rng.next().is_multiple_of(100);
            let size = if large {
                100_000_000 + rng.next() % 1_900_000_000
            } else {
                1_000 + rng.next() % 1_000_000
            };
            FileEntry {
                path: format!(
                    "data/shard-{:04}/part-{i:07}.{}",
                    i / 1000,
                    if large { "safetensors" } else { "json" }
                ),
                size,
                sha256: large.then(|| Digest(rng.bytes::<32>())),
                git_oid: (!large).then(|| Digest(rng.bytes::<20>())),
                lfs: large,
            }
        })
        .collect()
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn plan(n: usize) {
    let t = Instant::now();
    let mut source = synthetic(n);
    // The hubs list in their own order; reverse so sorting has real work to do.
    source.reverse();
    let dest: Vec<FileEntry> = source.iter().step_by(2).cloned().collect();
    let generated = t.elapsed();

    let t = Instant::now();
    let source = Manifest::from_entries(source);
    let dest = Manifest::from_entries(dest);
    let sorted = t.elapsed();

    let t = Instant::now();
    let filter = PathFilter::new(&[], &["*.tmp".to_string()]).expect("static glob");
    let transfer = plan_transfer(
        &source,
        &dest,
        &filter,
        false,
        ChunkSettings::from_gb(true, Some(10.0)),
    );
    let planned = t.elapsed();

    // The default --parallel plan: the chunk count chosen for the fastest finish, then estimated.
    let t = Instant::now();
    let targeted = plan_transfer(
        &source,
        &dest,
        &filter,
        false,
        ChunkSettings::from_gb(true, None),
    );
    let scale = hubferry::plan::scale_warnings(&targeted, Platform::Ms);
    let chosen = t.elapsed();

    let max_files = transfer
        .chunks
        .iter()
        .map(|c| c.file_count)
        .max()
        .unwrap_or(0);
    let (min_b, max_b) = transfer.chunks.iter().fold((u64::MAX, 0), |(lo, hi), c| {
        (lo.min(c.bytes), hi.max(c.bytes))
    });
    println!(
        "plan: {n} source files, {} destination files (synthetic; generation {:.2} s not counted)",
        dest.len(),
        generated.as_secs_f64()
    );
    println!("plan: sort both manifests {:.3} s", sorted.as_secs_f64());
    println!(
        "plan: diff + chunk plan {:.3} s ({} to move, {} to skip, {} chunks, ≤ {max_files} files/chunk, chunk bytes {:.1}–{:.1} GB)",
        planned.as_secs_f64(),
        transfer.to_move.len(),
        transfer.to_skip.len(),
        transfer.chunks.len(),
        min_b as f64 / 1e9,
        max_b as f64 / 1e9
    );
    println!(
        "plan: diff + chunk count for --target fastest + estimate {:.3} s ({} chunks, eta {:.0} s, {:.0} container-s, ${:.2}: {})",
        chosen.as_secs_f64(),
        targeted.chunks.len(),
        targeted.estimate.eta_s,
        targeted.estimate.container_s,
        targeted.estimate.cost_usd,
        targeted.estimate.chunk_choice.as_deref().unwrap_or("-")
    );
    for w in &scale {
        println!("plan: warning: {w}");
    }
    println!(
        "plan: total planning {:.3} s; peak RSS {:.0} MB",
        (sorted + planned).as_secs_f64(),
        peak_rss_mb()
    );

    // Writing every chunk's job file (streamed, as the runner does), into a byte counter.
    let plan = Plan {
        source: side(Platform::Hf, "main"),
        source_sha: Some("0".repeat(40)),
        dest: side(Platform::Ms, "master"),
        source_private: false,
        source_gated: false,
        dest_exists: true,
        dest_visibility: Visibility::Public,
        source_manifest: source,
        dest_manifest: dest,
        transfer,
        options: PlanOptions {
            method: Method::Auto,
            visibility_choice: VisibilityChoice::Source,
            allow_public_gated: false,
            delete: false,
            include: vec![],
            exclude: vec![],
            parallel: true,
        },
        warnings: vec![],
        dest_url: String::new(),
        preflight_s: 0.0,
        card: None,
    };
    let t = Instant::now();
    let tuning = JobTuning::default();
    let mut out = Counter(0);
    for i in 0..plan.transfer.chunks.len() {
        serde_json::to_writer(&mut out, &plan.job(i, "r0", &tuning)).expect("job serializes");
    }
    println!(
        "plan: {} job files written in {:.3} s ({:.0} MB of JSON); peak RSS {:.0} MB",
        plan.transfer.chunks.len(),
        t.elapsed().as_secs_f64(),
        out.0 as f64 / 1e6,
        peak_rss_mb()
    );
}

fn side(platform: Platform, revision: &str) -> RepoRef {
    RepoRef {
        platform,
        repo_type: Some(RepoType::Model),
        id: "bench/big".into(),
        revision: Some(revision.into()),
    }
}

/// Counts bytes written.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn events(lines: usize) {
    let fixture = include_str!("../tests/fixtures/events_v1.ndjson");
    let sample: Vec<&str> = fixture.lines().filter(|l| !l.trim().is_empty()).collect();
    let input: Vec<&str> = sample.iter().cycle().take(lines).copied().collect();
    let bytes: usize = input.iter().map(|l| l.len() + 1).sum();
    let t = Instant::now();
    let mut parsed = 0usize;
    for line in &input {
        if matches!(
            hubferry::events::parse_line(line),
            hubferry::events::Line::Event(_)
        ) {
            parsed += 1;
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "events: {lines} lines ({parsed} events) in {s:.3} s: {:.0} lines/s, {:.1} MB/s",
        lines as f64 / s,
        bytes as f64 / s / 1e6
    );
}
