"""The hub sandbox's ModelScope side, driven only through the official `modelscope` client.

Every client call runs in a fresh subprocess: `modelscope_hub` reads `MODELSCOPE_ENDPOINT` (and its
download/upload tunables) once per process, when its default config is first built, so setting the
environment in-process after an import would be silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import world

ALICE = world.MS_USERS["alice"]
BOB = world.MS_USERS["bob"]
WRONG_TOKEN = "ms-not-a-known-token-000000000000000"

# Runs before every client snippet: parameters arrive as JSON in argv[1] (tokens only ever in the
# environment), and the snippet reports back through one `RESULT <json>` line on stdout.
PRELUDE = """
import json, sys, warnings
warnings.simplefilter("ignore")
A = json.loads(sys.argv[1])
def out(obj):
    print("RESULT " + json.dumps(obj), flush=True)
def outcome(fn, *a, **kw):
    try:
        fn(*a, **kw)
        return "ok"
    except Exception as exc:
        return type(exc).__name__
"""


def run_client(
    sandbox,
    code: str,
    args: dict | None = None,
    *,
    token: str | None = ALICE,
    env: dict | None = None,
    timeout: float = 120,
) -> object:
    """Runs a snippet of official-client code against the sandbox and returns what it `out()`s."""
    full_env = {**os.environ, **world.ms_env(sandbox, token), **(env or {})}
    if token is None:
        full_env.pop("MODELSCOPE_API_TOKEN", None)
    proc = subprocess.run(
        [str(world.PYTHON), "-c", PRELUDE + textwrap.dedent(code), json.dumps(args or {})],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=world.ROOT,
    )
    results = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not results:
        pytest.fail(
            f"client snippet failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}\nsandbox log: {sandbox.log_path}"
        )
    return json.loads(results[-1])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_tree(root: Path, skip_files=(".gitattributes",)) -> dict[str, bytes]:
    skip = {".msc", ".mv", ".mdl", "._____temp", ".cache"}
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not (set(rel.split("/")) & skip) and rel not in skip_files:
            out[rel] = path.read_bytes()
    return out


def sample_files(seed: int) -> dict[str, bytes]:
    """Nested folders, unicode and spaces, an empty file, inline and LFS-size (one > 10 MB)."""
    rnd = random.Random(seed)
    return {
        "README.md": b"---\nlicense: apache-2.0\n---\n# sample\n",
        "config.json": json.dumps({"seed": seed}).encode(),
        "empty.txt": b"",
        "nested/deeper/leaf.txt": b"leaf\n",
        "nested/deeper/\u00fcn\u00efc\u00f6d\u00e9 \u540d\u5b57.txt": "\u4f60\u597d\n".encode(),
        "with space/file name.json": b'{"k": "v"}',
        "weights/small.bin": rnd.randbytes(3000),
        "weights/medium part.bin": rnd.randbytes(100 * 1024),
        "weights/model.safetensors": rnd.randbytes(11 * 1000 * 1000),
    }


def admin_get(sandbox, path: str):
    with urllib.request.urlopen(sandbox["admin"] + path, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


# --------------------------------------------------------------------------------------------
# Auth


def test_login_persists_session_and_whoami(sandbox, tmp_path):
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        git_token, cookies = api.login(A["token"])
        me = HubApi().whoami()
        out({"cookie": cookies.get("m_session_id") == A["token"], "user": me.username,
             "git_token": bool(git_token)})
    """,
        {"token": ALICE},
        token=None,
    )
    assert result == {"cookie": True, "user": "alice", "git_token": True}
    # The login is persisted: a later process without MODELSCOPE_API_TOKEN is still alice.
    assert (
        run_client(
            sandbox,
            """
        from modelscope.hub.api import HubApi
        out(HubApi().whoami().username)
    """,
            token=None,
        )
        == "alice"
    )


def test_wrong_token_refused(sandbox):
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        out({"login": outcome(HubApi().login, A["bad"]),
             "whoami": outcome(HubApi(token=A["bad"]).whoami)})
    """,
        {"bad": WRONG_TOKEN},
        token=None,
    )
    assert result == {"login": "AuthenticationError", "whoami": "AuthenticationError"}
    req = urllib.request.Request(
        sandbox["ms_endpoint"] + "/openapi/v1/users/me",
        headers={"Authorization": f"Bearer {WRONG_TOKEN}"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 401


# --------------------------------------------------------------------------------------------
# Round trips


ROUND_TRIP = """
from pathlib import Path
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download, dataset_snapshot_download
api = HubApi()
repo, kind = A["repo"], A["kind"]
if kind == "model":
    api.create_model(repo, visibility=1, license="apache-2.0")
