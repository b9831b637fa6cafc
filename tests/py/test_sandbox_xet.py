"""Xet on the sandbox's HF side, driven by the pinned `huggingface_hub` + `hf_xet`, git and git-lfs.

Uploads go through the reference CAS (`local_cas_server`) and never touch the LFS batch API;
files cross between the two storage paths both ways, as on the Hub: a Xet upload downloads
over classic LFS and git-lfs, an LFS upload downloads through Xet.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import urllib.error
import urllib.request

import pytest
import world
from hf_client import ALICE, BOB, clone_url, git, run_hf

XET_FILE = random.Random(21).randbytes(3_000_000)
LFS_FILE = random.Random(22).randbytes(2_000_000)

UPLOAD = """
api.create_repo(A["repo"], private=A.get("private", False), exist_ok=True)
out(api.upload_file(path_or_fileobj=A["src"], path_in_repo=A["path"], repo_id=A["repo"]).oid)
"""

# Downloads one file and says what the Hub's HEAD told the client about it.
DOWNLOAD = """
import hashlib
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
meta = get_hf_file_metadata(hf_hub_url(A["repo"], A["path"]))
local = hf_hub_download(A["repo"], A["path"], local_dir=A["dest"])
out({"sha256": hashlib.sha256(open(local, "rb").read()).hexdigest(),
     "xet_hash": meta.xet_file_data.file_hash if meta.xet_file_data else None,
     "refresh": meta.xet_file_data.refresh_route if meta.xet_file_data else None,
     "etag": meta.etag, "size": meta.size, "commit": meta.commit_hash})
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hf_stats(sandbox) -> dict:
    return world.admin(sandbox, "/stats", method="GET")["hf"]


def routes(sandbox) -> dict[str, int]:
    return {**hf_stats(sandbox)["routes"], "bytes_received": hf_stats(sandbox)["bytes_received"]}


def grew(before: dict[str, int], after: dict[str, int], route: str) -> int:
    return after.get(route, 0) - before.get(route, 0)


def upload(sandbox, tmp_path, repo: str, path: str, data: bytes, *, xet=True, **extra):
    src = tmp_path / f"src-{sha256(data)[:8]}"
    src.write_bytes(data)
    return run_hf(sandbox, UPLOAD, {"repo": repo, "path": path, "src": str(src), **extra}, xet=xet)


def download(sandbox, tmp_path, repo: str, path: str, *, xet=True) -> dict:
    dest = tmp_path / f"dl-{'xet' if xet else 'lfs'}"
    return run_hf(sandbox, DOWNLOAD, {"repo": repo, "path": path, "dest": str(dest)}, xet=xet)


@pytest.fixture(scope="module")
def seeded(sandbox, tmp_path_factory):
    """alice/xet holds one file uploaded through Xet and one uploaded over classic LFS."""
    tmp = tmp_path_factory.mktemp("xet-seed")
    before = routes(sandbox)
    upload(sandbox, tmp, "alice/xet", "weights/xet.bin", XET_FILE)
    after_xet = routes(sandbox)
    upload(sandbox, tmp, "alice/xet", "weights/lfs.bin", LFS_FILE, xet=False)
    after_lfs = routes(sandbox)
    sandbox.extra["seed_routes"] = (before, after_xet, after_lfs)
    return sandbox


def test_xet_upload_never_calls_the_lfs_batch_api(seeded):
    before, after_xet, after_lfs = seeded.extra["seed_routes"]
    assert grew(before, after_xet, "lfs-batch") == 0
    assert grew(before, after_xet, "xet-write-token") >= 1
    assert grew(before, after_xet, "commit") == 1
    # The CAS traffic crosses the HF link (shaped and counted like the Hub's own).
    assert grew(before, after_xet, "xet-xorb") >= 1 and grew(before, after_xet, "xet-shard") >= 1
    assert grew(before, after_xet, "bytes_received") >= len(XET_FILE)  # random: no dedup gain
    # The classic client, for contrast, goes through the batch API and PUTs the object.
    assert grew(after_xet, after_lfs, "lfs-batch") == 1
    assert grew(after_xet, after_lfs, "lfs-upload") == 1
    assert grew(after_xet, after_lfs, "xet-write-token") == 0


