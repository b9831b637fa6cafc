//! A copy of another repo type is never "the same": `verify` and `retire` refuse it (exit 2), and
//! an id that exists under two types is never resolved by guessing.

use crate::support::{unique, TestContext};

#[test]
fn a_dataset_is_never_verified_or_retired_against_a_model() {
    let ctx = TestContext::new();
    let id = format!("alice/{}", unique("it-types"));
    let (hf_ds, ms) = (format!("hf:datasets/{id}"), format!("ms:{id}"));
    ctx.seed("hf", &id, &["--repo-type", "dataset", "--lfs-mb", "0.01"]);
    ctx.seed("ms", &id, &["--lfs-mb", "0.01"]);

    let out = ctx.run(&["verify", &hf_ds, &ms]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("is a dataset") && out.stderr.contains("is a model"),
        "{out}"
    );
    assert!(out.stderr.contains("hint:"), "{out}");

    let out = ctx.run(&["retire", &hf_ds, "--copy", &ms, "--confirm", &id]);
    assert_eq!(out.code, Some(2), "{out}");
    let still = ctx.run(&["verify", &hf_ds, &format!("hf:datasets/{id}")]);
    assert!(
        !still.stderr.contains("not found"),
        "the dataset must still exist: {still}"
    );

    // The same id as a model on HF too: untyped, it is ambiguous, never silently the model.
    ctx.seed("hf", &id, &["--lfs-mb", "0.01"]);
    let (hf_untyped, dataset) = (format!("hf:{id}"), format!("hf:datasets/{id}"));
    for args in [
        ["verify", hf_untyped.as_str(), ms.as_str()],
        ["migrate", hf_untyped.as_str(), "--dry-run"],
    ] {
        let out = ctx.run(&args);
        assert_eq!(out.code, Some(2), "{out}");
        assert!(
            out.stderr.contains("as a model and as a dataset") && out.stderr.contains(&dataset),
            "{out}"
        );
    }
    // Named, it works: the HF model and the ModelScope model hold the same seeded files.
    let out = ctx.run(&["verify", &format!("hf:{id}"), &ms, "--repo-type", "model"]);
    assert_eq!(out.code, Some(0), "{out}");
    ctx.assert_no_canaries();
}
