//! The final report of a migration, and the tracker that builds it from worker events.
//!
//! The JSON form (`"type": "report"`) is a stable interface documented in `docs/report.md`:
//! scripts and agents read these field names, so they change only with a documented version bump.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ExitStatus;
use crate::events::{self as ev, ChunkPos, Event, EventBody, FileStatus, JobResult, RunStatus};
use crate::printer::{human_bytes, human_duration, Printer, Tone};
use crate::totals::Totals;

/// What the orchestrator found when it re-listed the destination itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verification {
    /// True when every expected file is at the destination with the expected size and hash.
    pub ok: bool,
    pub matched: u64,
    pub mismatched: Vec<String>,
    pub missing: Vec<String>,
    /// Files at the destination that the source does not have (not a failure unless `--delete`).
    pub extra: Vec<String>,
    /// Why verification could not run, when it could not (then `ok` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The final report of one repository migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Always `"report"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ok` (all moved and verified), `failed`, or `partial` (some chunks failed).
    pub status: RunStatus,
    /// True only when the orchestrator's own re-listing of the destination matched the plan.
    pub verified: bool,
    /// Source as `platform:type:ns/name@revision`.
    pub source: String,
    /// Destination as `platform:type:ns/name@revision`.
    pub dest: String,
    pub dest_url: Option<String>,
    /// The jobs' totals added up, with the files the plan found at the destination as skipped.
    #[serde(flatten)]
    pub totals: Totals,
    pub duration_s: f64,
    /// Bytes moved per second of wall time.
    pub throughput_bps: f64,
    pub fallback_used: bool,
    /// `modal` or `local`.
    pub backend: String,
    pub chunks: u32,
    pub chunks_failed: u32,
    pub verification: Option<Verification>,
    /// Errors from failed chunks or the run itself (never secrets).
    pub errors: Vec<String>,
    /// Detached run id (present for runs started with `--detach`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Modal app ids this run used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_ids: Vec<String>,
    /// Seconds the workers ran, summed over the chunks that reported (each worker's own clock:
    /// Modal also bills each container's start, which no worker sees). Absent when no worker ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_s: Option<f64>,
    /// `container_s` at the prices and container size the plan's estimate used, US dollars; 0 for
    /// the local backend (no Modal charges). Absent when no worker ran or without an estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// What the plan estimated before the run (`eta_s`, `container_s`, `cost_usd`, the rates'
    /// `source`); absent when the run had no plan estimate (a record from an older hubferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::cost::ReportEstimate>,
    /// Each finished job's (label, first event, result) worker times, for the CI summary only.
    #[serde(skip)]
    pub job_spans: Vec<(String, f64, f64, bool)>,
}

/// Live state of one job, rebuilt from its events.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    pub chunk: Option<ChunkPos>,
    pub files_total: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub bytes_done: u64,
    pub rate_bps: f64,
    pub result: Option<JobResult>,
    pub verify_ok: Option<bool>,
    pub failed_files: Vec<String>,
    pub fallback: bool,
    /// Set when the process carrying the job ended without a `result` event.
    pub lost: Option<String>,
    /// Worker clock of the job's first event and of its `result` (the CI summary's gantt).
    pub first_ts: Option<f64>,
    pub result_ts: Option<f64>,
}

/// Aggregates events of every job of one repository.
#[derive(Debug, Default)]
pub struct Tracker {
    pub jobs: BTreeMap<String, JobState>,
}

impl Tracker {
    /// How messages name a job: by chunk, as the progress lines do, with the job id that the
    /// `--json` events carry (`chunk 2/5 (job r0c1)`); a one-job run is just `worker (job r0c0)`.
    pub fn label(&self, id: &str) -> String {
        let count = self.jobs.len();
        if count <= 1 {
            return format!("worker (job {id})");
        }
        let index = self
            .jobs
            .get(id)
            .and_then(|j| j.chunk)
            .map(|c| c.index)
            .or_else(|| id.rsplit_once('c').and_then(|(_, n)| n.parse().ok()));
        match index {
            Some(i) => format!("chunk {}/{count} (job {id})", i + 1),
            None => format!("job {id}"),
        }
    }

