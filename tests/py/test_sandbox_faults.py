"""Every fault kind of the sandbox, switched through the admin endpoint and observed through the
official client (or git): storage lock, 429 + Retry-After, 5xx, dropped connection, corrupted
byte, latency. Timing is read from the sandbox's request log, never from the wall clock here.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest
import world
from hf_client import clone_url, git, read_tree, run_hf, sha256

BIG = bytes(range(251)) * 8000  # ~2 MB, LFS (binary)
SMALL = b"small inline file\n"
# huggingface_hub reads downloads in 10 MiB chunks and resumes from the last whole chunk it got,
# so a drop is resumed with a Range request only once more than 10 MiB have arrived.
HUGE = bytes(range(256)) * 48_000  # 12.3 MB
CLIENT_CHUNK = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def seeded(sandbox, tmp_path_factory):
    src = tmp_path_factory.mktemp("faults-src")
    (src / "big.bin").write_bytes(BIG)
    (src / "small.txt").write_bytes(SMALL)
    (src / "huge.bin").write_bytes(HUGE)
    run_hf(
        sandbox,
        """
        api.create_repo("alice/faulty")
        api.upload_folder(repo_id="alice/faulty", folder_path=A["src"])
        out(True)
    """,
        {"src": str(src)},
    )
    return sandbox


@pytest.fixture(autouse=True)
def clean_faults(sandbox):
    world.admin(sandbox, "/faults", method="DELETE")
    yield
    world.admin(sandbox, "/faults", method="DELETE")


def add_fault(sandbox, **spec) -> dict:
    return world.admin(sandbox, "/faults", spec)["added"][0]


def log_since(sandbox, seq: int, **filters) -> list[dict]:
    entries = world.admin(sandbox, f"/requests?since={seq}", method="GET")["requests"]
    return [e for e in entries if all(e.get(k) == v for k, v in filters.items())]


def last_seq(sandbox) -> int:
    entries = world.admin(sandbox, "/requests", method="GET")["requests"]
    return entries[-1]["seq"] if entries else 0


DOWNLOAD = """
from huggingface_hub import hf_hub_download
def fetch():
    return open(hf_hub_download("alice/faulty", A["file"], local_dir=A["dest"],
                                force_download=True), "rb").read()
try:
    out({"sha256": __import__("hashlib").sha256(fetch()).hexdigest(), "error": None})
except Exception as exc:
    # The HEAD's HTTP error is the cause of what hf_hub_download raises (ValueError with
    # force_download, LocalEntryNotFoundError otherwise).
    http = exc
    while http is not None and getattr(http, "response", None) is None:
        http = http.__cause__
    out({"sha256": None, "error": type(exc).__name__, "cause": type(http).__name__,
         "status": getattr(getattr(http, "response", None), "status_code", None),
         "message": str(http)})
