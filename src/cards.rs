//! Model and dataset cards that read right on the other hub: the one mapping of a `README.md`'s
//! front matter between Hugging Face and ModelScope, and the plan step that applies it.
//!
//! Where the hubs differ (the pinned SDKs and docs/preflight.md, "Cards"):
//! - **License.** The Hub validates `license:` against its list of ids and wants `other` plus
//!   `license_name` for anything else; ModelScope takes free-form names (`Apache License 2.0`,
//!   `modelscope.hub.constants.Licenses`) and reads HF ids as they are. So MS → HF maps known
//!   spellings to HF ids (the rule the worker's `license.py` has applied since MS → HF first
//!   worked), and HF → MS leaves the id alone.
//! - **Task.** HF names one `pipeline_tag`; ModelScope lists `tasks:` (its `Tasks` constants,
//!   `modelscope/utils/constant.py`). Each side gets the other's value under its own key when it
//!   lacks one, through [`TASKS`]; the original key stays (each hub ignores the other's).
//! - **`configuration.json`.** ModelScope pipelines read `task` and `framework` from it. hubferry
//!   copies it like any file. ModelScope → HF: a card naming neither `pipeline_tag` nor `tasks`
//!   gets the `pipeline_tag` of its `task` (what the Hub's widget and filters read). HF →
//!   ModelScope: none is invented (a guessed `framework` would mislead `pipeline()`); the card's
//!   `tasks:` is what the ModelScope site shows.
//!
//! The source is never changed: the mapped text travels in the job (`options.card`,
//! docs/job-file.md) and the worker writes it as the destination's `README.md`.

use serde::{Deserialize, Serialize};

use crate::manifest::{FileEntry, Manifest};
use crate::repo_ref::{Platform, RepoRef};

/// The card's path in a repository.
pub const CARD_PATH: &str = "README.md";
/// Larger READMEs are moved as they are (a card is a few kB; this bounds the preflight fetch).
const MAX_CARD_BYTES: u64 = 1_000_000;

/// HF `pipeline_tag` ↔ ModelScope task, where the names differ or both hubs know the same name.
pub const TASKS: &[(&str, &str)] = &[
    ("text-generation", "text-generation"),
    ("text2text-generation", "text2text-generation"),
    ("text-classification", "text-classification"),
    ("token-classification", "token-classification"),
    ("fill-mask", "fill-mask"),
    ("question-answering", "question-answering"),
    ("table-question-answering", "table-question-answering"),
    ("summarization", "text-summarization"),
    ("translation", "translation"),
    ("feature-extraction", "feature-extraction"),
    ("sentence-similarity", "sentence-similarity"),
    ("zero-shot-classification", "zero-shot-classification"),
    ("automatic-speech-recognition", "auto-speech-recognition"),
    ("text-to-speech", "text-to-speech"),
    ("text-to-image", "text-to-image-synthesis"),
    ("text-to-video", "text-to-video-synthesis"),
    ("image-to-video", "image-to-video"),
    ("image-classification", "image-classification"),
    ("object-detection", "image-object-detection"),
    ("image-segmentation", "image-segmentation"),
    ("depth-estimation", "image-depth-estimation"),
    ("image-to-text", "image-captioning"),
    ("visual-question-answering", "visual-question-answering"),
];

/// The Hub's license ids (its `license:` validation list).
const HF_LICENSES: &str = "apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m \
    bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause \
    bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 \
    cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 \
    cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 \
    cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 \
    eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research \
    intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openrail++ osl-3.0 \
    postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license \
    fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma \
    unknown other";

/// Spellings seen on ModelScope for HF license ids.
const LICENSE_ALIASES: &[(&str, &str)] = &[
    ("apache", "apache-2.0"),
    ("apache-2", "apache-2.0"),
    ("apache-v2", "apache-2.0"),
    ("apache-v2.0", "apache-2.0"),
    ("gplv2", "gpl-2.0"),
    ("gplv3", "gpl-3.0"),
    ("gpl-v3", "gpl-3.0"),
    ("lgplv3", "lgpl-3.0"),
    ("agplv3", "agpl-3.0"),
    ("bsd-3", "bsd-3-clause"),
    ("bsd-2", "bsd-2-clause"),
    ("cc0", "cc0-1.0"),
    ("mpl", "mpl-2.0"),
];

/// One front-matter field the mapping changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardChange {
    pub field: String,
    /// The value before (null: the field was added).
    pub before: Option<String>,
    pub after: String,
}

/// A README mapped for the destination hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedCard {
    pub text: String,
    pub changes: Vec<CardChange>,
}

