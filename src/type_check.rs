//! Repo types are never guessed across: an id that exists under two types on one hub is a usage
//! error until the user names the type, and a copy of another type is never "the same" (`verify`,
//! `retire`). Issue 10: `retire hf:datasets/alice/x --copy ms:alice/x` once deleted a dataset on the
//! strength of a model repository.

use crate::repo_ref::{RepoRef, RepoType};

/// `hf:alice/x exists both as a model and as a dataset`.
pub fn ambiguous_type_message(r: &RepoRef, types: &[RepoType]) -> String {
    let kinds: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    format!(
        "{} exists on {} as a {}; which one is meant is not guessed",
        RepoRef {
            repo_type: None,
            revision: None,
            ..r.clone()
        },
        r.platform.display_name(),
        kinds.join(" and as a ")
    )
}

/// Names each candidate the way hubferry reads it back.
pub fn ambiguous_type_hint(r: &RepoRef, types: &[RepoType]) -> String {
    let forms: Vec<String> = types
        .iter()
        .map(|&t| {
            let typed = RepoRef {
                repo_type: Some(t),
                ..r.clone()
            };
            match t {
                RepoType::Model => format!("{typed} --repo-type model"),
                _ => typed.to_string(),
            }
        })
        .collect();
    format!("name the type: {}", forms.join(" or "))
}

/// The message when a source and its copy are of different types, or `None` when they match.
pub fn type_mismatch(source: &RepoRef, copy: &RepoRef) -> Option<(String, String)> {
    let (a, b) = (source.repo_type_or_model(), copy.repo_type_or_model());
    (a != b).then(|| {
        (
            format!("{source} is a {a} and {copy} is a {b}: a copy of another repo type is never the same repository"),
            format!("compare it with the {a} copy: give the copy's type (e.g. {}:{}/{})", copy.platform, a.plural(), copy.id),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo_ref::Platform;

    fn r(t: Option<RepoType>) -> RepoRef {
        RepoRef {
            platform: Platform::Hf,
            repo_type: t,
            id: "alice/x".into(),
            revision: None,
        }
    }

    #[test]
    fn messages_name_both_types_and_how_to_choose() {
        let both = [RepoType::Model, RepoType::Dataset];
        let m = ambiguous_type_message(&r(None), &both);
        assert!(
            m.contains("hf:alice/x") && m.contains("model and as a dataset"),
            "{m}"
        );
        let h = ambiguous_type_hint(&r(None), &both);
        assert!(
            h.contains("hf:datasets/alice/x") && h.contains("--repo-type model"),
            "{h}"
        );
        assert!(type_mismatch(&r(Some(RepoType::Dataset)), &r(Some(RepoType::Dataset))).is_none());
        let (m, h) = type_mismatch(&r(Some(RepoType::Dataset)), &r(None)).unwrap();
        assert!(
            m.contains("is a dataset") && m.contains("is a model"),
            "{m}"
        );
        assert!(h.contains("hf:datasets/alice/x"), "{h}");
    }
}
