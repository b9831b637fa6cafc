"""The hub sandbox's Hugging Face side, driven only through the official `huggingface_hub` client.

Round trips (upload then download, byte-identical) for models and datasets; listed sha256 and git
blob ids equal to ones computed here independently; pagination; revisions; visibility, gating
and permissions; restart persistence; multipart LFS uploads.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request

import pytest
import world
from hf_client import (
    BOB,
    WRONG_TOKEN,
    git_blob_id,
    lfs_pointer,
    read_tree,
    run_hf,
    sample_files,
    sha256,
    write_tree,
)


@pytest.fixture(scope="module")
def small_pages(tmp_path_factory):
    """A second sandbox with tiny listing pages and a low multipart threshold."""
    extra = [
        "--page-size",
        "3",
        "--lfs-multipart-threshold",
        "1000000",
        "--lfs-multipart-chunk",
        "300000",
    ]
    svc = world.start_sandbox(tmp_path_factory.mktemp("pages") / "state", extra=extra)
    yield svc
    svc.stop()


def requests_log(sandbox, **filters) -> list[dict]:
    entries = world.admin(sandbox, "/requests", method="GET")["requests"]
    return [e for e in entries if all(e.get(k) == v for k, v in filters.items())]


UPLOAD_AND_DOWNLOAD = """
from huggingface_hub import snapshot_download
repo_id, repo_type = A["repo_id"], A["repo_type"]
api.create_repo(repo_id, repo_type=repo_type, private=A["private"])
commit = api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=A["src"])
snapshot_download(repo_id, repo_type=repo_type, local_dir=A["dest"])
info = api.repo_info(repo_id, repo_type=repo_type, files_metadata=True)
tree = list(api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True))
out({
    "commit": commit.oid, "sha": info.sha, "private": info.private, "gated": info.gated,
    "card": info.card_data.to_dict() if info.card_data else None,
    "used": getattr(info, "used_storage", None),
    "siblings": {s.rfilename: [s.size, s.blob_id, s.lfs.sha256 if s.lfs else None,
                               s.lfs.pointer_size if s.lfs else None] for s in info.siblings},
    "tree": {t.path: [t.blob_id, t.lfs.sha256 if t.lfs else None]
             for t in tree if type(t).__name__ == "RepoFile"},
    "dirs": sorted(t.path for t in tree if type(t).__name__ == "RepoFolder"),
})
"""


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_round_trip_is_byte_identical_with_true_ids(sandbox, tmp_path, repo_type):
    files = sample_files(seed=1 if repo_type == "model" else 2)
    write_tree(tmp_path / "src", files)
    repo_id = f"alice/round-trip-{repo_type}"
    got = run_hf(
        sandbox,
        UPLOAD_AND_DOWNLOAD,
        {
            "repo_id": repo_id,
            "repo_type": repo_type,
            "private": repo_type == "dataset",
            "src": str(tmp_path / "src"),
            "dest": str(tmp_path / "dest"),
        },
    )

    downloaded = read_tree(tmp_path / "dest")
    assert downloaded.pop(".gitattributes").startswith(b"*.7z filter=lfs")
    assert downloaded == files
    assert got["commit"] == got["sha"]
    assert got["private"] is (repo_type == "dataset") and got["gated"] is False
    assert got["card"]["license"] == "apache-2.0"
    assert got["dirs"] == ["dossier é", "nested", "nested/deeper", "weights"]
    for path, data in files.items():
        size, blob_id, lfs_sha, pointer_size = got["siblings"][path]
        assert size == len(data), path
        # Binary samples and .gitattributes patterns go through LFS, text stays inline.
        is_lfs = path.endswith((".safetensors", ".bin", ".dat"))
        assert (lfs_sha is not None) is is_lfs, path
        if is_lfs:
            assert lfs_sha == sha256(data)
            assert blob_id == git_blob_id(lfs_pointer(data))
            assert pointer_size == len(lfs_pointer(data))
        else:
            assert blob_id == git_blob_id(data)
        assert got["tree"][path] == [blob_id, lfs_sha]
    gitattributes = (tmp_path / "dest" / ".gitattributes").read_bytes()
    assert got["used"] == sum(map(len, files.values())) + len(gitattributes)


def test_resolve_headers_range_and_reupload_skips(sandbox, tmp_path):
    files = {"a.txt": b"hello sandbox\n", "big.bin": bytes(range(256)) * 4000}
    write_tree(tmp_path / "src", files)
    got = run_hf(
        sandbox,
        """
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        api.create_repo("alice/headers")
        first = api.upload_folder(repo_id="alice/headers", folder_path=A["src"])
        again = api.upload_folder(repo_id="alice/headers", folder_path=A["src"])
        meta = {p: get_hf_file_metadata(hf_hub_url("alice/headers", p)) for p in A["paths"]}
        out({"first": first.oid, "again": again.oid,
             "meta": {p: [m.commit_hash, m.etag, m.size] for p, m in meta.items()}})
    """,
        {"src": str(tmp_path / "src"), "paths": list(files)},
    )
    # Unchanged files are skipped by oid: no new commit.
    assert got["again"] == got["first"]
    assert got["meta"]["a.txt"] == [got["first"], git_blob_id(files["a.txt"]), len(files["a.txt"])]
    assert got["meta"]["big.bin"] == [got["first"], sha256(files["big.bin"]), len(files["big.bin"])]
    req = urllib.request.Request(
        f"{sandbox['hf_endpoint']}/alice/headers/resolve/main/big.bin",
        headers={"Range": "bytes=1000-1999"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 1000-1999/{len(files['big.bin'])}"
        assert resp.read() == files["big.bin"][1000:2000]


def test_lfs_resolve_redirects_to_another_origin_as_the_hub_does(sandbox, tmp_path):
    """HEAD and GET `resolve` of an LFS file answer 302 with the metadata clients read; the bytes
    are at the `Location`, on another origin, served without the token. A small file is inline."""
    files = {"small.txt": b"inline\n", "w.bin": bytes(range(256)) * 800}
    write_tree(tmp_path / "src", files)
    got = run_hf(
        sandbox,
        """
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        api.create_repo("alice/bridge")
        commit = api.upload_folder(repo_id="alice/bridge", folder_path=A["src"]).oid
        meta = get_hf_file_metadata(hf_hub_url("alice/bridge", "w.bin"))
        out({"commit": commit, "location": meta.location, "size": meta.size, "etag": meta.etag})
    """,
        {"src": str(tmp_path / "src")},
    )
    bridge = sandbox["hf_bridge"]
    assert bridge.split(":")[-1] != sandbox["hf_endpoint"].split(":")[-1], "another origin"
    assert got["location"].startswith(bridge + "/"), got
    assert [got["size"], got["etag"]] == [len(files["w.bin"]), sha256(files["w.bin"])]
    host, port = urllib.parse.urlsplit(sandbox["hf_endpoint"]).netloc.split(":")
    auth = {"Authorization": f"Bearer {world.HF_USERS['alice']}"}
    for method in ("HEAD", "GET"):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request(method, "/alice/bridge/resolve/main/w.bin", headers=auth)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 302, (method, resp.status)
        assert resp.headers["X-Linked-Size"] == str(len(files["w.bin"]))
        assert resp.headers["X-Linked-Etag"] == f'"{sha256(files["w.bin"])}"'
        assert resp.headers["X-Repo-Commit"] == got["commit"]
        assert len(resp.headers["X-Xet-Hash"]) == 64
        assert resp.headers["Location"] == got["location"]
        conn.close()
    with urllib.request.urlopen(got["location"], timeout=30) as resp:
        assert resp.read() == files["w.bin"]
    ranged = urllib.request.Request(got["location"], headers={"Range": "bytes=10-19"})
    with urllib.request.urlopen(ranged, timeout=30) as resp:
        assert resp.status == 206 and resp.read() == files["w.bin"][10:20]
    path, query = got["location"].split("?", 1)
    forged = f"{path.rsplit('/', 1)[0]}/{'0' * 32}?{query}"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(forged, timeout=30)
    assert err.value.code == 403
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/alice/bridge/resolve/main/small.txt")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == files["small.txt"]
    conn.close()


def test_revisions_branches_tags_and_deletions(sandbox, tmp_path):
    got = run_hf(
        sandbox,
        """
        from huggingface_hub import hf_hub_download
        api.create_repo("alice/revs")
        base = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id="alice/revs")
        api.create_branch("alice/revs", branch="dev")
        api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id="alice/revs",
                        revision="dev")
        api.create_tag("alice/revs", tag="v1.0", revision=base.oid)
        api.upload_file(path_or_fileobj=b"x", path_in_repo="dir/x.txt", repo_id="alice/revs")
        api.upload_file(path_or_fileobj=b"y", path_in_repo="dir/y.txt", repo_id="alice/revs")
        api.delete_folder("dir", repo_id="alice/revs")
        refs = api.list_repo_refs("alice/revs")
        read = lambda rev: open(hf_hub_download("alice/revs", "f.txt", revision=rev), "rb").read()
        out({
            "branches": sorted(b.name for b in refs.branches),
            "tags": [t.name for t in refs.tags],
            "dev": read("dev").decode(),
            "tag": read("v1.0").decode(),
            "main": read("main").decode(),
            "by_sha": api.model_info("alice/revs", revision=base.oid).sha == base.oid,
            "files": api.list_repo_files("alice/revs"),
            "commits": len(api.list_repo_commits("alice/revs")),
            "missing_rev": outcome(api.model_info, "alice/revs", revision="nope"),
            "missing_file": outcome(hf_hub_download, "alice/revs", "nope.txt"),
        })
    """,
    )
    assert got["branches"] == ["dev", "main"] and got["tags"] == ["v1.0"]
    assert (got["dev"], got["tag"], got["main"]) == ("v2", "v1", "v1")
    assert got["by_sha"] is True
    assert got["files"] == [".gitattributes", "f.txt"]
    assert got["commits"] == 5  # initial, f.txt, x, y, delete
    assert got["missing_rev"].startswith("RevisionNotFoundError")
    assert got["missing_file"].startswith(("EntryNotFoundError", "RemoteEntryNotFoundError"))


def test_concurrent_commits_keep_every_file(sandbox):
    got = run_hf(
        sandbox,
        """
        from concurrent.futures import ThreadPoolExecutor
        api.create_repo("alice/concurrent")
        def put(i):
            api.upload_file(path_or_fileobj=f"file {i}".encode(), path_in_repo=f"f{i}.txt",
                            repo_id="alice/concurrent")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(16)))
        out(sorted(api.list_repo_files("alice/concurrent")))
    """,
    )
    assert got == sorted([".gitattributes"] + [f"f{i}.txt" for i in range(16)])


def test_permissions_visibility_and_tokens(sandbox):
    run_hf(
        sandbox,
        """
        api.create_repo("alice/secret", private=True)
        api.create_repo("alice/open")
        api.upload_file(path_or_fileobj=b"s", path_in_repo="s.txt", repo_id="alice/secret")
        api.create_repo("acme/org-model")  # alice is a member of acme
        out(True)
    """,
    )
    as_bob = run_hf(
        sandbox,
        """
        from huggingface_hub import hf_hub_download
        out({
            "whoami": api.whoami()["name"],
            "info": outcome(api.model_info, "alice/secret"),
            "download": outcome(hf_hub_download, "alice/secret", "s.txt"),
            "listed": [m.id for m in api.list_models(author="alice")],
            "create_other": outcome(api.create_repo, "alice/by-bob"),
            "create_org": outcome(api.create_repo, "acme/by-bob"),
            "write_other": outcome(api.upload_file, path_or_fileobj=b"x", path_in_repo="x",
                                   repo_id="alice/open"),
            "delete_other": outcome(api.delete_repo, "alice/open"),
            "exists": api.repo_exists("alice/secret"),
        })
    """,
        token=BOB,
    )
    assert as_bob["whoami"] == "bob"
    assert as_bob["info"] == "RepositoryNotFoundError:404"
    assert as_bob["download"] == "RepositoryNotFoundError:404"
    assert "alice/secret" not in as_bob["listed"] and "alice/open" in as_bob["listed"]
    assert as_bob["create_other"] == "HfHubHTTPError:403"
    assert as_bob["create_org"] == "HfHubHTTPError:403"
    assert as_bob["write_other"] == "HfHubHTTPError:403"
    assert as_bob["delete_other"] == "HfHubHTTPError:403"
    assert as_bob["exists"] is False

    anonymous = run_hf(
        sandbox,
        """
        out({"secret": outcome(api.model_info, "alice/secret"),
             "open": api.model_info("alice/open").id})
    """,
        token=None,
    )
    assert anonymous == {"secret": "RepositoryNotFoundError:401", "open": "alice/open"}

    wrong = run_hf(
        sandbox,
        """
        out({"whoami": outcome(api.whoami), "info": outcome(api.model_info, "alice/open")})
    """,
        token=WRONG_TOKEN,
    )
    assert wrong["whoami"].endswith(":401") and wrong["info"].endswith(":401")

    # Visibility changes through the client; bob sees the repo once it is public.
    run_hf(sandbox, 'api.update_repo_settings("alice/secret", private=False); out(1)')
    assert run_hf(sandbox, 'out(api.model_info("alice/secret").private)', token=BOB) is False


def test_gated_repo_answers_like_the_hub(sandbox):
    got = run_hf(
        sandbox,
        """
        api.create_repo("alice/gated")
        api.upload_file(path_or_fileobj=b"g", path_in_repo="g.txt", repo_id="alice/gated")
        api.update_repo_settings("alice/gated", gated="auto")
        from huggingface_hub import hf_hub_download
        out({"gated": api.model_info("alice/gated").gated,
             "owner": outcome(hf_hub_download, "alice/gated", "g.txt")})
    """,
    )
    assert got == {"gated": "auto", "owner": "ok"}
    code = """
        from huggingface_hub import hf_hub_download
        out({"info": api.model_info("alice/gated").gated,
             "download": outcome(hf_hub_download, "alice/gated", "g.txt"),
             "auth_check": outcome(api.auth_check, "alice/gated")})
    """
    bob = run_hf(sandbox, code, token=BOB)
    assert bob == {
        "info": "auto",
        "download": "GatedRepoError:403",
        "auth_check": "GatedRepoError:403",
    }
    assert run_hf(sandbox, code, token=None)["download"] == "GatedRepoError:401"
    # The owner grants bob access through the client; revoking goes through the admin endpoint.
    granted = run_hf(
        sandbox,
        """
        api.grant_access("alice/gated", "bob")
        out([r.username for r in api.list_accepted_access_requests("alice/gated")])
    """,
    )
    assert granted == ["bob"]
    assert run_hf(sandbox, code, token=BOB)["download"] == "ok"
    world.admin(
        sandbox,
        "/repos/settings",
        {"platform": "hf", "type": "model", "id": "alice/gated", "gated_users": []},
    )
    assert run_hf(sandbox, code, token=BOB)["download"] == "GatedRepoError:403"


def test_pagination_of_tree_listing_and_commits(small_pages, tmp_path):
    files = {f"d/file{i:02d}.txt": f"{i}".encode() for i in range(10)}
    write_tree(tmp_path / "src", files)
    got = run_hf(
        small_pages,
        """
        for i in range(5):
            api.create_repo(f"alice/paged-{i}", private=i == 4)
        api.upload_folder(repo_id="alice/paged-0", folder_path=A["src"])
        tree = [t.path for t in api.list_repo_tree("alice/paged-0", recursive=True)]
        out({"tree": tree, "models": [m.id for m in api.list_models(author="alice")],
             "files": api.list_repo_files("alice/paged-0")})
    """,
        {"src": str(tmp_path / "src")},
    )
    assert got["tree"] == [".gitattributes", "d"] + sorted(files)
    assert got["files"] == [".gitattributes"] + sorted(files)
    assert got["models"] == [f"alice/paged-{i}" for i in range(5)]
    tree_pages = requests_log(small_pages, route="tree", status=200)
    assert len(tree_pages) >= 2 * 4  # 12 entries in pages of 3, listed twice
    assert len(requests_log(small_pages, route="list", status=200)) == 2  # 5 models, pages of 3


def test_multipart_lfs_upload(small_pages, tmp_path):
    data = __import__("random").Random(7).randbytes(2_500_000)
    (tmp_path / "big.bin").write_bytes(data)
    got = run_hf(
        small_pages,
        """
        from huggingface_hub import hf_hub_download
        api.create_repo("alice/multipart")
        api.upload_file(path_or_fileobj=A["src"], path_in_repo="big.bin", repo_id="alice/multipart")
        out(hf_hub_download("alice/multipart", "big.bin", local_dir=A["dest"]))
    """,
        {"src": str(tmp_path / "big.bin"), "dest": str(tmp_path / "dest")},
        xet=False,  # multipart is the LFS batch API's
    )
    assert open(got, "rb").read() == data
    assert len(requests_log(small_pages, route="lfs-part", status=200)) == 9  # ceil(2.5M / 300k)
    assert len(requests_log(small_pages, route="lfs-complete", status=200)) == 1


def test_restart_keeps_repos(tmp_path):
    state = tmp_path / "state"
    with world.start_sandbox(state) as first:
        sha = run_hf(
            first,
            """
            api.create_repo("alice/persist", private=True)
            out(api.upload_file(path_or_fileobj=b"kept\\n" * 1000, path_in_repo="k.bin",
                                repo_id="alice/persist").oid)
        """,
        )
        assert first.stop() == 0  # SIGTERM stops it cleanly
    with world.start_sandbox(state) as second:
        got = run_hf(
            second,
            """
            from huggingface_hub import hf_hub_download
            info = api.model_info("alice/persist")
            out({"sha": info.sha, "private": info.private,
                 "data": open(hf_hub_download("alice/persist", "k.bin"), "rb").read().decode()})
        """,
        )
        assert got == {"sha": sha, "private": True, "data": "kept\n" * 1000}
        run_hf(second, 'api.delete_repo("alice/persist"); out(1)')
        assert run_hf(second, 'out(outcome(api.model_info, "alice/persist"))') == (
            "RepositoryNotFoundError:404"
        )


def test_spaces_and_listing_by_author(sandbox):
    got = run_hf(
        sandbox,
        """
        api.create_repo("alice/a-space", repo_type="space", space_sdk="static")
        api.upload_file(path_or_fileobj=b"<html></html>", path_in_repo="index.html",
                        repo_id="alice/a-space", repo_type="space")
        api.create_repo("alice/listed-data", repo_type="dataset")
        out({"spaces": [s.id for s in api.list_spaces(author="alice")],
             "datasets": [d.id for d in api.list_datasets(author="alice")],
             "space_files": api.list_repo_files("alice/a-space", repo_type="space"),
             "exists": api.repo_exists("alice/a-space", repo_type="space")})
    """,
    )
    assert got["spaces"] == ["alice/a-space"]
    assert "alice/listed-data" in got["datasets"]
    assert got["space_files"] == [".gitattributes", "index.html"]
    assert got["exists"] is True


def test_many_files_in_one_commit(sandbox, tmp_path):
    files = {f"shard{i % 7}/item {i:04d}.txt": f"item {i}\n".encode() for i in range(300)}
    write_tree(tmp_path / "src", files)
    got = run_hf(
        sandbox,
        """
        from huggingface_hub import hf_hub_download
        api.create_repo("alice/many-files", repo_type="dataset")
        api.upload_folder(repo_id="alice/many-files", repo_type="dataset", folder_path=A["src"])
        read = lambda p: open(hf_hub_download("alice/many-files", p, repo_type="dataset"),
                              "rb").read().decode()
        out({"files": api.list_repo_files("alice/many-files", repo_type="dataset"),
             "samples": {p: read(p) for p in A["samples"]}})
    """,
        {"src": str(tmp_path / "src"), "samples": sorted(files)[::97]},
    )
    assert got["files"] == [".gitattributes"] + sorted(files)
    assert got["samples"] == {p: files[p].decode() for p in sorted(files)[::97]}


def test_copy_operations_and_paths_info(sandbox):
    got = run_hf(
        sandbox,
        """
        from huggingface_hub import CommitOperationCopy
        api.create_repo("alice/copies")
        api.upload_file(path_or_fileobj=bytes(range(256)) * 100, path_in_repo="w.bin",
                        repo_id="alice/copies")
        api.upload_file(path_or_fileobj=b"text", path_in_repo="a.txt", repo_id="alice/copies")
        api.create_commit("alice/copies", commit_message="copy", operations=[
            CommitOperationCopy("w.bin", "copy/w2.bin"),
            CommitOperationCopy("a.txt", "copy/a.txt"),
        ])
        info = api.get_paths_info("alice/copies", ["w.bin", "copy/w2.bin", "copy", "nope"])
        out({"paths": [[type(i).__name__, i.path] for i in info],
             "same_lfs": info[0].lfs.sha256 == info[1].lfs.sha256,
             "exists": [api.file_exists("alice/copies", "copy/a.txt"),
                        api.file_exists("alice/copies", "nope"),
                        api.revision_exists("alice/copies", "nope")]})
    """,
    )
    assert got["paths"] == [
        ["RepoFile", "w.bin"],
        ["RepoFile", "copy/w2.bin"],
        ["RepoFolder", "copy"],
    ]
    assert got["same_lfs"] is True
    assert got["exists"] == [True, False, False]
