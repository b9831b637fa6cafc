//! What a run will take and cost before it starts: the throughput model behind the plan's ETA,
//! the Modal price table, and the chunk count chosen for a target (`--target`, `--within`).
//!
//! Throughput model (docs/cost.md): every container moves at most `container_bps`, and all
//! containers of a run share the hubs' links, `link_bps` in all; so with `n` chunks running at
//! once each moves at `min(container_bps, link_bps / n)`. A chunk takes its bytes at that rate
//! plus `per_file_s` per file; the run takes `startup_s` plus its slowest chunk (or, when fewer
//! workers run at once than there are chunks, the chunks' total over the workers). The rates come
//! from this user's previous runs ([`history`]) or, without any, from the documented defaults.
//!
//! Cost: container-seconds (each chunk's time plus its start) × the container's cores and memory
//! × the published per-second prices, which the environment can override ([`Prices::from_env`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::printer::{human_bytes, human_duration};

pub mod history;

/// Modal's published price of one physical CPU core for one second, US dollars
/// (modal.com/pricing, 2026: $0.0000131 per core-second).
pub const PRICE_CPU_CORE_S: f64 = 0.000_013_1;
/// Modal's published price of one GiB of memory for one second, US dollars
/// (modal.com/pricing, 2026: $0.00000222 per GiB-second).
pub const PRICE_MEM_GIB_S: f64 = 0.000_002_22;
/// Overrides [`PRICE_CPU_CORE_S`].
pub const ENV_PRICE_CPU: &str = "HUBFERRY_PRICE_CPU_CORE_S";
/// Overrides [`PRICE_MEM_GIB_S`].
pub const ENV_PRICE_MEM: &str = "HUBFERRY_PRICE_MEM_GIB_S";

/// Default throughput of one container (download and upload pipelined), bytes per second.
pub const DEFAULT_CONTAINER_BPS: f64 = 50e6;
/// Default capacity of the hubs' links that all containers of a Modal run share, bytes per
/// second: the seed's published aggregate of about 458 MB/s over about 100 containers.
pub const DEFAULT_MODAL_LINK_BPS: f64 = 450e6;
/// Default start and finish overhead of a Modal run: container start, worker set-up, final
/// re-listing.
pub const DEFAULT_MODAL_STARTUP_S: f64 = 15.0;
/// Default start and finish overhead of a local run: the worker is a child process on this
/// machine (measured 0.4–0.5 s on an idle 2-core machine, more under load; docs/cost.md).
pub const DEFAULT_LOCAL_STARTUP_S: f64 = 2.0;
/// Default per-file cost in seconds (requests, commit share).
pub const DEFAULT_PER_FILE_S: f64 = 0.05;
/// The most containers one repository's run uses (Modal Starter's concurrency).
pub const MAX_CONTAINERS: usize = 100;

/// The start-up a plan assumes for `backend` until this user's runs have measured it.
pub fn default_startup_s(backend: CostBackend) -> f64 {
    match backend {
        CostBackend::Modal => DEFAULT_MODAL_STARTUP_S,
        CostBackend::Local => DEFAULT_LOCAL_STARTUP_S,
    }
}

/// Per-second prices, US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub cpu_core_s: f64,
    pub mem_gib_s: f64,
    /// True when the environment overrode a published price.
    pub overridden: bool,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            cpu_core_s: PRICE_CPU_CORE_S,
            mem_gib_s: PRICE_MEM_GIB_S,
            overridden: false,
        }
    }
}

impl Prices {
    /// The published prices, each overridden by its environment variable when set. A value that
    /// is not a non-negative number is an error naming the variable.
    pub fn from_env() -> Result<Prices, String> {
        let mut prices = Prices::default();
        for (name, slot) in [
            (ENV_PRICE_CPU, &mut prices.cpu_core_s),
            (ENV_PRICE_MEM, &mut prices.mem_gib_s),
        ] {
            let Ok(text) = std::env::var(name) else {
                continue;
            };
            match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {
                    *slot = v;
                    prices.overridden = true;
                }
                _ => {
                    return Err(format!(
                        "{name}={text} is not a price in US dollars per second"
                    ))
                }
            }
        }
        Ok(prices)
    }

    /// Dollars per second of one container of `size`.
    pub fn per_container_s(&self, size: ContainerSize) -> f64 {
        size.cpu * self.cpu_core_s + size.memory_gib * self.mem_gib_s
    }
}