/// The card the plan writes at the destination instead of the source's README bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardPlan {
    pub path: String,
    /// The README as the destination receives it.
    #[serde(skip)]
    pub text: String,
    /// The mapped file as the destination will list it.
    #[serde(skip)]
    pub entry: FileEntry,
    pub changes: Vec<CardChange>,
    /// The destination already holds exactly this card.
    pub at_dest: bool,
}

impl CardPlan {
    /// `-`/`+` lines, one per changed field, for a human plan.
    pub fn diff_lines(&self) -> Vec<String> {
        diff_lines(&self.changes)
    }
}

/// `- field: before` / `+ field: after` per change.
pub fn diff_lines(changes: &[CardChange]) -> Vec<String> {
    let mut out = Vec::new();
    for c in changes {
        if let Some(b) = &c.before {
            out.push(format!("- {}: {b}", c.field));
        }
        out.push(format!("+ {}: {}", c.field, c.after));
    }
    out
}

/// The front matter's body (between the `---` lines) as a byte range of `text`.
fn front_matter(text: &str) -> Option<(usize, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .map(|r| (4, r))
        .or_else(|| text.strip_prefix("---\r\n").map(|r| (5, r)))?;
    let (start, body) = rest;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((start, start + offset));
        }
        offset += line.len();
    }
    None
}

/// The lines of the top-level `key:` block (its own line plus indented or `- ` lines after it).
fn key_block<'a>(body: &'a str, key: &str) -> Option<(usize, usize, &'a str)> {
    let mut offset = 0;
    let mut found: Option<(usize, &str)> = None;
    for line in body.split_inclusive('\n') {
        if let Some((start, value)) = found {
            let continues =
                line.starts_with(' ') || line.starts_with('\t') || line.starts_with('-');
            if !continues {
                return Some((start, offset, value));
            }
        } else if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            found = Some((offset, rest.trim()));
        }
        offset += line.len();
    }
    found.map(|(start, value)| (start, body.len(), value))
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// A scalar value, or the first item of an inline (`[a, b]`) or block (`- a`) list.
fn first_value(body: &str, key: &str) -> Option<String> {
    let (start, end, value) = key_block(body, key)?;
    if let Some(inner) = value.strip_prefix('[') {
        let first = inner.trim_end_matches(']').split(',').next().unwrap_or("");
        return Some(unquote(first)).filter(|v| !v.is_empty());
    }
    if !value.is_empty() {
        return Some(unquote(value));
    }
    body[start..end]
        .lines()
        .skip(1)
        .find_map(|l| l.trim().strip_prefix('-').map(unquote))
        .filter(|v| !v.is_empty())
}

