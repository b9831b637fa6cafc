"""Files per commit through the release binary (`--backend local`), at a small scale: the
sandbox's ModelScope cap lowered to 50 actions (`--ms-commit-max-actions`) with the client's
MODELSCOPE_COMMIT_MAX_ACTIONS_PER_REQUEST=50 stands for the real 2000 with 100,000 files, and
250 files show Hugging Face's 100 per commit (docs/job-file.md, "Files per commit")."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import test_worker_support as ws
import world

BINARY = world.ROOT / "target" / "release" / "hubferry"
CAP = 50
FILES = {f"d{i % 3}/f{i:03d}.txt": b"%d\n" % i for i in range(250)}


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    state = tmp_path_factory.mktemp("capped-sandbox") / "state"
    with world.start_sandbox(state, extra=["--ms-commit-max-actions", str(CAP)]) as svc:
        yield svc


def migrate(sandbox, tmp_path, src: str, dest: str, extra_env: dict) -> tuple[dict, list[dict]]:
    for sub in ("home", "tmp", "state"):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "HUBFERRY_PYTHON": str(world.ROOT / ".venv" / "bin" / "python"),
        **extra_env,
    }
    argv = [str(BINARY), "migrate", src, "--dest", dest, "--backend", "local", "--yes", "--json"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert lines, proc.stderr[-3000:]
    return lines[-1], [e for e in lines if e.get("type") == "commit"]


def commit_statuses(sandbox, platform: str, since: int) -> list[int]:
    log = world.admin(sandbox, f"/requests?platform={platform}&since={since}", method="GET")
    return [r["status"] for r in log["requests"] if "commit" in r["route"]]


def last_seq(sandbox) -> int:
    log = world.admin(sandbox, "/requests", method="GET")["requests"]
    return log[-1]["seq"] if log else 0


def test_each_hub_gets_commits_it_accepts(capped, tmp_path):
    assert BINARY.exists(), "build the release binary first: cargo build --release --locked"
    ws.seed_hf(capped, tmp_path, "alice/batches", FILES)
    lowered = {"MODELSCOPE_COMMIT_MAX_ACTIONS_PER_REQUEST": str(CAP)}

    # Without the client knowing the lowered cap, 256 files per commit are refused with 422:
    # the sandbox's limit bites.
    since = last_seq(capped)
    report, _ = migrate(capped, tmp_path / "a", "hf:alice/batches", "alice/refused", {})
    assert report["status"] != "ok", report
    assert 422 in commit_statuses(capped, "ms", since)

    # HF -> ModelScope: at most the hub's cap per commit, every commit accepted.
    since = last_seq(capped)
    report, commits = migrate(capped, tmp_path / "b", "hf:alice/batches", "alice/batches", lowered)
    assert report["status"] == "ok" and report["verified"], report
    sizes = [c["files"] for c in commits]
    assert max(sizes) <= CAP and sum(sizes) == len(FILES), sizes
    assert set(commit_statuses(capped, "ms", since)) == {200}

    # ModelScope -> HF: 100 files per commit.
    since = last_seq(capped)
    report, commits = migrate(capped, tmp_path / "c", "ms:alice/batches", "alice/back", lowered)
    assert report["status"] == "ok" and report["verified"], report
    assert sorted(c["files"] for c in commits) == [50, 100, 100], commits
    assert set(commit_statuses(capped, "hf", since)) == {200}