/// What one container requests (Modal bills max(request, usage); hubferry prices the request).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerSize {
    pub cpu: f64,
    pub memory_gib: f64,
}

impl Default for ContainerSize {
    /// The Modal app's request ([`crate::render::AppSettings`]).
    fn default() -> Self {
        let app = crate::render::AppSettings::for_env(&[]);
        ContainerSize {
            cpu: app.cpu,
            memory_gib: app.memory_mib as f64 / 1024.0,
        }
    }
}

/// Where the rates came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// The documented defaults (no previous run in this direction on this backend).
    Default,
    /// This user's previous runs (the state directory's throughput history).
    Measured,
}

/// The throughput model's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    /// Bytes per second one container moves on its own.
    pub container_bps: f64,
    /// Bytes per second all containers of a run share (the hubs' links).
    pub link_bps: f64,
    /// True when no several-chunk run has measured the shared link yet: `link_bps` is then the
    /// best one-chunk run's rate, a floor the ETA plans on, while the chunk count is still
    /// chosen as if the link carried the backend's default (docs/cost.md).
    #[serde(default)]
    pub link_assumed: bool,
    pub startup_s: f64,
    pub per_file_s: f64,
    pub source: RateSource,
    /// How many previous runs the measured rates come from (0 for the defaults).
    pub runs: u32,
}

impl Rates {
    /// The documented defaults for `backend`: local chunks share this machine's one link.
    pub fn defaults(backend: CostBackend) -> Rates {
        Rates {
            container_bps: DEFAULT_CONTAINER_BPS,
            link_bps: match backend {
                CostBackend::Modal => DEFAULT_MODAL_LINK_BPS,
                CostBackend::Local => DEFAULT_CONTAINER_BPS,
            },
            startup_s: default_startup_s(backend),
            per_file_s: DEFAULT_PER_FILE_S,
            source: RateSource::Default,
            runs: 0,
            link_assumed: false,
        }
    }

    /// The rates a chunk count is chosen with: an assumed link counts as the backend's default,
    /// so that a history of one-chunk runs never rules out more containers (a run with more
    /// chunks is how the link gets measured).
    pub fn for_choosing(&self, backend: CostBackend) -> Rates {
        if !self.link_assumed {
            return *self;
        }
        Rates {
            link_bps: self.link_bps.max(Rates::defaults(backend).link_bps),
            ..*self
        }
    }

    /// Each chunk's rate while `running` chunks share the links.
    pub fn per_chunk_bps(&self, running: usize) -> f64 {
        self.container_bps
            .min(self.link_bps / running.max(1) as f64)
            .max(1.0)
    }
}

/// Where the chunks run, as far as cost is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CostBackend {
    /// Modal containers: billed per second.
    #[default]
    Modal,
    /// This machine: nothing to pay Modal.
    Local,
}

/// What the chunk count is chosen for (`--parallel` without `--chunk-size`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Target {
    /// The earliest finish; of the chunk counts that reach it, the one with fewest container-seconds.
    #[default]
    Fastest,
    /// The fewest container-seconds (the fewest chunks the per-chunk file limit allows).
    Cheapest,
    /// The fewest container-seconds among the chunk counts estimated to finish within this many
    /// seconds (the fastest, with a warning, when none does).
    Within(f64),
}

impl Target {
    /// `fastest`, `cheapest` or `within`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Fastest => "fastest",
            Target::Cheapest => "cheapest",
            Target::Within(_) => "within",
        }
    }
}

/// Everything the estimate needs besides the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sizing {
    pub backend: CostBackend,
    /// Chunks running at once (Modal: the container cap; local: `--concurrency`).
    pub concurrency: usize,
    pub target: Target,
    /// None: [`Rates::defaults`] of the backend.
    pub rates: Option<Rates>,
    pub prices: Prices,
    pub container: ContainerSize,
}

impl Sizing {
    /// The rates in effect.
    pub fn rates(&self) -> Rates {
        self.rates.unwrap_or_else(|| Rates::defaults(self.backend))
    }

    fn running(&self, chunks: usize) -> usize {
        let cap = if self.concurrency == 0 {
            MAX_CONTAINERS
        } else {
            self.concurrency
        };
        chunks.min(cap).max(1)
    }
}