/// The HF id a ModelScope license name stands for (or a slug of it when the Hub has none).
pub fn hf_license(name: &str) -> String {
    static WORDS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let words = WORDS.get_or_init(|| regex::Regex::new(r"\b(licen[cs]e|version|the)\b").unwrap());
    let lower = unquote(name).to_lowercase();
    let spaced = words.replace_all(&lower, " ");
    let slug: String = spaced
        .split(|c: char| c.is_whitespace() || matches!(c, '_' | '/' | ',' | '-'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let known = |s: &str| HF_LICENSES.split_whitespace().any(|l| l == s);
    if known(&slug) {
        return slug;
    }
    if let Some((_, id)) = LICENSE_ALIASES.iter().find(|(a, _)| *a == slug) {
        return (*id).to_string();
    }
    let dotted = format!("{slug}.0");
    let ends_in_digit = slug
        .rsplit_once('-')
        .is_some_and(|(_, last)| last.len() == 1 && last.chars().all(|c| c.is_ascii_digit()));
    if ends_in_digit && known(&dotted) {
        return dotted;
    }
    slug
}

/// Adds a line at the end of a front-matter body.
fn append(body: &mut String, line: String) {
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&line);
    body.push('\n');
}

/// Maps a README for `to` (coming from `from`); `None` when nothing differs.
pub fn map_card(text: &str, from: Platform, to: Platform) -> Option<MappedCard> {
    map_card_with(text, from, to, None)
}

/// ModelScope's `configuration.json` keys the card mapping reads (modelscope 1.40.2,
/// `utils/constant.py` `ConfigFields`: `framework`, `task`; `pipeline()` reads the task there).
pub const CONFIGURATION_PATH: &str = "configuration.json";
/// A larger `configuration.json` is not read for the card (a real one is well under 10 kB).
const MAX_CONFIGURATION_BYTES: u64 = 100_000;

/// The `task` of a ModelScope `configuration.json`, if it names one.
pub fn configuration_task(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("task")
        .and_then(|t| t.as_str())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// [`map_card`], with the task of the source's `configuration.json` (ModelScope → HF): a card
/// whose front matter names neither `pipeline_tag` nor `tasks` gets the `pipeline_tag` of that
/// task.
pub fn map_card_with(
    text: &str,
    from: Platform,
    to: Platform,
    configuration_task: Option<&str>,
) -> Option<MappedCard> {
    if from == to {
        return None;
    }
    let (start, end) = front_matter(text)?;
    let mut body = text[start..end].to_string();
    let mut changes = Vec::new();
    match to {
        Platform::Hf => {
            if let Some((ls, le, value)) = key_block(&body, "license") {
                let original = unquote(value);
                let mapped = hf_license(&original);
                if !original.is_empty() && mapped != original {
                    let known = HF_LICENSES.split_whitespace().any(|l| l == mapped);
                    let mut lines = if known {
                        format!("license: {mapped}\n")
                    } else {
                        "license: other\n".to_string()
                    };
                    if !known && key_block(&body, "license_name").is_none() {
                        let name: String = mapped
                            .chars()
                            .map(|c| {
                                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                                    c
                                } else {
                                    '-'
                                }
                            })
                            .collect();
                        let name = name.trim_matches('-');
                        let name = if name.is_empty() { "custom" } else { name };
                        lines.push_str(&format!("license_name: {name}\n"));
                        changes.push(CardChange {
                            field: "license_name".into(),
                            before: None,
                            after: name.into(),
                        });
                    }
                    changes.insert(
                        0,
                        CardChange {
                            field: "license".into(),
                            before: Some(original),
                            after: if known { mapped } else { "other".into() },
                        },
                    );
                    body.replace_range(ls..le, &lines);
                }
            }
            if key_block(&body, "pipeline_tag").is_none() {
                let task =
                    first_value(&body, "tasks").or_else(|| configuration_task.map(str::to_string));
                if let Some(tag) = task.and_then(|t| TASKS.iter().find(|(_, ms)| *ms == t)) {
                    append(&mut body, format!("pipeline_tag: {}", tag.0));
                    changes.push(CardChange {
                        field: "pipeline_tag".into(),
                        before: None,
                        after: tag.0.into(),
                    });
                }
            }
        }
        Platform::Ms => {
            if key_block(&body, "tasks").is_none() {
                if let Some(tag) = first_value(&body, "pipeline_tag") {
                    let task = TASKS
                        .iter()
                        .find(|(hf, _)| *hf == tag)
                        .map_or(tag.as_str(), |(_, ms)| ms);
                    append(&mut body, format!("tasks:\n- {task}"));
                    changes.push(CardChange {
                        field: "tasks".into(),
                        before: None,
                        after: format!("[{task}]"),
                    });
                }
            }
        }
    }
    if changes.is_empty() {
        return None;
    }
    Some(MappedCard {
        text: format!("{}{body}{}", &text[..start], &text[end..]),
        changes,
    })
}

/// True when `dest` is `source`'s README as [`map_card`] writes it for the other hub (a copy
/// `migrate` made: `verify` reports it as rewritten, not mismatched).
pub fn is_mapped_card(source: &[u8], dest: &[u8], from: Platform, to: Platform) -> bool {
    let Ok(text) = std::str::from_utf8(source) else {
        return false;
    };
    if map_card(text, from, to).is_some_and(|m| m.text.as_bytes() == dest) {
        return true;
    }
    // A `pipeline_tag` taken from the source's configuration.json (checked as a file of its own):
    // the card is the mapping with the task that tag stands for.
    let task = std::str::from_utf8(dest)
        .ok()
        .and_then(|d| front_matter(d).map(|(s, e)| d[s..e].to_string()))
        .and_then(|body| first_value(&body, "pipeline_tag"))
        .and_then(|tag| TASKS.iter().find(|(hf, _)| *hf == tag).map(|(_, ms)| *ms));
    to == Platform::Hf
        && task.is_some_and(|t| {
            map_card_with(text, from, to, Some(t)).is_some_and(|m| m.text.as_bytes() == dest)
        })
}

/// The source's card mapped for `dest`, when the source has a `README.md` whose front matter
/// reads differently there. Reads the README from the source (one small download); `Err` is a
/// warning: a README that cannot be read moves as it is.
pub async fn plan_card(
    hubs: &crate::hub::Hubs,
    source: &RepoRef,
    source_revision: &str,
    dest: &RepoRef,
    source_manifest: &Manifest,
    dest_manifest: &Manifest,
) -> Result<Option<CardPlan>, String> {
    let Some(entry) = source_manifest.get(CARD_PATH) else {
        return Ok(None);
    };
    if entry.size > MAX_CARD_BYTES || source.platform == dest.platform {
        return Ok(None);
    }
    let bytes = hubs
        .fetch_file(
            source.platform,
            source.repo_type_or_model(),
            &source.id,
            source_revision,
            CARD_PATH,
        )
        .await
        .map_err(|e| {
            format!(
                "{source}: could not read {CARD_PATH} to map its front matter for {} ({e}); it moves as it is",
                dest.platform.display_name()
            )
        })?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(None);
    };
    let task = match source_manifest.get(CONFIGURATION_PATH) {
        Some(c) if dest.platform == Platform::Hf && c.size <= MAX_CONFIGURATION_BYTES => hubs
            .fetch_file(
                source.platform,
                source.repo_type_or_model(),
                &source.id,
                source_revision,
                CONFIGURATION_PATH,
            )
            .await
            .ok()
            .and_then(|bytes| configuration_task(&bytes)),
        _ => None,
    };
    let Some(mapped) = map_card_with(&text, source.platform, dest.platform, task.as_deref()) else {
        return Ok(None);
    };
    let (sha256, git_oid) = crate::verify::pair::content_ids(mapped.text.as_bytes());
    let entry = FileEntry {
        path: CARD_PATH.into(),
        size: mapped.text.len() as u64,
        sha256: Some(sha256),
        git_oid: Some(git_oid),
        lfs: false,
    };
    let at_dest = dest_manifest
        .get(CARD_PATH)
        .is_some_and(|d| crate::manifest::sameness(&entry, d) == crate::manifest::Sameness::Same);
    Ok(Some(CardPlan {
        path: CARD_PATH.into(),
        text: mapped.text,
        entry,
        changes: mapped.changes,
        at_dest,
    }))
}