else:
    owner, name = repo.split("/")
    api.create_dataset(name, owner, visibility=1)
api.upload_folder(repo_id=repo, folder_path=A["src"], commit_message="first", repo_type=kind)
listed = {f.path: {"size": f.size, "sha256": f.sha256}
          for f in api.list_repo_files(repo, kind) if f.type != "tree"}
gitattributes = listed.pop(".gitattributes", None)
if kind == "model":
    path = snapshot_download(repo, local_dir=A["dst"])
else:
    path = dataset_snapshot_download(repo, local_dir=A["dst"])
out({"listed": listed, "path": str(path), "exists": api.repo_exists(repo, repo_type=kind),
     "gitattributes": bool(gitattributes)})
"""


@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_round_trip_is_byte_identical(sandbox, tmp_path, kind):
    files = sample_files(seed=1 if kind == "model" else 2)
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_tree(src, files)
    repo = f"alice/round-trip-{kind}"
    result = run_client(
        sandbox, ROUND_TRIP, {"repo": repo, "kind": kind, "src": str(src), "dst": str(dst)}
    )
    assert result["exists"] is True
    # A new ModelScope repo starts with its default .gitattributes.
    assert result["gitattributes"] is True
    assert result["listed"] == {p: {"size": len(d), "sha256": sha256(d)} for p, d in files.items()}
    assert read_tree(dst) == files


def test_ranged_parallel_download(sandbox, tmp_path):
    """Forces the client's parallel range download (206 + Content-Range) on a 12 MB file."""
    data = random.Random(7).randbytes(12 * 1000 * 1000)
    write_tree(tmp_path / "src", {"big.bin": data, "config.json": b"{}"})
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model(A["repo"], visibility=5)
        api.upload_folder(repo_id=A["repo"], folder_path=A["src"], repo_type="model")
        size = {f.path: f.size for f in api.list_repo_files(A["repo"], "model")}["big.bin"]
        p = api.download_file(A["repo"], "model", "big.bin", local_dir=A["dst"], file_size=size)
        out(str(p))
    """,
        {"repo": "alice/ranged", "src": str(tmp_path / "src"), "dst": str(tmp_path / "dst")},
        env={
            "MODELSCOPE_DOWNLOAD_PARALLEL_THRESHOLD_MB": "1",
            "MODELSCOPE_DOWNLOAD_PARALLEL_WORKERS": "4",
        },
    )
    assert Path(result).read_bytes() == data
    # A raw ranged request answers 206 with the exact slice and Content-Range.
    query = "Revision=master&FilePath=big.bin"
    url = f"{sandbox['ms_endpoint']}/api/v1/models/alice/ranged/repo?{query}"
    req = urllib.request.Request(
        url, headers={"Range": "bytes=100-199", "Authorization": f"Bearer {ALICE}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert resp.read() == data[100:200]


def test_dataset_listing_pages_and_numeric_id(sandbox, tmp_path):
    files = {f"rows/part-{i:04d}.csv": f"{i}\n".encode() for i in range(230)}
    write_tree(tmp_path / "src", files)
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_dataset("paged", "alice", visibility=5)
        api.upload_folder(repo_id="alice/paged", folder_path=A["src"], repo_type="dataset")
        full = [f.path for f in api.list_repo_files("alice/paged", "dataset")]
        pages = [api.get_dataset_files("alice/paged", page_number=n, page_size=100)
                 for n in (1, 2, 3, 4)]
        out({"full": full, "pages": [[f["Path"] for f in page] for page in pages]})
    """,
        {"src": str(tmp_path / "src")},
    )
    assert sorted(p for p in result["full"] if p in files) == sorted(files)
    pages = result["pages"]
    assert [len(page) for page in pages[:2]] == [100, 100]
    assert 0 < len(pages[2]) < 100 and pages[3] == []
    paged = [p for page in pages for p in page]
    assert len(paged) == len(set(paged))
    assert set(files) <= set(paged)


def test_listing_by_owner(sandbox):
    result = run_client(
        sandbox,
        """
        import os
        from modelscope.hub.api import HubApi
        api = HubApi()
        for i in range(3):
            api.create_model(f"alice/listed-{i}", visibility=5)
        api.create_model("alice/listed-private", visibility=1)
        pages, n = [], 1
        while True:
            page = api.list_repos("model", owner="alice", page_number=n, page_size=2)
            pages.append([r.repo_id for r in page.items])
            if not page.has_next:
                break
            n += 1
        bob = HubApi(token=os.environ["T_BOB"])  # the token reaches the snippet by environment
        seen_by_bob = [r.repo_id for r in bob.list_repos("model", owner="alice", page_size=50)]
        out({"pages": pages, "total": page.total_count, "bob": seen_by_bob})
    """,
        env={"T_BOB": BOB},
    )
    names = [r for page in result["pages"] for r in page]
    assert all(len(page) <= 2 for page in result["pages"])
    assert len(names) == result["total"] == len(set(names))
    assert {f"alice/listed-{i}" for i in range(3)} | {"alice/listed-private"} <= set(names)
    # Bob sees the public ones but never alice's private repo.
    assert "alice/listed-private" not in result["bob"]
    assert "alice/listed-0" in result["bob"]