    /// A tracker that expects exactly these job ids (so a job that never reports counts as failed).
    pub fn expecting(job_ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            jobs: job_ids
                .into_iter()
                .map(|id| (id, JobState::default()))
                .collect(),
        }
    }

    /// Folds one event in; returns the job's state.
    pub fn apply(&mut self, event: &Event) -> &JobState {
        let job = self.jobs.entry(event.job.clone()).or_default();
        job.first_ts.get_or_insert(event.ts);
        match &event.body {
            EventBody::Start(ev::Start {
                chunk,
                files_total,
                bytes_total,
                ..
            }) => {
                job.chunk = Some(*chunk);
                job.files_total = *files_total;
                job.bytes_total = *bytes_total;
            }
            EventBody::Progress(ev::Progress {
                bytes_done,
                bytes_total,
                files_done,
                files_total,
                rate_bps,
            }) => {
                job.bytes_done = *bytes_done;
                job.bytes_total = *bytes_total;
                job.files_done = *files_done;
                job.files_total = *files_total;
                job.rate_bps = *rate_bps;
            }
            EventBody::File(ev::File {
                path,
                status,
                reason,
                ..
            }) => {
                if *status == FileStatus::Failed {
                    job.failed_files.push(match reason {
                        Some(reason) => format!("{path}: {reason}"),
                        None => path.clone(),
                    });
                }
            }
            EventBody::Fallback(ev::Fallback { .. }) => job.fallback = true,
            EventBody::Verify(ev::Verify { ok, .. }) => job.verify_ok = Some(*ok),
            EventBody::Result(result) => {
                job.bytes_done = job.bytes_done.max(result.totals.bytes_moved);
                job.result = Some(result.clone());
                job.result_ts = Some(event.ts);
            }
            EventBody::Retry(ev::Retry { .. })
            | EventBody::Warning(ev::Warning { .. })
            | EventBody::Commit(ev::Commit { .. }) => {}
        }
        job
    }

    /// Records that the process carrying `job` ended; without a result event the job failed.
    pub fn mark_ended(&mut self, job: &str, why: impl FnOnce() -> String) {
        let state = self.jobs.entry(job.to_owned()).or_default();
        if state.result.is_none() && state.lost.is_none() {
            state.lost = Some(why());
        }
    }

    /// True when every expected job has a result.
    pub fn all_done(&self) -> bool {
        self.jobs.values().all(|j| j.result.is_some())
    }

    /// The workers' own seconds (their `result` events' `duration_s`) over the jobs that reported.
    pub fn worker_seconds(&self) -> WorkerSeconds {
        self.jobs.values().filter_map(|j| j.result.as_ref()).fold(
            WorkerSeconds::default(),
            |acc, r| WorkerSeconds {
                reported: acc.reported + 1,
                sum: acc.sum + r.duration_s,
                slowest: acc.slowest.max(r.duration_s),
            },
        )
    }

    /// Sum of bytes done and bytes total over all jobs.
    pub fn bytes(&self) -> (u64, u64) {
        self.jobs.values().fold((0, 0), |(done, total), j| {
            (done + j.bytes_done, total + j.bytes_total)
        })
    }

    /// Builds the report. `verification` is the orchestrator's own check (None when it could not
    /// list the destination); without it a run is never `verified`.
    pub fn report(&self, ctx: ReportContext, verification: Option<Verification>) -> Report {
        let mut r = Report {
            kind: "report".into(),
            status: RunStatus::Ok,
            verified: false,
            source: ctx.source,
            dest: ctx.dest,
            dest_url: ctx.dest_url,
            totals: Totals::skipped(ctx.skipped_by_plan.0, ctx.skipped_by_plan.1),
            duration_s: ctx.duration_s,
            throughput_bps: 0.0,
            fallback_used: false,
            backend: ctx.backend,
            chunks: self.jobs.len() as u32,
            chunks_failed: 0,
            verification: None,
            errors: ctx.errors,
            run_id: ctx.run_id,
            app_ids: ctx.app_ids,
            container_s: None,
            cost_usd: None,
            estimate: ctx.estimate.as_ref().map(crate::cost::ReportEstimate::of),
            job_spans: crate::summary::job_spans(self),
        };
        let worker_s = self.worker_seconds();
        if worker_s.reported > 0 {
            r.container_s = Some(worker_s.sum);
            r.cost_usd = ctx.estimate.as_ref().map(|e| e.cost_of(worker_s.sum));
        }
        let mut ok_jobs = 0;
        for (id, job) in &self.jobs {
            r.fallback_used |= job.fallback;
            match &job.result {
                Some(res) => {
                    r.totals += res.totals;
                    r.fallback_used |= res.fallback_used;
                    if r.dest_url.is_none() {
                        r.dest_url.clone_from(&res.dest_url);
                    }
                    if res.status == RunStatus::Ok {
                        ok_jobs += 1;
                    } else {
                        r.chunks_failed += 1;
                        let why = res.error.as_deref().unwrap_or("no error given");
                        r.errors.push(format!(
                            "{}: {}: {why}",
                            self.label(id),
                            res.status.as_str()
                        ));
                    }
                }
                None => {
                    r.chunks_failed += 1;
                    let why = job.lost.as_deref().unwrap_or("the worker sent no result");
                    r.errors.push(format!("{}: {why}", self.label(id)));
                }
            }
        }
        if r.duration_s > 0.0 {
            r.throughput_bps = r.totals.bytes_moved as f64 / r.duration_s;
        }
        // No jobs at all means nothing had to move (an up-to-date destination).
        let workers_ok = ok_jobs == self.jobs.len();
        r.status = if workers_ok {
            RunStatus::Ok
        } else if ok_jobs > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Failed
        };
        match &verification {
            Some(v) if v.ok => r.verified = workers_ok,
            // The worker refused before uploading: the files are missing on purpose.
            Some(_) if r.refused_public_dest() => {}
            Some(v) => {
                if workers_ok {
                    // The workers said ok but the destination disagrees: that is a failure.
                    r.status = RunStatus::Failed;
                }
                r.errors.push(match &v.error {
                    Some(e) => format!("verification could not run: {e}"),
                    None => format!(
                        "verification: {} missing, {} mismatched, {} extra at the destination",
                        v.missing.len(),
                        v.mismatched.len(),
                        v.extra.len()
                    ),
                });
            }
            None => {}
        }
        r.verification = verification;
        if ctx.interrupted && r.status == RunStatus::Ok && !r.verified {
            r.status = RunStatus::Failed;
        }
        r
    }
}

