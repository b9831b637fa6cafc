"""Faults of the hub sandbox on ModelScope paths, observed through the official `modelscope` client.

Each test switches one fault on through the admin endpoint, runs a normal client operation that
must still succeed byte-identically (the client retries, resumes or re-downloads), and checks in the
sandbox's request log that the fault really fired on the MS port.
"""

from __future__ import annotations

import hashlib
import random

import pytest
import world
from test_sandbox_ms import admin_get, read_tree, run_client, write_tree

BIG = random.Random(11).randbytes(3 * 1000 * 1000)
FILES = {"config.json": b'{"faults": true}', "weights/big.bin": BIG, "notes/a b.txt": b"x\n"}


@pytest.fixture(scope="module")
def source_repo(sandbox, tmp_path_factory):
    src = tmp_path_factory.mktemp("fault-src")
    write_tree(src, FILES)
    run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/faulty", visibility=1)
        api.upload_folder(repo_id="alice/faulty", folder_path=A["src"], repo_type="model")
        out("ok")
    """,
        {"src": str(src)},
    )
    return "alice/faulty"


@pytest.fixture(autouse=True)
def no_faults_left(sandbox):
    yield
    world.admin(sandbox, "/faults", method="DELETE")


def add_fault(sandbox, **spec) -> int:
    """Switches a fault on; returns the request-log position to look for its effects after."""
    since = admin_get(sandbox, "/requests?platform=ms")["requests"]
    world.admin(sandbox, "/faults", {"platform": "ms", **spec})
    return since[-1]["seq"] if since else 0


def requests_since(sandbox, since: int) -> list[dict]:
    return admin_get(sandbox, f"/requests?platform=ms&since={since}")["requests"]


DOWNLOAD = """
from modelscope.hub.snapshot_download import snapshot_download
out(snapshot_download(A["repo"], local_dir=A["dst"]))
"""


def download_ok(sandbox, repo, dst):
    run_client(sandbox, DOWNLOAD, {"repo": repo, "dst": str(dst)})
    assert read_tree(dst) == FILES


def file_requests(log, name):
    return [
        r
        for r in log
        if r["path"].endswith("/repo") and f"FilePath={name}" in r["query"].replace("%2F", "/")
    ]


def test_rate_limit_with_retry_after_is_honoured(sandbox, source_repo, tmp_path):
    since = add_fault(sandbox, kind="rate_limit", path=r"/repo$", count=2, retry_after=1)
    download_ok(sandbox, source_repo, tmp_path / "dst")
    statuses = [r["status"] for r in requests_since(sandbox, since) if r["path"].endswith("/repo")]
    assert statuses.count(429) == 2 and statuses[-1] == 200


def test_server_error_bursts_on_listing_commit_and_blob_put(sandbox, source_repo, tmp_path):
    since = add_fault(sandbox, kind="server_error", path=r"/repo/files$", count=1, status=503)
    download_ok(sandbox, source_repo, tmp_path / "dst")
    listed = [
        r["status"] for r in requests_since(sandbox, since) if r["path"].endswith("/repo/files")
    ]
    assert listed[0] == 503 and listed[-1] == 200

    new = {"more/blob.bin": random.Random(3).randbytes(200_000), "more/inline.json": b"{}"}
    write_tree(tmp_path / "up", new)
    since = add_fault(
        sandbox,
        kind="server_error",
        path=r"/info/lfs/objects/[0-9a-f]{64}$",
        method="PUT",
        count=1,
        status=500,
    )
    world.admin(
        sandbox,
        "/faults",
        {"platform": "ms", "kind": "server_error", "path": r"/commit/", "count": 1, "status": 502},
    )
    listed = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/faulty-upload", visibility=1)
        api.upload_folder(repo_id="alice/faulty-upload", folder_path=A["up"], repo_type="model")
        out({f.path: f.sha256 for f in api.list_repo_files("alice/faulty-upload", "model")})
    """,
        {"up": str(tmp_path / "up")},
    )
    assert {p: listed[p] for p in new} == {p: hashlib.sha256(d).hexdigest() for p, d in new.items()}
    log = requests_since(sandbox, since)
    puts = [r["status"] for r in log if r["method"] == "PUT"]
    commits = [r["status"] for r in log if "/commit/" in r["path"]]
    assert puts[0] == 500 and puts[-1] == 200
    assert commits[0] == 502 and commits[-1] == 200


def test_dropped_connection_is_resumed(sandbox, source_repo, tmp_path):
    since = add_fault(
        sandbox, kind="drop", file="weights/big.bin", repo=source_repo, after_bytes=1_000_000
    )
    download_ok(sandbox, source_repo, tmp_path / "dst")
    big = file_requests(requests_since(sandbox, since), "weights/big.bin")
    # The first answer was cut after 1 MB; the client resumed with a Range request (206).
    assert len(big) >= 2 and big[0]["bytes_out"] == 1_000_000
    assert big[-1]["status"] == 206


def test_corrupted_byte_is_detected_and_refetched(sandbox, source_repo, tmp_path):
    since = add_fault(sandbox, kind="corrupt", file="weights/big.bin", repo=source_repo)
    download_ok(sandbox, source_repo, tmp_path / "dst")
    big = file_requests(requests_since(sandbox, since), "weights/big.bin")
    # The listed Sha256 exposed the flipped byte; the client fetched the file again.
    assert len(big) >= 2 and all(r["status"] == 200 for r in big)
    assert world.admin(sandbox, "/faults", method="GET")["faults"] == []
