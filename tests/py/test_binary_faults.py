"""Every fault the sandbox injects, measured through the release binary on both backends.

Each case seeds a small repo, switches one fault on, runs `hubferry migrate … --yes --json` with
`--backend local` and with the Modal stand-in, and accepts exactly two endings: exit 0 with a
verified report and a destination whose files, fetched through the official client, hash to the
source's; or a non-zero exit with a failed/partial report that says why. Exit 0 with wrong or
missing data fails the test. Each case prints one row (fault, backend, outcome, exit code, bytes
moved, what the sandbox saw) for the issue's closing table.

Xet is on, as in production, and each fault is aimed at the Xet traffic it would meet there, as
the sandbox's request log proves for every run: uploads to HF (ModelScope → HF) go to the CAS in
xorbs and shards; downloads from HF stream LFS files through the CAS bridge (a plain GET the
worker streams into ModelScope's PUT) and fetch the files it stages, such as TABLE (binary, so
Xet-stored on HF, but committed inline on ModelScope), through hf_xet's reconstruction and term
fetches. The LFS batch endpoint is never hit, except by git-lfs after a storage lock. A smaller
set (XET_OFF_CASES) runs with `HF_HUB_DISABLE_XET=1`, so the classic path stays covered.

hf_xet 1.8.0 writes a term whose xorb bytes were corrupted in flight without noticing (it checks
no chunk hash on download): `corrupt-byte` shows the worker's own sha256 check catching it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import zlib

import pytest
import test_worker_support as ws
import world

BINARY = world.ROOT / "target" / "release" / "hubferry"
WEIGHTS = "weights/model.bin"
WEIGHTS_BYTES = 2 * ws.MB + 12345
# Staged (not streamed) on the way HF → ModelScope: ModelScope commits it inline (no LFS suffix,
# under its 64 KiB LFS threshold), so the worker downloads it with hf_hub_download → hf_xet.
TABLE = "weights/table.dat"
TABLE_BYTES = 48_000
# Paths of the reference CAS's API, as the relay on the HF link logs them.
CAS_PATH = re.compile(r"^/(v1|v2|simulation)/")


def source_files(seed: int) -> dict[str, bytes]:
    rnd = random.Random(seed)
    return {
        "README.md": b"# fault case\n",
        "config.json": b'{"seed": %d}' % seed,
        WEIGHTS: rnd.randbytes(WEIGHTS_BYTES),
        # A NUL in the sample the Hub's preupload sees makes it binary: LFS, so Xet-stored.
        TABLE: b"\0" + rnd.randbytes(TABLE_BYTES - 1),
    }


def cas_fault(kind: str, path: str, **extra) -> dict:
    """A request fault on the HF link's CAS paths matching `path` (a regex)."""
    return {"kind": kind, "platform": "hf", "path": path, **extra}


# name -> (source platform, fault spec builder (repo id -> spec), expected outcome, how the
# fault shows in the HF request log: (fault field, route or None, on a CAS path)).
# hf_xet waits 3 s, then doubling, before each retry (it reads no Retry-After), so
# the request faults on CAS paths are short bursts: each retry costs the run seconds.
CASES = {
    "storage-lock-403": (
        "hf",
        lambda r: {"kind": "storage_lock", "repo": r},
        "verified",
        ("storage_lock", "resolve", False),
    ),
    "429-retry-after": (
        "ms",
        lambda r: cas_fault("rate_limit", "^/v1/xorb-grants/", count=1, retry_after=1),
        "verified",
        ("rate_limit", "fault", True),
    ),
    "5xx-burst-on-shards": (
        "ms",
        lambda r: cas_fault("server_error", "^/v2/shards", count=2, status=503),
        "verified",
        ("server_error", "fault", True),
    ),
    "drop-mid-file": (
        "hf",
        lambda r: {"kind": "drop", "file": TABLE, "repo": r, "after_bytes": 20_000},
        "verified",
        ("drop", "xet-term", True),
    ),
    "corrupt-byte": (
        "hf",
        lambda r: {"kind": "corrupt", "file": TABLE, "repo": r, "platform": "hf"},
        "verified",
        ("corrupt", "xet-term", True),
    ),
    "latency": (
        "ms",
        lambda r: cas_fault("latency", "^/v[12]/", ms=150, count=30),
        "verified",
        ("latency", None, True),
    ),
    "corrupt-every-time": (
        "hf",
        lambda r: {"kind": "corrupt", "file": TABLE, "repo": r, "platform": "hf", "count": None},
        "failed",
        ("corrupt", "xet-term", True),
    ),
}

# The classic LFS path (HF_HUB_DISABLE_XET=1): the git fallback and a corrupted HTTP download.
XET_OFF_CASES = {
    "storage-lock-403": CASES["storage-lock-403"],
    "corrupt-byte": (
        "hf",
        lambda r: {"kind": "corrupt", "file": WEIGHTS, "repo": r, "platform": "hf"},
        "verified",
        ("corrupt", "bridge", False),
    ),
}


@pytest.fixture(scope="module")
def modal_sim(tmp_path_factory):
    with world.start_modal_sim(tmp_path_factory.mktemp("modal-sim") / "state") as svc:
        yield svc