/// [`Tracker::worker_seconds`]: how many jobs reported, their seconds in all and the slowest's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WorkerSeconds {
    pub reported: u32,
    pub sum: f64,
    pub slowest: f64,
}

/// The worker's error code for refusing a public destination of a private or gated source.
pub const DEST_EXISTS_PUBLIC: &str = "[dest-exists-public]";

/// What the tracker cannot know from events alone.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    pub source: String,
    pub dest: String,
    pub dest_url: Option<String>,
    pub duration_s: f64,
    pub backend: String,
    pub run_id: Option<String>,
    pub app_ids: Vec<String>,
    pub errors: Vec<String>,
    pub interrupted: bool,
    /// Files and bytes the plan found at the destination, which no worker reports.
    pub skipped_by_plan: (u64, u64),
    /// The plan's estimate: shown next to the actual container-seconds, and its prices give the
    /// actual cost.
    pub estimate: Option<crate::cost::Estimate>,
}

impl Report {
    /// The exit status this report asks for: success when ok and verified, partial, else failure;
    /// a refused public destination is bad input, as preflight answers when it sees it up front.
    pub fn exit_status(&self) -> ExitStatus {
        if self.refused_public_dest() {
            return ExitStatus::BadInput;
        }
        match (self.status, self.verified) {
            (RunStatus::Ok, true) => ExitStatus::Success,
            (RunStatus::Partial, _) => ExitStatus::Partial,
            _ => ExitStatus::Failure,
        }
    }

    /// [`Report::exit_status`]'s code.
    pub fn exit_code(&self) -> u8 {
        self.exit_status().code()
    }

    /// A worker refused to upload a private or gated source's files into a destination that is
    /// public (created so after preflight looked: the race preflight cannot see).
    pub fn refused_public_dest(&self) -> bool {
        self.errors.iter().any(|e| e.contains(DEST_EXISTS_PUBLIC))
    }

    /// Prints the report: JSON object in `--json` mode, a short block otherwise.
    pub fn print(&self, printer: &Printer) {
        if printer.json_mode() {
            printer.json(&serde_json::to_value(self).unwrap_or_default());
            return;
        }
        printer.out(&self.human_lines(printer).join("\n"));
    }