/// The plan's estimate (`estimate` in the `--dry-run --json` plan object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// Seconds until the last chunk is done.
    pub eta_s: f64,
    /// Container-seconds of all chunks, their starts included.
    pub container_s: f64,
    /// Estimated Modal cost in US dollars; 0 for the local backend (no Modal charges: not
    /// applicable, as the human plan says).
    pub cost_usd: f64,
    pub backend: CostBackend,
    pub prices: Prices,
    pub container: ContainerSize,
    pub rates: Rates,
    /// What the chunk count was chosen for (`fastest`, `cheapest`, `within`); null when it was
    /// not chosen (no `--parallel`, or `--chunk-size`).
    pub target: Option<String>,
    /// The time budget of `--within`, seconds.
    pub within_s: Option<f64>,
    /// One line: how many chunks and why.
    pub chunk_choice: Option<String>,
}

impl Estimate {
    /// Cost of `container_s` container-seconds on `sizing.backend` (local: 0, nothing to pay).
    pub fn cost_under(sizing: &Sizing, container_s: f64) -> f64 {
        match sizing.backend {
            CostBackend::Modal => container_s * sizing.prices.per_container_s(sizing.container),
            CostBackend::Local => 0.0,
        }
    }
}

impl Estimate {
    /// The cost of `container_s` at this estimate's prices and container size (local: 0).
    pub fn cost_of(&self, container_s: f64) -> f64 {
        match self.backend {
            CostBackend::Modal => container_s * self.prices.per_container_s(self.container),
            CostBackend::Local => 0.0,
        }
    }
}

/// The plan's estimate as the report repeats it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportEstimate {
    pub eta_s: f64,
    pub container_s: f64,
    /// 0 for the local backend.
    pub cost_usd: f64,
    pub backend: CostBackend,
    /// Where the plan's rates came from.
    pub source: RateSource,
}