# --------------------------------------------------------------------------------------------
# Permissions


PROBE_PRIVATE = """
import os
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download
def probe(token, dst):
    api = HubApi(token=token)
    return {"model": api.repo_exists("alice/secret-model", repo_type="model"),
            "dataset": api.repo_exists("alice/secret-data", repo_type="dataset"),
            "get": outcome(api.get_model, "alice/secret-model"),
            "files": outcome(api.list_repo_files, "alice/secret-model", "model"),
            "download": outcome(snapshot_download, "alice/secret-model", local_dir=dst,
                                token=token)}
"""


def test_private_repo_invisible_to_others(sandbox, tmp_path):
    write_tree(tmp_path / "src", {"config.json": b"{}", "w.bin": b"x" * 70000})
    owner = run_client(
        sandbox,
        PROBE_PRIVATE
        + textwrap.dedent("""
        api = HubApi()
        api.create_model("alice/secret-model", visibility=1)
        api.create_dataset("secret-data", "alice", visibility=1)
        for kind, repo in (("model", "alice/secret-model"), ("dataset", "alice/secret-data")):
            api.upload_folder(repo_id=repo, folder_path=A["src"], repo_type=kind)
        out(probe(None, A["dst"]))
    """),
        {"src": str(tmp_path / "src"), "dst": str(tmp_path / "dst")},
    )
    assert owner == {"model": True, "dataset": True, "get": "ok", "files": "ok", "download": "ok"}
    # bob, anonymous and a wrong token, in one process (tokens through the environment).
    others = run_client(
        sandbox,
        PROBE_PRIVATE
        + textwrap.dedent("""
        out({who: probe(os.environ.get(var), f"{A['dst']}-{who}")
             for who, var in (("bob", "T_BOB"), ("anonymous", "T_NONE"), ("wrong", "T_WRONG"))})
    """),
        {"dst": str(tmp_path / "dst")},
        token=None,
        env={"T_BOB": BOB, "T_WRONG": WRONG_TOKEN},
    )
    for who, other in others.items():
        assert other["model"] is False and other["dataset"] is False, who
        assert other["get"] != "ok" and other["files"] != "ok" and other["download"] != "ok", who


def test_writes_outside_own_namespaces_refused(sandbox, tmp_path):
    write_tree(tmp_path / "src", {"config.json": b"{}", "w.bin": b"y" * 70000})
    run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        HubApi().create_model("alice/target", visibility=5)
        out("ok")
    """,
    )
    since = admin_get(sandbox, "/requests?platform=ms")["requests"][-1]["seq"]
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        out({"create": outcome(api.create_model, "alice/bob-was-here", visibility=5),
             "org": outcome(api.create_model, "acme-ms/bob-in-org", visibility=5),
             "upload": outcome(api.upload_folder, repo_id="alice/target",
                               folder_path=A["src"], repo_type="model"),
             "upload_file": outcome(api.upload_file, repo_id="alice/target",
                                    path_or_fileobj=b"{}", path_in_repo="x.json")})
    """,
        {"src": str(tmp_path / "src")},
        token=BOB,
    )
    assert result["create"] == result["org"] == "PermissionDeniedError"
    # upload_folder/upload_file fold per-file failures into their own error types.
    assert result["upload"] != "ok" and result["upload_file"] != "ok"
    refused = {
        (r["method"], r["status"])
        for r in admin_get(sandbox, f"/requests?platform=ms&since={since}")["requests"]
        if "/info/lfs/" in r["path"] or "/commit/" in r["path"]
    }
    assert refused and {status for _, status in refused} == {403}
    # alice is a member of acme-ms: she may create and upload there.
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("acme-ms/org-model", visibility=5)
        api.upload_folder(repo_id="acme-ms/org-model", folder_path=A["src"], repo_type="model")
        out({"org": sorted(f.path for f in api.list_repo_files("acme-ms/org-model", "model")),
             "target": sorted(f.path for f in api.list_repo_files("alice/target", "model")),
             "exists": api.repo_exists("alice/bob-was-here", repo_type="model")})
    """,
        {"src": str(tmp_path / "src")},
    )
    assert result == {
        "org": [".gitattributes", "config.json", "w.bin"],
        "target": [".gitattributes"],
        "exists": False,
    }


def test_create_existing_gated_and_badly_named_repos(sandbox):
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/twice", visibility=5)
        again = outcome(api.create_model, "alice/twice", visibility=5)
        api.create_dataset("twice-data", "alice", visibility=5)
        again_ds = outcome(api.create_dataset, "twice-data", "alice", visibility=5)
        api.create_repo("alice/gated", visibility=1, gated_mode=True)
        gated = api.get_repo("alice/gated", "model")
        public = api.get_repo("alice/twice", "model")
        out({"model": again, "dataset": again_ds,
             "exist_ok": outcome(api.create_repo, "alice/twice", exist_ok=True),
             "bad_name": outcome(api.create_model, "alice/no spaces", visibility=5),
             "gated": [gated.gated, int(gated.visibility)], "public": int(public.visibility)})
    """,
    )
    assert result == {
        "model": "AlreadyExistsError",
        "dataset": "AlreadyExistsError",
        "exist_ok": "ok",
        "bad_name": "InvalidParameter",
        "gated": [True, 1],
        "public": 5,
    }


