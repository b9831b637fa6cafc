"""Modal app for the stand-in's image tests: an app that trusts its image's `git lfs install`.

`git lfs pull` in a repository whose git has no LFS filters prints "Git LFS is not installed for
this repository", exits 0 and leaves pointer files: only the image's build step makes the pull
produce the real content. `bare` has the same packages without that step, for contrast.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import modal

packages = modal.Image.debian_slim(python_version="3.11").apt_install("git", "git-lfs")
with_lfs = packages.run_commands("git lfs install", "git config --global lfs.locksverify false")

app = modal.App("modalsim-lfs")


def clone_and_pull(url: str, path: str) -> dict:
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1", "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(["git", "clone", "--depth", "1", url, "repo"], check=True, env=env)
    pull = subprocess.run(
        ["git", "lfs", "pull"], cwd="repo", capture_output=True, text=True, check=True
    )
    data = Path("repo", path).read_bytes()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "pull_output": pull.stdout + pull.stderr,
        "gitconfig": Path.home().joinpath(".gitconfig").is_file(),
    }


@app.function(image=with_lfs)
def pull(url: str, path: str) -> dict:
    return clone_and_pull(url, path)


@app.function(image=packages)
def pull_bare(url: str, path: str) -> dict:
    return clone_and_pull(url, path)


@app.local_entrypoint()
def main(url: str, path: str):
    import json

    print(json.dumps({"with_lfs": pull.remote(url, path), "bare": pull_bare.remote(url, path)}))