def binary_env(sandbox, modal_sim, tmp_path, xet: bool) -> dict:
    for sub in ("home", "tmp", "state"):
        (tmp_path / sub).mkdir(exist_ok=True)
    venv_bin = world.ROOT / ".venv" / "bin"
    return {
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        **world.hf_env(sandbox, xet=xet),
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


def hf_log_since(sandbox, seq: int) -> list[dict]:
    return world.admin(sandbox, f"/requests?since={seq}&platform=hf", method="GET")["requests"]


def last_seq(sandbox) -> int:
    return max(
        (e["seq"] for e in world.admin(sandbox, "/requests", method="GET")["requests"]), default=0
    )


def evidence(log: list[dict], how: tuple) -> str:
    """Asserts from the sandbox's request log that the fault bit the traffic it aims at; returns
    the counts for the table row."""
    kind, route, on_cas = how
    bit = [
        e
        for e in log
        if e["fault"] == kind
        and route in (None, e["route"])
        and bool(CAS_PATH.match(e["path"])) is on_cas
    ]
    faulted = [(e["fault"], e["route"], e["path"]) for e in log if e["fault"]]
    assert bit, f"no {kind} on {route or 'any route'} (CAS: {on_cas}); faults seen: {faulted}"
    return f"{len(bit)}× {kind} on {bit[0]['route']} {bit[0]['path'][:22]}"


def run_case(sandbox, modal_sim, tmp_path, capsys, name, case, backend, xet):
    assert BINARY.exists(), "build the release binary first: cargo build --release --locked"
    platform, spec, expected, how = case
    dest_platform = "ms" if platform == "hf" else "hf"
    repo = f"alice/bf-{name}-{backend}-{'xet' if xet else 'lfs'}"
    # Bytes of each case's own: ModelScope stores a blob once, and a streamed upload of a blob it
    # holds already reads nothing from the source, so a fault on that read would never bite.
    files = source_files(zlib.crc32(repo.encode()))
    (ws.seed_hf if platform == "hf" else ws.seed_ms)(sandbox, tmp_path, repo, files)
    since = last_seq(sandbox)
    (fault,) = world.admin(sandbox, "/faults", spec(repo))["added"]
    argv = [str(BINARY), "migrate", f"{platform}:{repo}", "--backend", backend, "--yes", "--json"]
    try:
        proc = subprocess.run(
            argv,
            env=binary_env(sandbox, modal_sim, tmp_path, xet),
            cwd=tmp_path / "home",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        still = {f["id"]: f for f in world.admin(sandbox, "/faults", method="GET")["faults"]}
        world.admin(sandbox, f"/faults/{fault['id']}", method="DELETE")
    log = hf_log_since(sandbox, since)
    ws.assert_no_leak(proc.stdout, proc.stderr)
    assert fault["id"] not in still or still[fault["id"]]["fired"] > 0, "the fault never bit"
    seen = evidence(log, how)
    batch = sum(1 for e in log if e["route"] == "lfs-batch")
    if xet:
        # Xet on: nothing goes through the LFS batch API, but git-lfs after the storage lock.
        assert (batch > 0) is (name == "storage-lock-403"), f"{batch} LFS batch calls"
        if dest_platform == "hf":
            assert {"xet-xorb", "xet-shard"} <= {e["route"] for e in log}, "not uploaded via Xet"
        assert not [e for e in log if e["route"] == "lfs-upload"]
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    reports = [x for x in lines if x.get("type") == "report"]
    assert len(reports) == 1, f"want one report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    report = reports[0]
    read = ws.ms_contents if dest_platform == "ms" else ws.hf_contents
    landed = digests(read(sandbox, tmp_path, repo))
    outcome = "verified" if proc.returncode == 0 else f"failed ({report['status']})"
    row = (
        f"binary-fault | {'xet' if xet else 'lfs'} | {name:<20} | {backend:<5} | {outcome:<17}"
        f" | exit {proc.returncode} | {report['bytes_moved']} bytes moved | retries"
        f" {sum(1 for x in lines if x.get('type') == 'retry')} | {seen} | lfs-batch {batch}"
    )
    with capsys.disabled():
        print("\n" + row)
    if os.environ.get("BINARY_FAULT_TABLE"):  # xdist workers' output does not reach the terminal
        with open(os.environ["BINARY_FAULT_TABLE"], "a") as table:
            table.write(row + "\n")
    if proc.returncode == 0:
        # The one ending that must never be wrong: exit 0 means everything is there, intact.
        assert report["status"] == "ok" and report["verified"] is True, report
        assert landed == digests(files), (name, backend)
        assert report["fallback_used"] is (name == "storage-lock-403"), report
    else:
        assert report["status"] in ("failed", "partial") and not report["verified"], report
        assert report["errors"] and all(e.strip() for e in report["errors"]), report
        assert "error:" in proc.stderr or report["errors"], proc.stderr[-2000:]
        for path in (WEIGHTS, TABLE):
            assert landed.get(path) in (None, digests(files)[path]), f"corrupt {path} landed"
    assert outcome.split()[0] == expected, (outcome, proc.stderr[-3000:])


@pytest.mark.parametrize("backend", ["local", "modal"])
@pytest.mark.parametrize("name", list(CASES))
def test_fault_with_xet_ends_verified_or_fails_loudly(
    sandbox, modal_sim, tmp_path, capsys, name, backend
):
    run_case(sandbox, modal_sim, tmp_path, capsys, name, CASES[name], backend, xet=True)


@pytest.mark.parametrize("backend", ["local", "modal"])
@pytest.mark.parametrize("name", list(XET_OFF_CASES))
def test_fault_without_xet_ends_verified_or_fails_loudly(
    sandbox, modal_sim, tmp_path, capsys, name, backend
):
    run_case(sandbox, modal_sim, tmp_path, capsys, name, XET_OFF_CASES[name], backend, xet=False)
