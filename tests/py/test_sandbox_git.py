"""git smart HTTP + the LFS batch download API of the sandbox's HF side, driven by real git/git-lfs.

Repos are seeded through the official client, then cloned the way the worker's fallback does
(`git clone --depth 1` with GIT_LFS_SKIP_SMUDGE=1, then `git lfs pull`, optionally selective).
"""

from __future__ import annotations

import pytest
import world
from hf_client import (
    ALICE,
    BOB,
    WRONG_TOKEN,
    clone_url,
    git,
    lfs_pointer,
    read_tree,
    run_hf,
    sample_files,
    write_tree,
)

FILES = sample_files(seed=11)
LFS_PATHS = {"weights/model.safetensors", "weights/other data.bin", "blob.dat"}
SKIP_SMUDGE = {"GIT_LFS_SKIP_SMUDGE": "1"}


@pytest.fixture(scope="module")
def seeded(sandbox, tmp_path_factory):
    src = tmp_path_factory.mktemp("git-src")
    write_tree(src, FILES)
    run_hf(
        sandbox,
        """
        for repo_id, repo_type, private in A["repos"]:
            api.create_repo(repo_id, repo_type=repo_type, private=private,
                            space_sdk="static" if repo_type == "space" else None)
            api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=A["src"])
        api.update_repo_settings("alice/git-gated", gated="manual")
        out(True)
    """,
        {
            "src": str(src),
            "repos": [
                ["alice/git-model", "model", False],
                ["alice/git-data", "dataset", True],
                ["alice/git-space", "space", False],
                ["alice/git-gated", "model", False],
            ],
        },
    )
    return sandbox


def without_gitattributes(tree: dict[str, bytes]) -> dict[str, bytes]:
    return {p: d for p, d in tree.items() if p != ".gitattributes"}


def test_shallow_clone_skip_smudge_then_lfs_pull(seeded, tmp_path):
    dest = tmp_path / "clone"
    git("clone", "--depth", "1", clone_url(seeded, "alice/git-model"), str(dest), env=SKIP_SMUDGE)
    assert git("rev-parse", "--is-shallow-repository", cwd=dest).stdout.strip() == "true"
    pointers = without_gitattributes(read_tree(dest))
    assert pointers == {p: lfs_pointer(d) if p in LFS_PATHS else d for p, d in FILES.items()}
    git("lfs", "pull", cwd=dest)
    assert without_gitattributes(read_tree(dest)) == FILES


def test_selective_lfs_pull_with_fetchinclude(seeded, tmp_path):
    dest = tmp_path / "clone"
    git(
        "clone",
        "--depth",
        "1",
        clone_url(seeded, "alice/git-model", suffix=".git"),
        str(dest),
        env=SKIP_SMUDGE,
    )
    git("-c", "lfs.fetchinclude=weights/*", "lfs", "pull", cwd=dest)
    got = without_gitattributes(read_tree(dest))
    assert got["weights/model.safetensors"] == FILES["weights/model.safetensors"]
    assert got["weights/other data.bin"] == FILES["weights/other data.bin"]
    assert got["blob.dat"] == lfs_pointer(FILES["blob.dat"])


@pytest.mark.parametrize(
    ("repo_id", "prefix", "suffix"),
    [
        ("alice/git-data", "datasets/", ""),
        ("alice/git-data", "datasets/", ".git"),
        ("alice/git-space", "spaces/", ""),
    ],
)
def test_full_clone_with_smudge(seeded, tmp_path, repo_id, prefix, suffix):
    dest = tmp_path / "clone"
    git("clone", clone_url(seeded, repo_id, prefix=prefix, suffix=suffix), str(dest))
    assert without_gitattributes(read_tree(dest)) == FILES


def test_fetch_picks_up_new_commits(seeded, tmp_path):
    dest = tmp_path / "clone"
    git("clone", "--depth", "1", clone_url(seeded, "alice/git-model"), str(dest), env=SKIP_SMUDGE)
    run_hf(
        seeded,
        """
        api.upload_file(path_or_fileobj=b"later\\n", path_in_repo="later.txt",
                        repo_id="alice/git-model")
        out(True)
    """,
    )
    git("fetch", "--depth", "1", "origin", "main", cwd=dest)
    git("reset", "-q", "--hard", "origin/main", cwd=dest, env=SKIP_SMUDGE)
    assert (dest / "later.txt").read_bytes() == b"later\n"


@pytest.mark.parametrize(
    ("repo_id", "prefix", "token"),
    [
        ("alice/git-data", "datasets/", None),  # private, anonymous
        ("alice/git-data", "datasets/", BOB),  # private, not a member
        ("alice/git-data", "datasets/", WRONG_TOKEN),
        ("alice/git-gated", "", BOB),  # gated, no access granted
        ("alice/does-not-exist", "", ALICE),
    ],
)
def test_clone_refused(seeded, tmp_path, repo_id, prefix, token):
    proc = git(
        "clone",
        clone_url(seeded, repo_id, token=token, prefix=prefix),
        str(tmp_path / "clone"),
        check=False,
    )
    assert proc.returncode != 0
    assert (token or "") == "" or token not in proc.stderr  # git never echoes the token back


def test_push_is_refused(seeded, tmp_path):
    dest = tmp_path / "clone"
    git(
        "clone",
        "--depth",
        "1",
        clone_url(seeded, "alice/git-space", prefix="spaces/"),
        str(dest),
        env=SKIP_SMUDGE,
    )
    (dest / "new.txt").write_text("x")
    git("add", "new.txt", cwd=dest)
    git("commit", "-qm", "x", cwd=dest)
    assert git("push", "origin", "HEAD:main", cwd=dest, check=False).returncode != 0


def test_git_lfs_download_faults(seeded, tmp_path):
    """drop/corrupt faults name repo files, so they bite git-lfs downloads too."""
    dest = tmp_path / "clone"
    git("clone", "--depth", "1", clone_url(seeded, "alice/git-model"), str(dest), env=SKIP_SMUDGE)
    world.admin(seeded, "/faults", method="DELETE")
    seq = max([0] + [e["seq"] for e in world.admin(seeded, "/requests", method="GET")["requests"]])
    world.admin(
        seeded,
        "/faults",
        {
            "faults": [
                {"kind": "drop", "file": "weights/model.safetensors", "after_bytes": 100_000},
                {"kind": "corrupt", "file": "blob.dat", "repo": "alice/git-model"},
            ]
        },
    )
    first = git("lfs", "pull", cwd=dest, check=False)
    entries = world.admin(seeded, f"/requests?since={seq}", method="GET")["requests"]
    assert sorted(e["fault"] for e in entries if e["fault"]) == ["corrupt", "drop"]
    # git-lfs retries the dropped transfer by itself, and rejects the corrupted object by its
    # sha256 (note: its error names the remote URL, token included: callers must redact it).
    assert first.returncode != 0 and "expected OID" in first.stderr
    git("lfs", "pull", cwd=dest)  # the fault was used up: this one completes
    tree = read_tree(dest)
    assert {p: tree[p] for p in FILES} == FILES
