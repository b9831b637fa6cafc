"""Runs official `huggingface_hub` / `git` calls against the hub sandbox for the HF sandbox tests.

Every client snippet runs in a fresh subprocess: huggingface_hub reads `HF_ENDPOINT` and
`HF_HUB_DISABLE_XET` once, at import, so one test process cannot point it at several sandboxes.
Snippets get their parameters as JSON in argv[1] (tokens only ever travel in the environment) and
report back with `out(obj)`, one `RESULT <json>` line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest
import world

ALICE = world.HF_USERS["alice"]
BOB = world.HF_USERS["bob"]
WRONG_TOKEN = "hf_notARealTokenAtAll000000000000000"

PRELUDE = """
import json, sys, warnings
warnings.simplefilter("ignore")
A = json.loads(sys.argv[1])
from huggingface_hub import HfApi
api = HfApi()
def out(obj):
    print("RESULT " + json.dumps(obj, default=str), flush=True)
def outcome(fn, *a, **kw):
    try:
        fn(*a, **kw)
        return "ok"
    except Exception as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return f"{type(exc).__name__}:{status}"
"""


def run_hf(
    sandbox,
    code: str,
    args: dict | None = None,
    *,
    token: str | None = ALICE,
    timeout: float = 120,
    cwd: Path | None = None,
    xet: bool = True,
):
    """Runs a snippet of official-client code against the sandbox; returns what it `out()`s.
    `xet=False` runs it on the classic LFS path (HF_HUB_DISABLE_XET=1)."""
    # A fresh cache per snippet: hf_hub_download falls back to cached files on some errors.
    cache = tempfile.mkdtemp(prefix="hf-cache-")
    env = {**os.environ, **world.hf_env(sandbox, token, xet=xet), "HF_HUB_CACHE": cache}
    if token is None:
        env.pop("HF_TOKEN", None)
    try:
        proc = subprocess.run(
            [str(world.PYTHON), "-c", PRELUDE + textwrap.dedent(code), json.dumps(args or {})],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or world.ROOT,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    results = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not results:
        pytest.fail(
            f"client snippet failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}\nsandbox log: {sandbox.log_path}"
        )
    return json.loads(results[-1])


def git(
    *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        pytest.fail(f"git {' '.join(args[:2])} failed: {proc.stderr[-2000:]}")
    return proc


def clone_url(
    sandbox, repo_id: str, token: str | None = ALICE, prefix: str = "", suffix: str = ""
) -> str:
    host = sandbox["hf_endpoint"].removeprefix("http://")
    auth = f"hf_user:{token}@" if token else ""
    return f"http://{auth}{host}/{prefix}{repo_id}{suffix}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256(data)}\nsize {len(data)}\n"
    ).encode()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_tree(root: Path) -> dict[str, bytes]:
    """Files under root, minus client bookkeeping (.cache/ of local_dir downloads, .git/)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".cache/", ".git/")):
            out[rel] = path.read_bytes()
    return out


def sample_files(seed: int = 0) -> dict[str, bytes]:
    """Nested folders, unicode and spaces, an empty file, small inline and LFS-size binaries."""
    rnd = __import__("random").Random(seed)
    return {
        "README.md": b"---\nlicense: apache-2.0\ntags: [test]\n---\n# Sandbox test repo\n",
        "config.json": json.dumps({"hidden_size": 8, "seed": seed}).encode(),
        "empty.txt": b"",
        "nested/deeper/notes.txt": ("line\n" * 100).encode(),
        "dossier é/naïve file ü.txt": "unicode and spaces ✓\n".encode(),
        "weights/model.safetensors": rnd.randbytes(1_500_000),
        "weights/other data.bin": rnd.randbytes(700_000),
        "blob.dat": b"\0binary-sample\0" + rnd.randbytes(300_000),
    }
