//! The plan as the user sees it before a run: the whole plan for `--dry-run`, else two lines.

use crate::cost::{human_usd, CostBackend, Estimate, RateSource};
use crate::manifest::{FileEntry, PLATFORM_FILES};
use crate::plan::Plan;
use crate::printer::{human_bytes, human_duration, Printer, Tone};

/// `skip N (BYTES)` for the files the destination already holds, then the platform files (which the
/// plan counts as skipped but never move: each hub writes its own) by name, so a new destination
/// does not read as if something were already there.
fn skip_summary<'a>(skipped: impl Iterator<Item = &'a FileEntry>) -> String {
    let (platform, same): (Vec<&FileEntry>, Vec<&FileEntry>) =
        skipped.partition(|f| PLATFORM_FILES.contains(&f.path.as_str()));
    let mut out = format!(
        "skip {} ({})",
        same.len(),
        human_bytes(same.iter().map(|f| f.size).sum())
    );
    if !platform.is_empty() {
        let names: Vec<&str> = platform.iter().map(|f| f.path.as_str()).collect();
        out.push_str(&format!(
            ", platform files {} ({})",
            platform.len(),
            names.join(", ")
        ));
    }
    out
}

/// The card's front-matter diff (cards.rs), indented under the plan.
pub fn card_lines(plan: &Plan) -> Vec<String> {
    let Some(card) = &plan.card else {
        return Vec::new();
    };
    let state = if card.at_dest {
        "already at the destination"
    } else {
        "the source stays as it is"
    };
    let mut lines = vec![format!(
        "  card {} for {} ({state}):",
        card.path,
        plan.dest.platform.display_name()
    )];
    lines.extend(card.diff_lines().into_iter().map(|l| format!("    {l}")));
    lines
}

/// The downloads and uploads each container runs at once, as the plan chose them.
fn streams_line(plan: &Plan) -> String {
    let s = plan.streams();
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    format!(
        "  streams per container: {} download{}, {} upload{}",
        s.downloads,
        plural(s.downloads),
        s.uploads,
        plural(s.uploads)
    )
}

/// `estimate: …`: the container-seconds and their cost (or why there is none), and where the
/// rates came from.
fn estimate_line(e: &Estimate) -> String {
    let rates = match e.rates.source {
        RateSource::Measured => format!(
            "rates measured on {} earlier run{}",
            e.rates.runs,
            if e.rates.runs == 1 { "" } else { "s" }
        ),
        RateSource::Default => "default rates (no earlier run in this direction)".to_string(),
    };
    match e.backend {
        CostBackend::Modal => format!(
            "  estimate: {:.1} container-s ≈ {} at {} ({} cores, {:.1} GiB each); {rates}",
            e.container_s,
            human_usd(e.cost_usd),
            if e.prices.overridden {
                "the prices set in HUBFERRY_PRICE_*"
            } else {
                "Modal's published prices"
            },
            e.container.cpu,
            e.container.memory_gib
        ),
        CostBackend::Local => {
            format!("  estimate: cost not applicable (local backend, no Modal charges); {rates}")
        }
    }
}

/// `rates: …`: the model's parameters (dry runs only).
fn rates_line(e: &Estimate) -> String {
    format!(
        "  rates:    {}/s per container, {}/s shared by all chunks, {} start, {:.2}s per file",
        human_bytes(e.rates.container_bps as u64),
        human_bytes(e.rates.link_bps as u64),
        human_duration(e.rates.startup_s),
        e.rates.per_file_s
    )
}

/// Prints the plan: the full plan for `--dry-run` (JSON object or text on stdout), otherwise a
/// short summary on stderr before the run starts.
pub fn print_plan(p: &Printer, plan: &Plan, dry_run: bool) {
    if dry_run && p.json_mode() {
        p.json(&serde_json::to_value(plan).unwrap_or_default());
        return;
    }
    let t = &plan.transfer;
    let dest_state = if plan.dest_exists { "exists" } else { "new" };
    let head = format!(
        "{} {} → {} ({dest_state}, {})",
        p.paint("plan", Tone::Bold),
        plan.source.describe(),
        plan.dest.describe(),
        plan.dest_visibility.as_str()
    );
    let body = format!(
        "  move {} file{} ({}), {}, delete {}; {} chunk{}; eta {}",
        t.to_move.len(),
        if t.to_move.len() == 1 { "" } else { "s" },
        human_bytes(t.bytes_to_move),
        skip_summary(plan.files_to_skip()),
        t.to_delete.len(),
        t.chunks.len(),
        if t.chunks.len() == 1 { "" } else { "s" },
        human_duration(t.eta_s)
    );
    let mut summary = vec![head, body];
    if !t.chunks.is_empty() {
        summary.push(estimate_line(&t.estimate));
    }
    if let Some(why) = &t.estimate.chunk_choice {
        summary.push(format!("  chunks:   {why}"));
    }
    if dry_run {
        let mut lines = summary;
        if !t.to_move.is_empty() {
            lines.push(streams_line(plan));
        }
        if !t.chunks.is_empty() {
            lines.push(rates_line(&t.estimate));
        }
        for chunk in &t.chunks {
            lines.push(format!(
                "  chunk {:>3}: {} file{}, {}",
                chunk.index + 1,
                chunk.file_count,
                if chunk.file_count == 1 { "" } else { "s" },
                human_bytes(chunk.bytes)
            ));
        }
        for f in plan.files_to_move().take(20) {
            lines.push(format!("  + {} ({})", f.path, human_bytes(f.size)));
        }
        if t.to_move.len() > 20 {
            lines.push(format!("  + … {} more", t.to_move.len() - 20));
        }
        for f in plan.files_to_delete() {
            lines.push(format!("  - {}", f.path));
        }
        lines.extend(card_lines(plan));
        lines.push(format!("  url: {}", plan.dest_url));
        lines.push("dry run: nothing was moved".into());
        p.out(&lines.join("\n"));
    } else {
        for line in summary.iter().chain(&card_lines(plan)) {
            p.status(line);
        }
    }
    for w in &plan.warnings {
        p.warn(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FileEntry;

    fn file(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: None,
            git_oid: None,
            lfs: false,
        }
    }

    #[test]
    fn platform_files_are_named_apart_from_skipped_files() {
        let new_dest = [file(".gitattributes", 1500)];
        assert_eq!(
            skip_summary(new_dest.iter()),
            "skip 0 (0 B), platform files 1 (.gitattributes)"
        );
        let existing = [file(".gitattributes", 1500), file("a.bin", 2000)];
        assert_eq!(
            skip_summary(existing.iter()),
            "skip 1 (2.0 kB), platform files 1 (.gitattributes)"
        );
        assert_eq!(skip_summary([file("a.bin", 7)].iter()), "skip 1 (7 B)");
    }
}
