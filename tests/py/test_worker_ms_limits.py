"""The worker against ModelScope's own limits, modelled by the sandbox from the pinned SDK source:
the 2000-action cap per commit (HTTP 422 above it), the commit-frequency throttle (429 E1021 with
Retry-After), and one PUT per blob with no resume inside a file."""

from __future__ import annotations

import test_worker_support as ws
import world

COMMIT_CAP = 2000


def ms_log_since(sandbox, since: int) -> list[dict]:
    return world.admin(sandbox, f"/requests?platform=ms&since={since}", method="GET")["requests"]


def last_seq(sandbox) -> int:
    log = world.admin(sandbox, "/requests?platform=ms", method="GET")["requests"]
    return log[-1]["seq"] if log else 0


def test_five_thousand_small_files_move_in_commits_the_hub_accepts(sandbox, tmp_path):
    """commit_max_files above the hub's cap is clamped to it: 5000 files land in 2000+2000+1000
    (not one commit of 5000 that the hub answers with 422), under a burst of E1021 as well."""
    files = {f"shard{i // 1000}/f{i:04d}.txt": b"%d\n" % i for i in range(5000)}
    ws.seed_hf(sandbox, tmp_path, "alice/five-k", files, repo_type="dataset")
    since = last_seq(sandbox)
    world.admin(sandbox, "/faults", {"kind": "commit_throttle", "count": 3, "retry_after": 1})
    job = ws.make_job(
        ("hf", "alice/five-k", "dataset"),
        ("ms", "alice/five-k", "dataset"),
        commit_max_files=5000,
        download_workers=8,
        upload_workers=8,
    )
    run = ws.run_worker(sandbox, tmp_path, job, timeout=600)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    # Usually [2000, 2000, 1000]; on a loaded machine the 30 s commit interval may flush a
    # batch before it fills, so only the cap and the total are certain.
    sizes = [c["files"] for c in run.of("commit")]
    assert max(sizes) <= COMMIT_CAP and sum(sizes) == 5000, sizes
    assert f"committing at most {COMMIT_CAP} at a time" in run.stderr
    throttled = [e for e in run.of("retry") if e["op"] == "commit"]
    assert len(throttled) == 3 and all("E1021" in e["reason"] for e in throttled)
    commits = [r for r in ms_log_since(sandbox, since) if "/commit/" in r["path"]]
    assert sorted(r["status"] for r in commits) == [200] * len(sizes) + [429] * 3
    assert run.of("verify")[0]["matched"] == 5000


def test_blob_put_cut_off_is_sent_again_whole(sandbox, tmp_path):
    files = {"w.bin": bytes(range(256)) * 1200, "a.txt": b"a"}
    ws.seed_hf(sandbox, tmp_path, "alice/cut-put-w", files)
    since = last_seq(sandbox)
    world.admin(sandbox, "/faults", {"kind": "drop_upload", "after_bytes": 100_000})
    job = ws.make_job(("hf", "alice/cut-put-w", "model"), ("ms", "alice/cut-put-w", "model"))
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    assert [e["op"] for e in run.of("retry") if e["path"] == "w.bin"] == ["upload"]
    puts = [r for r in ms_log_since(sandbox, since) if r["method"] == "PUT"]
    assert [(r["fault"], r["status"]) for r in puts] == [("drop_upload", None), (None, 200)]
    assert puts[1]["bytes_in"] == len(files["w.bin"])
    assert ws.ms_contents(sandbox, tmp_path, "alice/cut-put-w") == files


def test_internal_modelscope_source_becomes_a_private_copy(sandbox, tmp_path):
    """Visibility 3 (internal: members only) is not public: its copy is created private."""
    files = {"a.txt": b"internal"}
    api = ws.ms_api(sandbox)
    api.create_repo("alice/internal", "model", visibility="internal")
    folder = ws.write_tree(tmp_path / "internal", files)
    api.upload_folder("alice/internal", "model", folder, disable_tqdm=True)
    assert api.get_repo("alice/internal", "model").visibility == 3
    job = ws.make_job(("ms", "alice/internal", "model"), ("hf", "alice/internal", "model"))
    run = ws.run_worker(sandbox, tmp_path, job)
    assert run.result["status"] == "ok", run.stderr[-3000:]
    assert ws.hf_api(sandbox).repo_info("alice/internal").private is True


def test_deprecated_modelscope_domain_is_honoured(sandbox, tmp_path):
    """With only MODELSCOPE_DOMAIN set (as the SDK and hubferry's preflight accept it) the
    worker talks to that hub, not to modelscope.cn."""
    files = {"d.txt": b"domain"}
    ws.seed_hf(sandbox, tmp_path, "alice/by-domain", files)
    env = {"MODELSCOPE_ENDPOINT": "", "MODELSCOPE_DOMAIN": sandbox["ms_endpoint"]}
    job = ws.make_job(("hf", "alice/by-domain", "model"), ("ms", "alice/by-domain", "model"))
    run = ws.run_worker(sandbox, tmp_path, job, env=env)
    assert run.result["status"] == "ok" and run.result["verified"], run.stderr[-3000:]
    assert run.result["dest_url"].startswith(sandbox["ms_endpoint"])
    assert ws.ms_contents(sandbox, tmp_path, "alice/by-domain") == files