impl ReportEstimate {
    pub fn of(e: &Estimate) -> Self {
        ReportEstimate {
            eta_s: round1(e.eta_s),
            container_s: round1(e.container_s),
            cost_usd: e.cost_usd,
            backend: e.backend,
            source: e.rates.source,
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One chunk as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkLoad {
    pub bytes: u64,
    pub files: usize,
}

/// Each chunk's seconds of moving bytes when all of them run at once and share the links: every
/// running chunk moves at `min(container_bps, link_bps / running)`, and a chunk that is done
/// frees its share for the others. So chunks of unequal size finish in the links' total time
/// (all bytes over the link), not in the largest chunk at a third of the link. Same order as
/// `bytes`.
pub fn shared_link_seconds(bytes: &[u64], rates: &Rates) -> Vec<f64> {
    let mut order: Vec<usize> = (0..bytes.len()).collect();
    order.sort_by_key(|&i| bytes[i]);
    let mut seconds = vec![0.0; bytes.len()];
    let (mut t, mut done) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        // Every chunk still running has moved `done` bytes: they all moved at the same rate.
        let running = bytes.len() - k;
        let b = bytes[i] as f64;
        t += (b - done) / rates.per_chunk_bps(running);
        done = b;
        seconds[i] = t;
    }
    seconds
}

/// ETA and container-seconds of these chunks under `sizing`'s model (module header).
pub fn time_and_container_s(chunks: &[ChunkLoad], sizing: &Sizing) -> (f64, f64) {
    if chunks.is_empty() {
        return (0.0, 0.0);
    }
    let rates = sizing.rates();
    let running = sizing.running(chunks.len());
    let times: Vec<f64> = if running >= chunks.len() {
        let bytes: Vec<u64> = chunks.iter().map(|c| c.bytes).collect();
        shared_link_seconds(&bytes, &rates)
            .into_iter()
            .zip(chunks)
            .map(|(s, c)| s + c.files as f64 * rates.per_file_s)
            .collect()
    } else {
        // Fewer workers than chunks (local `--concurrency`): the queue keeps `running` busy.
        let bps = rates.per_chunk_bps(running);
        chunks
            .iter()
            .map(|c| c.bytes as f64 / bps + c.files as f64 * rates.per_file_s)
            .collect()
    };
    let slowest = times.iter().copied().fold(0.0, f64::max);
    let total: f64 = times.iter().sum();
    let eta = rates.startup_s + slowest.max(total / running as f64);
    let container_s = rates.startup_s * chunks.len() as f64 + total;
    (eta, container_s)
}

/// The estimate of already-split chunks; `target`/`chunk_choice` are filled by the caller.
pub fn estimate(chunks: &[ChunkLoad], sizing: &Sizing) -> Estimate {
    let (eta_s, container_s) = time_and_container_s(chunks, sizing);
    Estimate {
        eta_s,
        container_s,
        cost_usd: Estimate::cost_under(sizing, container_s),
        backend: sizing.backend,
        prices: sizing.prices,
        container: sizing.container,
        rates: sizing.rates(),
        target: None,
        within_s: None,
        chunk_choice: None,
    }
}

/// The files to split, as the chunk choice needs them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    pub bytes: u64,
    pub files: usize,
    /// The largest file: no chunk is smaller than it.
    pub largest: u64,
}

/// The chunk count for `sizing.target`, within `min_chunks..=` the container cap and the file
/// count, and the one line that says why (plus a warning when a time budget cannot be met).
pub fn choose_chunks(
    w: Workload,
    min_chunks: usize,
    sizing: &Sizing,
) -> (usize, String, Option<String>) {
    let hi = MAX_CONTAINERS.min(w.files).max(1);
    let lo = min_chunks.clamp(1, hi);
    let measured = sizing.rates();
    let sizing = &Sizing {
        rates: Some(measured.for_choosing(sizing.backend)),
        ..*sizing
    };
    let rates = sizing.rates();
    // The packed chunks are not known yet: the slowest carries max(bytes / n, the largest file),
    // the others share the rest evenly.
    let approx = |n: usize| {
        let slowest_bytes = w.bytes.div_ceil(n as u64).max(w.largest).min(w.bytes);
        let rest = w.bytes - slowest_bytes;
        let others = n as u64 - 1;
        let chunks: Vec<ChunkLoad> = (0..n as u64)
            .map(|i| ChunkLoad {
                bytes: if i == 0 {
                    slowest_bytes
                } else {
                    rest / others + u64::from(i <= rest % others)
                },
                files: w.files / n + usize::from((i as usize) < w.files % n),
            })
            .collect();
        time_and_container_s(&chunks, sizing)
    };
    let candidates: Vec<(usize, f64, f64)> = (lo..=hi)
        .map(|n| {
            let (eta, cs) = approx(n);
            (n, eta, cs)
        })
        .collect();
    let cheapest_of = |set: &[(usize, f64, f64)]| {
        *set.iter()
            .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)))
            .expect("non-empty")
    };
    let fastest = || {
        let best = candidates.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        // Within 2% or 1 s of the earliest finish counts as as fast (the model is no finer):
        // more chunks would only cost more.
        let near: Vec<_> = candidates
            .iter()
            .copied()
            .filter(|c| c.1 <= best + (best * 0.02).max(1.0))
            .collect();
        cheapest_of(&near)
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (n, why, warning) = match sizing.target {
        Target::Fastest => {
            let (n, eta, _) = fastest();
            (n, fastest_reason(n, eta, w, lo, hi, &rates, sizing), None)
        }
        Target::Cheapest => {
            let (n, eta, _) = cheapest_of(&candidates);
            let why = if n > 1 && n == lo {
                format!(
                    ", as each chunk carries at most {} files",
                    crate::plan::MAX_FILES_PER_CHUNK
                )
            } else {
                String::new()
            };
            (
                n,
                format!(
                    "{n} chunk{} for the fewest container-seconds (--target cheapest{why}; eta {})",
                    plural(n),
                    human_duration(eta)
                ),
                None,
            )
        }
        Target::Within(budget) => {
            let feasible: Vec<_> = candidates
                .iter()
                .copied()
                .filter(|c| c.1 <= budget)
                .collect();
            if feasible.is_empty() {
                let (n, eta, _) = fastest();
                let warning = format!(
                    "no chunk count finishes within {} (--within): the fastest plan is estimated at {}",
                    human_duration(budget),
                    human_duration(eta)
                );
                (
                    n,
                    format!(
                        "{n} chunk{}, the fastest, since none finishes within {}",
                        plural(n),
                        human_duration(budget)
                    ),
                    Some(warning),
                )
            } else {
                let (n, eta, _) = cheapest_of(&feasible);
                (
                    n,
                    format!(
                        "{n} chunk{}, the fewest container-seconds that finish within {} (eta {})",
                        plural(n),
                        human_duration(budget),
                        human_duration(eta)
                    ),
                    None,
                )
            }
        }
    };
    if measured.link_assumed && n > 1 {
        let note = format!(
            "; the hubs' shared link is not measured yet (only one-chunk runs, best {}/s), so the eta assumes the chunks together move no more than that",
            human_bytes(measured.link_bps as u64)
        );
        return (n, why + &note, warning);
    }
    (n, why, warning)
}

