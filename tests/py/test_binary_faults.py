"""Every fault the sandbox injects, measured through the release binary on both backends.

Each case seeds a small repo, switches one fault on, runs `hubferry migrate … --yes --json` with
`--backend local` and with the Modal stand-in, and accepts exactly two endings: exit 0 with a
verified report and a destination whose files, fetched through the official client, hash to the
source's; or a non-zero exit with a failed/partial report that says why. Exit 0 with wrong or
missing data fails the test. Each case prints one row (fault, backend, outcome, exit code, bytes
moved) for the issue's closing table.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import zlib

import pytest
import test_worker_support as ws
import world

BINARY = world.ROOT / "target" / "release" / "hubferry"
WEIGHTS = "weights/model.bin"
WEIGHTS_BYTES = 2 * ws.MB + 12345


def source_files(seed: int) -> dict[str, bytes]:
    return {
        "README.md": b"# fault case\n",
        "config.json": b'{"seed": %d}' % seed,
        WEIGHTS: random.Random(seed).randbytes(WEIGHTS_BYTES),
    }


# name -> (source platform, fault spec builder (repo id -> spec), expected outcome)
CASES = {
    "storage-lock-403": ("hf", lambda r: {"kind": "storage_lock", "repo": r}, "verified"),
    "429-retry-after": (
        "hf",
        lambda r: {
            "kind": "rate_limit",
            "count": 2,
            "retry_after": 1,
            "platform": "hf",
            "path": f"{r}/resolve/.*model\\.bin",
        },
        "verified",
    ),
    "5xx-burst-on-commit": (
        "hf",
        lambda r: {
            "kind": "server_error",
            "count": 3,
            "status": 503,
            "platform": "ms",
            "path": f"{r}/commit/",
        },
        "verified",
    ),
    "drop-mid-file": (
        "ms",
        lambda r: {
            "kind": "drop",
            "file": WEIGHTS,
            "repo": r,
            "after_bytes": ws.MB,
            "platform": "ms",
        },
        "verified",
    ),
    "corrupt-byte": (
        "hf",
        lambda r: {"kind": "corrupt", "file": WEIGHTS, "repo": r, "platform": "hf"},
        "verified",
    ),
    "latency": (
        "ms",
        lambda r: {"kind": "latency", "ms": 150, "count": 30, "platform": "ms"},
        "verified",
    ),
    "corrupt-every-time": (
        "hf",
        lambda r: {"kind": "corrupt", "file": WEIGHTS, "repo": r, "platform": "hf", "count": None},
        "failed",
    ),
}


@pytest.fixture(scope="module")
def modal_sim(tmp_path_factory):
    with world.start_modal_sim(tmp_path_factory.mktemp("modal-sim") / "state") as svc:
        yield svc


@pytest.fixture(autouse=True)
def no_faults_left(sandbox):
    yield
    world.admin(sandbox, "/faults", method="DELETE")


def binary_env(sandbox, modal_sim, tmp_path) -> dict:
    for sub in ("home", "tmp", "state"):
        (tmp_path / sub).mkdir(exist_ok=True)
    venv_bin = world.ROOT / ".venv" / "bin"
    return {
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "HF_HUB_DISABLE_XET": "1",
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "MODAL_SERVER_URL": modal_sim["modal_server_url"],
        "MODAL_TOKEN_ID": "ak-hubferrytests",
        "MODAL_TOKEN_SECRET": "as-hubferrytests",
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "HUBFERRY_MODAL": str(venv_bin / "modal"),
        "HUBFERRY_PYTHON": str(venv_bin / "python"),
    }


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {p: hashlib.sha256(d).hexdigest() for p, d in files.items() if p != ".gitattributes"}


@pytest.mark.parametrize("backend", ["local", "modal"])
@pytest.mark.parametrize("case", list(CASES))
def test_fault_ends_verified_or_fails_loudly(sandbox, modal_sim, tmp_path, capsys, case, backend):
    assert BINARY.exists(), "build the release binary first: cargo build --release --locked"
    platform, spec, expected = CASES[case]
    dest_platform = "ms" if platform == "hf" else "hf"
    repo = f"alice/bf-{case}-{backend}"
    # Bytes of each case's own: ModelScope stores a blob once, and a streamed upload of a blob it
    # holds already reads nothing from the source, so a fault on that read would never bite.
    files = source_files(zlib.crc32(repo.encode()))
    (ws.seed_hf if platform == "hf" else ws.seed_ms)(sandbox, tmp_path, repo, files)
    (fault,) = world.admin(sandbox, "/faults", spec(repo))["added"]
    argv = [str(BINARY), "migrate", f"{platform}:{repo}", "--backend", backend, "--yes", "--json"]
    proc = subprocess.run(
        argv,
        env=binary_env(sandbox, modal_sim, tmp_path),
        cwd=tmp_path / "home",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ws.assert_no_leak(proc.stdout, proc.stderr)
    still = {f["id"]: f for f in world.admin(sandbox, "/faults", method="GET")["faults"]}
    assert fault["id"] not in still or still[fault["id"]]["fired"] > 0, "the fault never bit"
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    reports = [x for x in lines if x.get("type") == "report"]
    assert len(reports) == 1, f"want one report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    report = reports[0]
    read = ws.ms_contents if dest_platform == "ms" else ws.hf_contents
    landed = digests(read(sandbox, tmp_path, repo))
    outcome = "verified" if proc.returncode == 0 else f"failed ({report['status']})"
    with capsys.disabled():
        print(
            f"\nbinary-fault | {case:<20} | {backend:<5} | {outcome:<17} | exit {proc.returncode}"
            f" | {report['bytes_moved']} bytes moved | retries"
            f" {sum(1 for x in lines if x.get('type') == 'retry')}"
        )
    if proc.returncode == 0:
        # The one ending that must never be wrong: exit 0 means everything is there, intact.
        assert report["status"] == "ok" and report["verified"] is True, report
        assert landed == digests(files), (case, backend)
        assert report["fallback_used"] is (case == "storage-lock-403"), report
    else:
        assert report["status"] in ("failed", "partial") and not report["verified"], report
        assert report["errors"] and all(e.strip() for e in report["errors"]), report
        assert "error:" in proc.stderr or report["errors"], proc.stderr[-2000:]
        assert landed.get(WEIGHTS) in (None, digests(files)[WEIGHTS]), "corrupt data landed"
    assert outcome.split()[0] == expected, (outcome, proc.stderr[-3000:])