# --------------------------------------------------------------------------------------------
# Deletion


def test_delete_files_by_commit_and_delete_repo(sandbox, tmp_path):
    files = {
        "config.json": b"{}",
        "keep.txt": b"keep",
        "drop/me.bin": b"z" * 70000,
        "drop/me too.txt": b"bye",
    }
    write_tree(tmp_path / "src", files)
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/deleting", visibility=1)
        api.upload_folder(repo_id="alice/deleting", folder_path=A["src"], repo_type="model")
        api.delete_files("alice/deleting", "model", file_paths=["drop/me.bin", "drop/me too.txt"])
        after = sorted(f.path for f in api.list_repo_files("alice/deleting", "model")
                       if f.type != "tree")
        api.delete_model("alice/deleting")
        out({"after": after, "exists": api.repo_exists("alice/deleting", repo_type="model")})
    """,
        {"src": str(tmp_path / "src")},
    )
    assert result == {"after": [".gitattributes", "config.json", "keep.txt"], "exists": False}


def test_revisions_tags_and_unknown_paths(sandbox, tmp_path):
    write_tree(tmp_path / "v1", {"config.json": b'{"v": 1}'})
    write_tree(tmp_path / "v2", {"config.json": b'{"v": 2}'})
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/revs", visibility=5)
        api.upload_folder(repo_id="alice/revs", folder_path=A["v1"], repo_type="model")
        api.create_model_tag("alice/revs", "v1.0")
        api.upload_folder(repo_id="alice/revs", folder_path=A["v2"], repo_type="model")
        at_tag = api.download_file("alice/revs", "model", "config.json", revision="v1.0",
                                   local_dir=A["dst"])
        out({"revs": api.get_model_branches_and_tags("alice/revs"),
             "at_tag": open(at_tag).read(),
             "missing_repo": outcome(api.get_model, "alice/never-created"),
             "missing_file": outcome(api.download_file, "alice/revs", "model", "nope.txt"),
             "missing_rev": outcome(api.list_repo_files, "alice/revs", "model", revision="v9")})
    """,
        {"v1": str(tmp_path / "v1"), "v2": str(tmp_path / "v2"), "dst": str(tmp_path / "dst")},
    )
    assert result == {
        "revs": [["master"], ["v1.0"]],
        "at_tag": '{"v": 1}',
        "missing_repo": "NotExistError",
        "missing_file": "NotExistError",
        "missing_rev": "NotExistError",
    }