def test_xet_upload_downloads_through_xet(seeded, tmp_path):
    before = routes(seeded)
    got = download(seeded, tmp_path, "alice/xet", "weights/xet.bin")
    after = routes(seeded)
    assert got["sha256"] == sha256(XET_FILE)
    assert got["etag"] == sha256(XET_FILE) and got["size"] == len(XET_FILE)
    assert len(got["xet_hash"]) == 64
    assert got["refresh"] == (
        f"{seeded['hf_endpoint']}/api/models/alice/xet/xet-read-token/{got['commit']}"
    )
    # HEADs only: the bytes came from the CAS, not from resolve.
    assert grew(before, after, "xet-read-token") >= 1
    assert grew(before, after, "xet-reconstruction") >= 1 and grew(before, after, "xet-term") >= 1
    gets = [
        e
        for e in world.admin(seeded, "/requests", method="GET")["requests"]
        if e["route"] == "resolve" and e["method"] == "GET"
    ]
    assert not [e for e in gets if e["path"].endswith("/weights/xet.bin")]


def test_xet_upload_downloads_over_classic_lfs(seeded, tmp_path):
    got = download(seeded, tmp_path, "alice/xet", "weights/xet.bin", xet=False)
    assert got["sha256"] == sha256(XET_FILE)


def test_xet_upload_serves_http_ranges(seeded):
    url = f"{seeded['hf_endpoint']}/alice/xet/resolve/main/weights/xet.bin"
    req = urllib.request.Request(url, headers={"Range": "bytes=2000000-2000999"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 2000000-2000999/{len(XET_FILE)}"
        assert resp.read() == XET_FILE[2_000_000:2_001_000]


def test_xet_upload_downloads_with_git_lfs(seeded, tmp_path):
    dest = tmp_path / "clone"
    git("clone", "--depth", "1", clone_url(seeded, "alice/xet"), str(dest))
    assert (dest / "weights" / "xet.bin").read_bytes() == XET_FILE
    assert (dest / "weights" / "lfs.bin").read_bytes() == LFS_FILE


def test_lfs_upload_downloads_through_xet(seeded, tmp_path):
    before = routes(seeded)
    got = download(seeded, tmp_path, "alice/xet", "weights/lfs.bin")
    assert got["sha256"] == sha256(LFS_FILE)
    assert got["xet_hash"] is not None
    assert grew(before, routes(seeded), "xet-read-token") >= 1


def test_listings_carry_the_xet_hash(seeded, tmp_path):
    head = download(seeded, tmp_path, "alice/xet", "weights/xet.bin")["xet_hash"]
    got = run_hf(
        seeded,
        """
        tree = {f.path: f.xet_hash for f in api.list_repo_tree("alice/xet", recursive=True)
                if hasattr(f, "xet_hash")}
        info = {f.path: f.xet_hash for f in api.get_paths_info("alice/xet", list(tree))}
        out({"tree": tree, "info": info})
    """,
    )
    assert got["tree"]["weights/xet.bin"] == head
    assert got["info"] == got["tree"]
    assert got["tree"][".gitattributes"] is None  # not an LFS file: not in Xet


def token_request(sandbox, path: str, token: str | None):
    req = urllib.request.Request(sandbox["hf_endpoint"] + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), None


def test_private_repo_tokens_need_access(sandbox, tmp_path):
    upload(sandbox, tmp_path, "alice/xet-private", "w.bin", XET_FILE[:100_000], private=True)
    read = "/api/models/alice/xet-private/xet-read-token/main"
    status, headers, _ = token_request(sandbox, read, None)
    assert (status, headers["X-Error-Code"]) == (401, "RepoNotFound")
    status, headers, _ = token_request(sandbox, read, BOB)
    assert (status, headers["X-Error-Code"]) == (404, "RepoNotFound")
    status, headers, body = token_request(sandbox, read, ALICE)
    assert status == 200
    assert body["casUrl"] == headers["X-Xet-Cas-Url"] == sandbox["xet_cas"]
    assert body["accessToken"] == headers["X-Xet-Access-Token"]
    assert str(body["exp"]) == headers["X-Xet-Token-Expiration"]
    # Writes need write access; a pull-request upload asks for revision "None".
    write = "/api/models/alice/xet-private/xet-write-token/"
    assert token_request(sandbox, write + "main", BOB)[0] == 404
    assert token_request(sandbox, "/api/models/alice/xet/xet-write-token/main", BOB)[0] == 403
    assert token_request(sandbox, write + "None", ALICE)[0] == 200
    assert token_request(sandbox, write + "no-such-branch", ALICE)[0] == 404


def test_cas_lives_and_dies_with_the_sandbox_and_keeps_its_files(tmp_path):
    state = tmp_path / "state"
    with world.start_sandbox(state) as first:
        upload(first, tmp_path, "alice/kept", "k.bin", LFS_FILE[:500_000])
        cas = first["xet_cas"]
        urllib.request.urlopen(cas + "/health", timeout=10).close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(cas + "/health", timeout=10)
    with world.start_sandbox(state) as again:
        got = download(again, tmp_path, "alice/kept", "k.bin")
        assert got["sha256"] == sha256(LFS_FILE[:500_000]) and got["xet_hash"]


def test_without_xet_the_hub_offers_no_cas(tmp_path):
    with world.start_sandbox(tmp_path / "state", extra=["--no-xet"]) as plain:
        assert plain["xet_cas"] is None
        upload(plain, tmp_path, "alice/plain", "p.bin", LFS_FILE[:200_000], xet=False)
        read = "/api/models/alice/plain/xet-read-token/main"
        assert token_request(plain, read, ALICE)[0] == 404
        got = download(plain, tmp_path, "alice/plain", "p.bin")  # a Xet client falls back
        assert got["sha256"] == sha256(LFS_FILE[:200_000]) and got["xet_hash"] is None


def test_a_missing_cas_server_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        world.sandbox_argv(tmp_path / "state"),
        env={**os.environ, "HUBSANDBOX_CAS_SERVER": str(tmp_path / "no-such-binary")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Xet CAS server" in proc.stderr and "hint: run scripts/setup" in proc.stderr


def term_log(sandbox, since: int) -> list[dict]:
    log = world.admin(sandbox, f"/requests?since={since}&platform=hf", method="GET")["requests"]
    return [e for e in log if e["route"] == "xet-term"]


def with_fault(sandbox, spec: dict, fn):
    """Runs fn() with one fault on; returns (fn's result, the term fetches meanwhile)."""
    since = max(e["seq"] for e in world.admin(sandbox, "/requests", method="GET")["requests"])
    (fault,) = world.admin(sandbox, "/faults", spec)["added"]
    try:
        return fn(), term_log(sandbox, since)
    finally:
        world.admin(sandbox, f"/faults/{fault['id']}", method="DELETE")


def test_a_dropped_term_fetch_is_retried_by_hf_xet(seeded, tmp_path):
    spec = {"kind": "drop", "file": "weights/xet.bin", "repo": "alice/xet", "after_bytes": 100_000}
    got, terms = with_fault(
        seeded, spec, lambda: download(seeded, tmp_path, "alice/xet", "weights/xet.bin")
    )
    assert got["sha256"] == sha256(XET_FILE)
    dropped = [e for e in terms if e["fault"] == "drop"]
    assert len(dropped) == 1 and dropped[0]["bytes_out"] == 100_000
    # The term URLs of the reconstruction answer name the file, so the fault could find it.
    assert "hubsandbox_path=weights%2Fxet.bin" in dropped[0]["query"]
    assert len(terms) > len(dropped)  # fetched again


def test_a_corrupted_term_is_written_by_hf_xet_unnoticed(seeded, tmp_path):
    """hf_xet 1.8.0 checks no chunk hash when it downloads: one flipped xorb byte in flight ends
    as a wrong file with no error. Whoever downloads through Xet must hash what it got."""
    spec = {"kind": "corrupt", "file": "weights/xet.bin", "repo": "alice/xet"}
    got, terms = with_fault(
        seeded, spec, lambda: download(seeded, tmp_path, "alice/xet", "weights/xet.bin")
    )
    assert [e["fault"] for e in terms].count("corrupt") == 1
    assert got["size"] == len(XET_FILE) and got["sha256"] != sha256(XET_FILE)


def test_file_faults_follow_the_repo_the_cas_token_was_for(seeded, tmp_path):
    # Same bytes under another repo: its token names that repo, so alice/xet's fault stays off.
    upload(seeded, tmp_path, "alice/xet-twin", "weights/xet.bin", XET_FILE)
    spec = {"kind": "corrupt", "file": "weights/xet.bin", "repo": "alice/xet"}
    got, terms = with_fault(
        seeded, spec, lambda: download(seeded, tmp_path, "alice/xet-twin", "weights/xet.bin")
    )
    assert got["sha256"] == sha256(XET_FILE)
    assert terms and not [e for e in terms if e["fault"]]
    assert all("hubsandbox_repo=alice%2Fxet-twin" in e["query"] for e in terms)