    fn human_lines(&self, printer: &Printer) -> Vec<String> {
        let (word, tone) = match (self.status, self.verified) {
            (RunStatus::Ok, true) => ("done, verified", Tone::Good),
            (RunStatus::Ok, false) => ("done, NOT verified", Tone::Bad),
            (RunStatus::Partial, _) => ("partial", Tone::Warn),
            (RunStatus::Failed, _) if self.refused_public_dest() => (
                "refused (the destination is public; nothing was uploaded)",
                Tone::Bad,
            ),
            (RunStatus::Failed, _) => ("failed", Tone::Bad),
        };
        let mut lines = vec![format!(
            "{} {} → {}",
            printer.paint(word, tone),
            self.source,
            self.dest
        )];
        if let Some(url) = &self.dest_url {
            lines.push(format!("  url:       {url}"));
        }
        lines.push(format!(
            "  moved:     {} files, {}",
            self.totals.files_moved,
            human_bytes(self.totals.bytes_moved)
        ));
        lines.push(format!(
            "  skipped:   {} files, {} (already at the destination)",
            self.totals.files_skipped,
            human_bytes(self.totals.bytes_skipped)
        ));
        if self.totals.files_failed > 0 {
            lines.push(format!("  failed:    {} files", self.totals.files_failed));
        }
        if self.totals.files_deleted > 0 {
            lines.push(format!("  deleted:   {} files", self.totals.files_deleted));
        }
        lines.push(format!(
            "  time:      {} ({}/s, {} backend{})",
            human_duration(self.duration_s),
            human_bytes(self.throughput_bps as u64),
            self.backend,
            if self.chunks > 1 {
                format!(", {} chunks", self.chunks)
            } else {
                String::new()
            }
        ));
        if let Some(line) = self.cost_line() {
            lines.push(line);
        }
        if self.fallback_used {
            lines.push("  method:    fell back to git for some files".into());
        }
        match &self.verification {
            Some(_) if self.refused_public_dest() => {
                lines.push("  verified:  not applicable (nothing was uploaded)".into())
            }
            Some(v) if v.ok => lines.push(format!(
                "  verified:  {} files match the source (re-listed by hubferry)",
                v.matched
            )),
            Some(v) => {
                lines.push(format!(
                    "  verified:  NO ({} matched, {} missing, {} mismatched, {} extra)",
                    v.matched,
                    v.missing.len(),
                    v.mismatched.len(),
                    v.extra.len()
                ));
                push_paths(&mut lines, "missing:   ", &v.missing);
                push_paths(&mut lines, "mismatched:", &v.mismatched);
                // Extra files fail only with --delete; when they are all that is wrong, name them.
                if v.missing.is_empty() && v.mismatched.is_empty() {
                    push_paths(&mut lines, "extra:     ", &v.extra);
                }
            }
            None => lines.push("  verified:  not checked".into()),
        }
        for err in &self.errors {
            // A worker's message may carry its own `hint:` line: keep it inside the block.
            lines.push(format!(
                "  error:     {}",
                err.replace('\n', "\n             ")
            ));
        }
        if let Some(id) = &self.run_id {
            lines.push(format!("  run:       {id}"));
        }
        lines
    }
}

impl Report {
    /// `cost: …` with the actual container-seconds and cost next to the plan's estimate; None when
    /// no worker ran.
    fn cost_line(&self) -> Option<String> {
        use crate::cost::human_usd;
        let actual = self.container_s?;
        let estimate = self.estimate.as_ref();
        if self.backend == "local" {
            return Some(format!(
                "  cost:      not applicable (local backend, no Modal charges); workers ran {}{}",
                human_duration(actual),
                estimate
                    .map(|e| format!(
                        " (estimated {}, eta {})",
                        human_duration(e.container_s),
                        human_duration(e.eta_s)
                    ))
                    .unwrap_or_default()
            ));
        }
        let cost = self
            .cost_usd
            .map(|c| format!(", {}", human_usd(c)))
            .unwrap_or_default();
        let planned = estimate
            .map(|e| {
                format!(
                    " (estimated {:.1} container-s, {}, eta {})",
                    e.container_s,
                    human_usd(e.cost_usd),
                    human_duration(e.eta_s)
                )
            })
            .unwrap_or_default();
        Some(format!(
            "  cost:      {actual:.1} container-s{cost}{planned}"
        ))
    }
}