/// The destination listing as the diff should see it: a destination `README.md` that already is
/// the mapped card stands for the source's README (the same card, as this hub reads it).
pub fn dest_for_diff(dest: &Manifest, source: &Manifest, card: Option<&CardPlan>) -> Manifest {
    let mut out = dest.clone();
    if let (Some(card), Some(src)) = (card, source.get(CARD_PATH)) {
        if card.at_dest {
            if let Some(d) = out.files.iter_mut().find(|f| f.path == CARD_PATH) {
                *d = src.clone();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_maps_both_ways_where_the_hubs_differ() {
        use Platform::{Hf, Ms};
        // (from, to, README, expected README or None for unchanged)
        let cases: &[(Platform, Platform, &str, Option<&str>)] = &[
            // HF ids read fine on ModelScope: left alone.
            (Hf, Ms, "---\nlicense: apache-2.0\n---\n# x\n", None),
            (
                Hf,
                Ms,
                "---\nlicense: mit\npipeline_tag: text-generation\n---\n# x\n",
                Some("---\nlicense: mit\npipeline_tag: text-generation\ntasks:\n- text-generation\n---\n# x\n"),
            ),
            (
                Hf,
                Ms,
                "---\npipeline_tag: automatic-speech-recognition\n---\n",
                Some("---\npipeline_tag: automatic-speech-recognition\ntasks:\n- auto-speech-recognition\n---\n"),
            ),
            // An unknown tag crosses as it is; existing tasks win.
            (
                Hf,
                Ms,
                "---\npipeline_tag: any-to-any\n---\n",
                Some("---\npipeline_tag: any-to-any\ntasks:\n- any-to-any\n---\n"),
            ),
            (
                Hf,
                Ms,
                "---\npipeline_tag: text-to-image\ntasks: [text-to-image-synthesis]\n---\n",
                None,
            ),
            (
                Ms,
                Hf,
                "---\nlicense: Apache License 2.0\n---\n# x\n",
                Some("---\nlicense: apache-2.0\n---\n# x\n"),
            ),
            (Ms, Hf, "---\nlicense: MIT\n---\n", Some("---\nlicense: mit\n---\n")),
            (Ms, Hf, "---\nlicense: GPL-3.0\n---\n", Some("---\nlicense: gpl-3.0\n---\n")),
            (
                Ms,
                Hf,
                "---\nlicense: Tongyi Qianwen\n---\n",
                Some("---\nlicense: other\nlicense_name: tongyi-qianwen\n---\n"),
            ),
            (
                Ms,
                Hf,
                "---\nlicense: apache-2.0\ntasks:\n- text-summarization\n---\nbody\n",
                Some("---\nlicense: apache-2.0\ntasks:\n- text-summarization\npipeline_tag: summarization\n---\nbody\n"),
            ),
            (
                Ms,
                Hf,
                "---\ntasks: [image-object-detection, x]\npipeline_tag: object-detection\n---\n",
                None,
            ),
            // No front matter, or nothing that differs.
            (Ms, Hf, "# just a readme\n", None),
            (Ms, Hf, "---\nlicense: apache-2.0\n---\n", None),
            (Hf, Hf, "---\npipeline_tag: fill-mask\n---\n", None),
        ];
        for (from, to, text, want) in cases {
            let got = map_card(text, *from, *to).map(|m| m.text);
            assert_eq!(got.as_deref(), *want, "{from:?} → {to:?}: {text:?}");
        }
    }

    #[test]
    fn changes_name_each_field_for_the_diff() {
        let m = map_card(
            "---\nlicense: Tongyi Qianwen\ntasks: chat\n---\n",
            Platform::Ms,
            Platform::Hf,
        )
        .unwrap();
        assert_eq!(
            diff_lines(&m.changes),
            [
                "- license: Tongyi Qianwen",
                "+ license: other",
                "+ license_name: tongyi-qianwen"
            ]
        );
        let m = map_card(
            "---\npipeline_tag: summarization\n---\n",
            Platform::Hf,
            Platform::Ms,
        )
        .unwrap();
        assert_eq!(diff_lines(&m.changes), ["+ tasks: [text-summarization]"]);
    }

    #[test]
    fn a_modelscope_configuration_task_becomes_the_pipeline_tag_when_the_card_names_none() {
        let config = br#"{"framework": "pytorch", "task": "text-summarization"}"#;
        let task = configuration_task(config);
        assert_eq!(task.as_deref(), Some("text-summarization"));
        assert_eq!(configuration_task(br#"{"framework": "pytorch"}"#), None);
        assert_eq!(configuration_task(b"not json"), None);
        let card = "---
license: apache-2.0
---
# x
";
        let m = map_card_with(card, Platform::Ms, Platform::Hf, task.as_deref()).unwrap();
        assert_eq!(
            m.text,
            "---\nlicense: apache-2.0\npipeline_tag: summarization\n---\n# x\n"
        );
        assert_eq!(diff_lines(&m.changes), ["+ pipeline_tag: summarization"]);
        // The card's own `tasks:` wins; and verify recognises the copy without the config.
        let own = "---
tasks: [fill-mask]
---
";
        let m = map_card_with(own, Platform::Ms, Platform::Hf, task.as_deref()).unwrap();
        assert!(m.text.contains("pipeline_tag: fill-mask"), "{}", m.text);
        let copy = map_card_with(card, Platform::Ms, Platform::Hf, task.as_deref())
            .unwrap()
            .text;
        assert!(is_mapped_card(
            card.as_bytes(),
            copy.as_bytes(),
            Platform::Ms,
            Platform::Hf
        ));
        assert!(!is_mapped_card(
            card.as_bytes(),
            b"---\nlicense: apache-2.0\npipeline_tag: summarization\n---\n# y\n",
            Platform::Ms,
            Platform::Hf
        ));
    }

    #[test]
    fn a_copy_holding_the_mapped_card_is_recognised() {
        let src = "---\npipeline_tag: fill-mask\n---\n";
        let copy = map_card(src, Platform::Hf, Platform::Ms).unwrap().text;
        assert!(is_mapped_card(
            src.as_bytes(),
            copy.as_bytes(),
            Platform::Hf,
            Platform::Ms
        ));
        assert!(!is_mapped_card(
            src.as_bytes(),
            b"---\n---\n",
            Platform::Hf,
            Platform::Ms
        ));
        assert!(!is_mapped_card(
            src.as_bytes(),
            src.as_bytes(),
            Platform::Hf,
            Platform::Ms
        ));
    }

    #[test]
    fn license_names_follow_the_workers_rule() {
        for (name, id) in [
            ("Apache License 2.0", "apache-2.0"),
            ("apache-2.0", "apache-2.0"),
            ("Apache License Version 2.0", "apache-2.0"),
            ("GPL v3", "gpl-3.0"),
            ("LGPL-2.1", "lgpl-2.1"),
            ("CC BY 4.0", "cc-by-4.0"),
            ("cc-by-nc-4", "cc-by-nc-4.0"),
            ("'MIT'", "mit"),
        ] {
            assert_eq!(hf_license(name), id, "{name}");
        }
    }
}