def test_model_listing_past_the_3000_entry_cap(sandbox, tmp_path):
    """`repo/files` stops at 3000 entries like the real hub; the client then re-lists per `Root`."""
    files = {f"d{d}/f{i:04d}.txt": f"{d}-{i}\n".encode() for d in range(4) for i in range(760)}
    write_tree(tmp_path / "src", files)
    result = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/many-files", visibility=5)
        api.upload_folder(repo_id="alice/many-files", folder_path=A["src"], repo_type="model")
        out({"all": [f.path for f in api.list_repo_files("alice/many-files", "model")
                     if f.type != "tree"],
             "top": sorted(f["Path"] for f in api.get_model_files("alice/many-files",
                                                                  recursive=False))})
    """,
        {"src": str(tmp_path / "src")},
        # Fewer, larger commits (well under the hub's 2000-action limit) keep the test quick.
        env={"MODELSCOPE_UPLOAD_COMMIT_BATCH_MAX_OPERATIONS": "1600"},
    )
    assert sorted(result["all"]) == sorted([".gitattributes", *files])
    assert result["top"] == [".gitattributes", "d0", "d1", "d2", "d3"]
    capped = [
        r
        for r in admin_get(sandbox, "/requests?platform=ms")["requests"]
        if r["path"] == "/api/v1/models/alice/many-files/repo/files"
    ]
    assert any("Root=" in r["query"] for r in capped)


def test_blob_level_calls_of_the_legacy_client(sandbox):
    """validate_blobs / upload_blob / create_commit, the calls a pipelined uploader builds on."""
    result = run_client(
        sandbox,
        """
        import base64, hashlib
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/blobs", visibility=1)
        legacy = api._api.legacy
        data = bytes(range(256)) * 400
        oid = hashlib.sha256(data).hexdigest()
        first = legacy.validate_blobs("alice/blobs", "model", [{"oid": oid, "size": len(data)}])
        legacy.upload_blob(first[oid], data, len(data))
        again = legacy.validate_blobs("alice/blobs", "model", [{"oid": oid, "size": len(data)}])
        commit = legacy.create_commit("alice/blobs", "model", [
            {"action": "create", "path": "w/x.bin", "type": "lfs", "size": len(data),
             "sha256": oid, "content": "", "encoding": ""},
            {"action": "create", "path": "a.txt", "type": "normal", "size": 2, "sha256": "",
             "content": base64.b64encode(b"hi").decode(), "encoding": "base64"}], "blobs")
        missing = "0" * 64
        bad = outcome(legacy.create_commit, "alice/blobs", "model", [
            {"action": "create", "path": "y.bin", "type": "lfs", "size": 5, "sha256": missing,
             "content": "", "encoding": ""}], "bad")
        files = {f.path: (f.size, f.sha256) for f in api.list_repo_files("alice/blobs", "model")}
        out({"first": bool(first[oid]), "again": again[oid], "commit": commit["CommitId"],
             "bad": bad, "files": files, "oid": oid})
    """,
    )
    assert result["first"] is True and result["again"] is None
    assert len(result["commit"]) == 40 and result["bad"] == "InvalidParameter"
    assert result["files"]["w/x.bin"] == [102400, result["oid"]]
    assert result["files"]["a.txt"] == [2, sha256(b"hi")]
    # HEAD of an LFS file: its size and sha256 in the headers, no body.
    query = "Revision=master&FilePath=w/x.bin"
    req = urllib.request.Request(
        f"{sandbox['ms_endpoint']}/api/v1/models/alice/blobs/repo?{query}",
        method="HEAD",
        headers={"Authorization": f"Bearer {ALICE}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Length"] == "102400"
        assert resp.headers["X-Linked-ETag"] == f'"{result["oid"]}"'
        assert resp.read() == b""
    # A blob PUT whose bytes do not hash to the oid is refused (400); for bob the private repo
    # does not exist (404).
    oid = "1" * 64
    put_url = f"{sandbox['ms_endpoint']}/api/v1/repos/models/alice/blobs/info/lfs/objects/{oid}"
    for token, status in ((ALICE, 400), (BOB, 404)):
        req = urllib.request.Request(
            put_url, data=b"12345", method="PUT", headers={"Authorization": f"Bearer {token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == status


def test_restart_on_same_state_keeps_repos(tmp_path):
    """A second sandbox on the same --state serves the repos (and numeric ids) of the first."""
    state = tmp_path / "state"
    files = {"config.json": b"{}", "w/x.bin": random.Random(5).randbytes(80_000)}
    write_tree(tmp_path / "src", files)
    with world.start_sandbox(state) as first:
        before = run_client(
            first,
            """
            from modelscope.hub.api import HubApi
            api = HubApi()
            api.create_dataset("kept", "alice", visibility=1)
            api.upload_folder(repo_id="alice/kept", folder_path=A["src"], repo_type="dataset")
            out(api.get_dataset_id_and_type("kept", "alice")[0])
        """,
            {"src": str(tmp_path / "src")},
        )
    with world.start_sandbox(state) as second:
        after = run_client(
            second,
            """
            from modelscope.hub.api import HubApi
            from modelscope.hub.snapshot_download import dataset_snapshot_download
            api = HubApi()
            dataset_snapshot_download("alice/kept", local_dir=A["dst"])
            out(api.get_dataset_id_and_type("kept", "alice")[0])
        """,
            {"dst": str(tmp_path / "dst")},
        )
    assert after == before
    assert read_tree(tmp_path / "dst") == files