/// Up to five `paths` under `label`, then how many were left out (a shortened list must not read
/// as the whole one).
fn push_paths(lines: &mut Vec<String>, label: &str, paths: &[String]) {
    const SHOWN: usize = 5;
    for path in paths.iter().take(SHOWN) {
        lines.push(format!("    {label} {path}"));
    }
    if paths.len() > SHOWN {
        lines.push(format!("    {label} … and {} more", paths.len() - SHOWN));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{parse_line, Line};

    fn events(text: &str) -> Vec<Event> {
        text.lines()
            .filter_map(|l| match parse_line(l) {
                Line::Event(e) => Some(*e),
                _ => None,
            })
            .collect()
    }

    fn result_line(job: &str, status: &str, moved: u64) -> String {
        format!(
            r#"{{"hubferry":1,"type":"result","job":"{job}","ts":1.0,"status":"{status}","files_moved":1,"bytes_moved":{moved},"files_skipped":0,"bytes_skipped":0,"files_failed":0,"files_deleted":0,"duration_s":1.0,"dest_url":"u","verified":true,"fallback_used":false,"error":null}}"#
        )
    }

    fn ok_verification() -> Option<Verification> {
        Some(Verification {
            ok: true,
            matched: 2,
            ..Default::default()
        })
    }

    #[test]
    fn all_chunks_ok_and_verified_is_ok() {
        let mut t = Tracker::expecting(["a".to_string(), "b".to_string()]);
        for e in events(&format!(
            "{}\n{}",
            result_line("a", "ok", 5),
            result_line("b", "ok", 7)
        )) {
            t.apply(&e);
        }
        let r = t.report(ReportContext::default(), ok_verification());
        assert_eq!(
            (r.status, r.verified, r.totals.bytes_moved),
            (RunStatus::Ok, true, 12)
        );
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn a_silent_chunk_makes_the_run_partial() {
        let mut t = Tracker::expecting(["a".to_string(), "b".to_string()]);
        for e in events(&result_line("a", "ok", 5)) {
            t.apply(&e);
        }
        t.mark_ended("b", || "worker exited with code 1".into());
        let r = t.report(ReportContext::default(), ok_verification());
        assert_eq!(r.status, RunStatus::Partial);
        assert!(!r.verified);
        assert_eq!(r.exit_code(), 4);
        assert!(r.errors[0].contains("exited with code 1"));
    }

    #[test]
    fn messages_name_jobs_by_chunk_like_the_progress_lines() {
        let t = Tracker::expecting(["r0c0".to_string(), "r0c1".to_string()]);
        assert_eq!(t.label("r0c1"), "chunk 2/2 (job r0c1)");
        let one = Tracker::expecting(["r0c0".to_string()]);
        assert_eq!(one.label("r0c0"), "worker (job r0c0)");
    }

    #[test]
    fn the_orchestrators_verification_overrules_the_worker() {
        let mut t = Tracker::expecting(["a".to_string()]);
        for e in events(&result_line("a", "ok", 5)) {
            t.apply(&e);
        }
        let bad = Verification {
            missing: vec!["x.bin".into()],
            ..Default::default()
        };
        let r = t.report(ReportContext::default(), Some(bad));
        assert_eq!(
            (r.status, r.verified, r.exit_code()),
            (RunStatus::Failed, false, 1)
        );
    }

    #[test]
    fn a_shortened_path_list_says_how_many_it_left_out() {
        let bad = Verification {
            missing: (0..7).map(|i| format!("f{i}")).collect(),
            extra: vec!["stray".into()],
            ..Default::default()
        };
        let r = Tracker::default().report(ReportContext::default(), Some(bad));
        let printer = Printer::new(crate::printer::OutputMode::Human, false, false, true);
        let lines = r.human_lines(&printer);
        assert!(lines.contains(
            &"  verified:  NO (0 matched, 7 missing, 0 mismatched, 1 extra)".to_string()
        ));
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("    missing:"))
                .count(),
            6
        );
        assert!(lines.contains(&"    missing:    … and 2 more".to_string()));
        // The missing files are the failure here; the stray file is only counted.
        assert!(!lines.iter().any(|l| l.contains("stray")));

        let only_extra = Verification {
            extra: vec!["stray".into()],
            ..Default::default()
        };
        let r = Tracker::default().report(ReportContext::default(), Some(only_extra));
        assert!(r
            .human_lines(&printer)
            .contains(&"    extra:      stray".to_string()));
    }

    #[test]
    fn nothing_to_move_and_verified_is_ok() {
        let r = Tracker::default().report(ReportContext::default(), ok_verification());
        assert_eq!(
            (r.status, r.verified, r.exit_code()),
            (RunStatus::Ok, true, 0)
        );
    }

    #[test]
    fn json_names_are_the_documented_ones() {
        let t = Tracker::expecting(["a".to_string()]);
        let v = serde_json::to_value(t.report(ReportContext::default(), None)).unwrap();
        for key in [
            "type",
            "status",
            "verified",
            "files_moved",
            "bytes_moved",
            "files_skipped",
            "bytes_skipped",
            "duration_s",
            "dest_url",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["type"], "report");
    }
}