fn fastest_reason(
    n: usize,
    eta: f64,
    w: Workload,
    lo: usize,
    hi: usize,
    rates: &Rates,
    sizing: &Sizing,
) -> String {
    let plural = if n == 1 { "" } else { "s" };
    let head = format!(
        "{n} chunk{plural} for the fastest finish (eta {})",
        human_duration(eta)
    );
    let why = if n == hi && n == w.files && n < MAX_CONTAINERS {
        "one per file".to_string()
    } else if n == hi && n == MAX_CONTAINERS {
        format!("the {MAX_CONTAINERS}-container cap")
    } else if n == lo && lo > 1 {
        format!(
            "each chunk carries at most {} files",
            crate::plan::MAX_FILES_PER_CHUNK
        )
    } else if n as f64 * rates.container_bps >= rates.link_bps * 0.99 {
        format!(
            "{n} container{plural} at {}/s fill the hubs' shared {}/s; more would add container-seconds without finishing sooner",
            human_bytes(rates.container_bps as u64),
            human_bytes(rates.link_bps as u64)
        )
    } else if w.largest as f64 >= w.bytes as f64 / n as f64 {
        format!(
            "the largest file ({}) sets the slowest chunk",
            human_bytes(w.largest)
        )
    } else if sizing.running(n) < n || n == sizing.running(hi) {
        "as many as run at once".to_string()
    } else {
        "more would finish at most 2% or 1 s sooner and add container-seconds".to_string()
    };
    format!("{head}: {why}")
}

/// `30m`, `2h`, `90s`, `1h30m` or plain seconds, as `--within` takes it.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let bad = || format!("`{text}` is not a duration (e.g. 45s, 30m, 2h, 1h30m)");
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        return (v.is_finite() && v > 0.0).then_some(v).ok_or_else(bad);
    }
    let mut total = 0.0;
    let mut number = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => return Err(bad()),
        };
        let v: f64 = number.parse().map_err(|_| bad())?;
        total += v * unit;
        number.clear();
    }
    if !(number.is_empty() && total.is_finite() && total > 0.0) {
        return Err(bad());
    }
    Ok(total)
}

