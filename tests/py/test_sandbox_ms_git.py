"""git smart HTTP + the LFS download API of the sandbox's ModelScope side, driven by real git and
git-lfs.

Repos are uploaded through the official `modelscope` client, then cloned the way users and the
worker's git method do: `{endpoint}/{models|datasets}/{owner}/{name}.git`, with the token as
`oauth2:{token}`.
"""

from __future__ import annotations

import pytest
from hf_client import git, lfs_pointer, read_tree
from test_sandbox_ms import ALICE, BOB, WRONG_TOKEN, run_client, write_tree

FILES = {
    "README.md": b"---\nlicense: apache-2.0\n---\n# git sample\n",
    "config.json": b'{"hidden_size": 8}',
    "nested/\u540d\u5b57 with space.txt": "\u4f60\u597d\n".encode(),
    "weights/model.safetensors": bytes(range(256)) * 400,
    "weights/small.bin": b"\x00\x01small",
}
# ModelScope stores these through LFS (size above 64 KiB, or a model LFS suffix).
LFS_PATHS = {"weights/model.safetensors", "weights/small.bin"}
SKIP_SMUDGE = {"GIT_LFS_SKIP_SMUDGE": "1"}


@pytest.fixture(scope="module")
def seeded(sandbox, tmp_path_factory):
    src = tmp_path_factory.mktemp("ms-git-src")
    write_tree(src, FILES)
    run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/git-private", visibility=1)
        api.create_dataset("git-public", "alice", visibility=5)
        for repo, kind in (("alice/git-private", "model"), ("alice/git-public", "dataset")):
            api.upload_folder(repo_id=repo, folder_path=A["src"], repo_type=kind)
        out(True)
    """,
        {"src": str(src)},
    )
    return sandbox


def checkout(root) -> dict[str, bytes]:
    """The working tree without .git/ and the hub-written .gitattributes."""
    return {p: d for p, d in read_tree(root).items() if p != ".gitattributes"}


def url(sandbox, path: str, token: str | None = ALICE) -> str:
    host = sandbox["ms_endpoint"].removeprefix("http://")
    return f"http://{f'oauth2:{token}@' if token else ''}{host}/{path}"


def test_private_model_shallow_clone_then_lfs_pull(seeded, tmp_path):
    dest = tmp_path / "clone"
    git(
        "clone",
        "--depth",
        "1",
        url(seeded, "models/alice/git-private.git"),
        str(dest),
        env=SKIP_SMUDGE,
    )
    assert checkout(dest) == {p: lfs_pointer(d) if p in LFS_PATHS else d for p, d in FILES.items()}
    git("lfs", "pull", cwd=dest)
    assert checkout(dest) == FILES


def test_public_dataset_and_the_legacy_model_url_clone_with_smudge(seeded, tmp_path):
    git("clone", url(seeded, "datasets/alice/git-public.git", token=None), str(tmp_path / "ds"))
    assert checkout(tmp_path / "ds") == FILES
    git("clone", url(seeded, "alice/git-private.git"), str(tmp_path / "legacy"))
    assert checkout(tmp_path / "legacy") == FILES


@pytest.mark.parametrize("token", [None, BOB, WRONG_TOKEN], ids=["anonymous", "bob", "wrong"])
def test_private_repo_refused_to_others(seeded, tmp_path, token):
    private = url(seeded, "models/alice/git-private.git", token)
    proc = git("clone", private, str(tmp_path / "c"), check=False)
    assert proc.returncode != 0
    assert not (tmp_path / "c" / "config.json").exists()


def test_push_is_refused(seeded, tmp_path):
    dest = tmp_path / "clone"
    git("clone", url(seeded, "datasets/alice/git-public.git"), str(dest))
    (dest / "new.txt").write_text("new\n")
    git("add", "new.txt", cwd=dest)
    git("commit", "-qm", "push attempt", cwd=dest)
    proc = git("push", "origin", "HEAD", cwd=dest, check=False)
    assert proc.returncode != 0