"""


def download(sandbox, tmp_path, file: str, *, xet: bool = True) -> dict:
    return run_hf(sandbox, DOWNLOAD, {"file": file, "dest": str(tmp_path / "dl")}, xet=xet)


def test_storage_lock_blocks_api_downloads_while_git_still_works(seeded, tmp_path):
    fault = add_fault(seeded, kind="storage_lock", repo="alice/faulty")
    got = download(seeded, tmp_path, "big.bin")
    assert (got["cause"], got["status"]) == ("HfHubHTTPError", 403)
    assert "storage is locked" in got["message"]
    # Metadata stays readable; only downloads are locked.
    assert run_hf(seeded, 'out(api.model_info("alice/faulty").id)') == "alice/faulty"

    dest = tmp_path / "clone"
    git(
        "clone",
        "--depth",
        "1",
        clone_url(seeded, "alice/faulty"),
        str(dest),
        env={"GIT_LFS_SKIP_SMUDGE": "1"},
    )
    git("lfs", "pull", cwd=dest)
    tree = read_tree(dest)
    assert (tree["big.bin"], tree["small.txt"]) == (BIG, SMALL)

    listed = world.admin(seeded, "/faults", method="GET")["faults"]
    assert [(f["id"], f["kind"]) for f in listed] == [(fault["id"], "storage_lock")]
    assert listed[0]["fired"] >= 1
    world.admin(seeded, f"/faults/{fault['id']}", method="DELETE")
    assert download(seeded, tmp_path, "big.bin")["sha256"] == sha256(BIG)


def test_rate_limit_with_retry_after_is_honoured_by_the_client(seeded):
    seq = last_seq(seeded)
    add_fault(seeded, kind="rate_limit", count=2, retry_after=1, path="/preupload/")
    run_hf(
        seeded,
        """
        out(api.upload_file(path_or_fileobj=b"after 429", path_in_repo="rl.txt",
                            repo_id="alice/faulty").oid)
    """,
    )
    calls = [c for c in log_since(seeded, seq, method="POST") if "/preupload/" in c["path"]]
    assert [c["status"] for c in calls] == [429, 429, 200]
    for refused, retry in zip(calls, calls[1:], strict=False):
        assert retry["t_received"] - refused["t_done"] >= 1.0  # waited at least Retry-After


def test_server_error_burst(seeded):
    seq = last_seq(seeded)
    add_fault(seeded, kind="server_error", count=1, status=503, path="/preupload/")
    run_hf(
        seeded,
        """
        out(api.upload_file(path_or_fileobj=b"after 503", path_in_repo="5xx.txt",
                            repo_id="alice/faulty").oid)
    """,
    )
    calls = [c for c in log_since(seeded, seq, method="POST") if "/preupload/" in c["path"]]
    assert [(c["status"], c["fault"]) for c in calls] == [(503, "server_error"), (200, None)]
    # Calls the client does not retry surface the 5xx to the caller.
    add_fault(seeded, kind="server_error", count=1, status=500, path="^/api/models/alice/faulty$")
    got = run_hf(
        seeded,
        """
        first = outcome(api.model_info, "alice/faulty")
        out([first, outcome(api.model_info, "alice/faulty")])
    """,
    )
    assert got == ["HfHubHTTPError:500", "ok"]


def test_dropped_connection_is_resumed_by_the_client(seeded, tmp_path):
    seq = last_seq(seeded)
    add_fault(seeded, kind="drop", file="huge.bin", after_bytes=11_000_000, count=1)
    # Byte faults bite the Hub's HTTP downloads; a Xet client fetches from the CAS instead.
    assert download(seeded, tmp_path, "huge.bin", xet=False)["sha256"] == sha256(HUGE)
    # The bytes come from the CDN the LFS file's resolve redirects to (hf_bridge.py).
    gets = log_since(seeded, seq, method="GET", route="bridge")
    assert [(g["status"], g["bytes_out"], g["range"], g["fault"]) for g in gets] == [
        (200, 11_000_000, None, "drop"),
        (206, len(HUGE) - CLIENT_CHUNK, f"bytes={CLIENT_CHUNK}-", None),
    ]


def test_corrupted_byte_is_detected_by_hashing(seeded, tmp_path):
    add_fault(seeded, kind="corrupt", file="big.bin", count=1)
    got = download(seeded, tmp_path, "big.bin", xet=False)
    # The client checks only the size: the corruption shows in the content hash.
    assert got["error"] is None and got["sha256"] != sha256(BIG)
    data = (tmp_path / "dl" / "big.bin").read_bytes()
    assert len(data) == len(BIG)
    assert sum(a != b for a, b in zip(data, BIG, strict=True)) == 1
    assert download(seeded, tmp_path, "big.bin", xet=False)["sha256"] == sha256(BIG)  # only once


def test_added_latency_shows_in_the_request_log(seeded):
    seq = last_seq(seeded)
    add_fault(seeded, kind="latency", ms=300, count=1, path="^/api/whoami-v2$")
    assert run_hf(seeded, 'out([api.whoami()["name"], api.whoami()["name"]])') == ["alice", "alice"]
    delays = [e["t_dispatched"] - e["t_received"] for e in log_since(seeded, seq, route="whoami")]
    assert len(delays) == 2
    assert delays[0] >= 0.3 and delays[1] < 0.3


def test_platform_scoping_and_admin_errors(seeded, tmp_path):
    add_fault(seeded, kind="server_error", count=5, platform="ms")
    assert download(seeded, tmp_path, "small.txt")["sha256"] == sha256(SMALL)
    req = urllib.request.Request(
        seeded["admin"] + "/faults", method="POST", data=json.dumps({"kind": "nonsense"}).encode()
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400
    stats = world.admin(seeded, "/stats", method="GET")
    assert stats["hf"]["bytes_sent"] >= len(SMALL) and stats["hf"]["routes"]["resolve"] >= 1


MS_ROUND = """
import json, sys
A = json.loads(sys.argv[1])
def out(obj):
    print("RESULT " + json.dumps(obj), flush=True)
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download
api = HubApi()
if A["create"]:
    api.create_model("alice/ms-faulty", visibility=5, license="apache-2.0")
    api.upload_folder(repo_id="alice/ms-faulty", folder_path=A["src"], repo_type="model")
try:
    path = snapshot_download("alice/ms-faulty", local_dir=A["dst"])
    data = open(f"{path}/w.bin", "rb").read()
    out({"sha256": __import__("hashlib").sha256(data).hexdigest(), "error": None})
except Exception as exc:
    out({"sha256": None, "error": f"{type(exc).__name__}: {exc}"})
"""


def run_ms(sandbox, args: dict) -> dict:
    env = {**os.environ, **world.ms_env(sandbox)}
    proc = subprocess.run(
        [str(world.PYTHON), "-c", MS_ROUND, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=world.ROOT,
    )
    lines = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        pytest.fail(f"modelscope snippet failed: {proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def test_faults_bite_the_modelscope_side_too(seeded, tmp_path):
    data = bytes(range(256)) * 4096
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "w.bin").write_bytes(data)
    args = {"src": str(tmp_path / "src"), "dst": str(tmp_path / "dst"), "create": True}
    assert run_ms(seeded, args)["sha256"] == sha256(data)
    seq = last_seq(seeded)
    add_fault(seeded, kind="corrupt", file="w.bin", platform="ms", count=1)
    add_fault(seeded, kind="rate_limit", platform="ms", count=1, retry_after=1, path="/repo/files$")
    got = run_ms(seeded, {**args, "create": False, "dst": str(tmp_path / "dst2")})
    ms_log = log_since(seeded, seq, platform="ms")
    faults = [e["fault"] for e in ms_log if e["fault"]]
    assert sorted(faults) == ["corrupt", "rate_limit"]
    # The modelscope client checks sha256 and downloads the corrupted file again.
    assert got["sha256"] == sha256(data), got