/// Dollars as the plan and report print them: enough digits for a few cents' runs.
pub fn human_usd(usd: f64) -> String {
    if usd >= 1.0 {
        format!("${usd:.2}")
    } else if usd >= 0.01 {
        format!("${usd:.3}")
    } else {
        format!("${usd:.5}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_within_takes_them() {
        for (text, want) in [
            ("45", Some(45.0)),
            ("45s", Some(45.0)),
            ("30m", Some(1800.0)),
            ("1h30m", Some(5400.0)),
            ("2h", Some(7200.0)),
            ("0", None),
            ("30", Some(30.0)),
            ("m", None),
            ("10x", None),
            ("5m3", None),
            ("", None),
        ] {
            assert_eq!(parse_duration(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn cost_and_eta_follow_the_shared_link() {
        // (chunks of 1 GB, link MB/s) → (eta s, container-s): 50 MB/s per container, 15 s start.
        let modal = |link_mb: f64| Sizing {
            rates: Some(Rates {
                link_bps: link_mb * 1e6,
                ..Rates::defaults(CostBackend::Modal)
            }),
            ..Sizing::default()
        };
        for (n, link, (eta, cs)) in [
            (1, 450.0, (35.0, 35.0)),
            (3, 450.0, (35.0, 105.0)),
            // Three chunks on a 60 MB/s link: 20 MB/s each.
            (3, 60.0, (65.0, 195.0)),
        ] {
            let chunks = vec![
                ChunkLoad {
                    bytes: 1_000_000_000,
                    files: 0
                };
                n
            ];
            let (e, c) = time_and_container_s(&chunks, &modal(link));
            assert!(
                (e - eta).abs() < 1e-9 && (c - cs).abs() < 1e-9,
                "{n} {link}: {e} {c}"
            );
            let est = estimate(&chunks, &modal(link));
            let per_s = 2.0 * PRICE_CPU_CORE_S + 4.0 * PRICE_MEM_GIB_S;
            assert!((est.cost_usd - cs * per_s).abs() < 1e-12);
        }
        let local = Sizing {
            backend: CostBackend::Local,
            concurrency: 1,
            ..Sizing::default()
        };
        let chunks = vec![
            ChunkLoad {
                bytes: 500_000_000,
                files: 0
            };
            2
        ];
        let est = estimate(&chunks, &local);
        assert_eq!(est.cost_usd, 0.0, "nothing to pay Modal");
        // One worker at a time: the two chunks run one after the other, after a local worker's
        // start-up, not a Modal container's.
        assert!(
            (est.eta_s - (DEFAULT_LOCAL_STARTUP_S + 20.0)).abs() < 1e-9,
            "{}",
            est.eta_s
        );
    }

    #[test]
    fn one_chunk_history_still_lets_the_choice_use_more_containers() {
        // Only one-chunk runs, at 40 MB/s: the link is assumed to carry 40 MB/s for the ETA, yet
        // the fastest choice must still try several containers, or the link is never measured.
        let w = Workload {
            bytes: 2_400_000_000,
            files: 8,
            largest: 300_000_000,
        };
        let one_chunk_runs = Rates {
            container_bps: 40e6,
            link_bps: 40e6,
            link_assumed: true,
            source: RateSource::Measured,
            runs: 1,
            ..Rates::defaults(CostBackend::Modal)
        };
        let sizing = |rates| Sizing {
            rates: Some(rates),
            ..Sizing::default()
        };
        let (n, why, _) = choose_chunks(w, 1, &sizing(one_chunk_runs));
        assert!(n > 1, "{n}: {why}");
        assert!(why.contains("not measured yet"), "{why}");
        // The ETA of those chunks is the conservative one: together no faster than 40 MB/s.
        let chunks: Vec<ChunkLoad> = (0..n)
            .map(|_| ChunkLoad {
                bytes: w.bytes / n as u64,
                files: 1,
            })
            .collect();
        let (eta, _) = time_and_container_s(&chunks, &sizing(one_chunk_runs));
        assert!(eta >= 60.0, "{eta}");
        // A link measured at 40 MB/s by a several-chunk run: more containers do not help.
        let measured = Rates {
            link_assumed: false,
            ..one_chunk_runs
        };
        let (n, why, _) = choose_chunks(w, 1, &sizing(measured));
        assert_eq!(n, 1, "{why}");
    }

    #[test]
    fn a_chunk_that_finishes_frees_its_share_of_the_link() {
        // 2.4 GB in chunks of 900, 900 and 600 MB on a 40 MB/s link (50 MB/s per container):
        // all three at 13.3 MB/s until the small one is done at 45 s, then two at 20 MB/s for
        // the last 300 MB each: 60 s, the link's total time, not 900 MB at a third of the link.
        let rates = Rates {
            link_bps: 40e6,
            startup_s: 3.0,
            ..Rates::defaults(CostBackend::Modal)
        };
        let mb = |v: u64| v * 1_000_000;
        let secs = shared_link_seconds(&[mb(900), mb(600), mb(900)], &rates);
        for (got, want) in secs.iter().zip([60.0, 45.0, 60.0]) {
            assert!((got - want).abs() < 1e-9, "{secs:?}");
        }
        let chunks: Vec<ChunkLoad> = [900, 900, 600]
            .into_iter()
            .map(|m| ChunkLoad {
                bytes: mb(m),
                files: 0,
            })
            .collect();
        let sizing = Sizing {
            rates: Some(rates),
            ..Sizing::default()
        };
        let (eta, container_s) = time_and_container_s(&chunks, &sizing);
        assert!((eta - 63.0).abs() < 1e-9, "{eta}");
        assert!((container_s - (9.0 + 165.0)).abs() < 1e-9, "{container_s}");
        // A container slower than its share keeps its own pace: 2 chunks of 100 MB at 10 MB/s
        // each on a 450 MB/s link.
        let slow = Rates {
            container_bps: 10e6,
            ..Rates::defaults(CostBackend::Modal)
        };
        assert_eq!(
            shared_link_seconds(&[mb(100), mb(100)], &slow),
            [10.0, 10.0]
        );
    }
}
