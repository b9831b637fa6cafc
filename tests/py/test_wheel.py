"""The Python package: a wheel built from this checkout gives a fresh virtualenv a working hubferry.

The wheel is built with the pinned maturin into cargo's own target dir (so it reuses
`cargo build --release`), installed with uv from the wheel and uv's cache only (offline: the
pinned clients are already cached by `scripts/setup`'s `uv pip sync`), and then driven with a PATH
that holds git and git-lfs and nothing else: the Python, the hub clients and the `modal` CLI must
all come from the install itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import world

UV = world.ROOT / ".venv" / "bin" / "uv"
MATURIN = world.ROOT / ".venv" / "bin" / "maturin"
LOCK = world.ROOT / "requirements" / "requirements.lock"
SEED = world.ROOT / "tests" / "it" / "support" / "seed.py"
CRATE_VERSION = tomllib.loads((world.ROOT / "Cargo.toml").read_text())["package"]["version"]
# Read before the per-test HOME isolation: the cache is where `scripts/setup` filled it.
UV_CACHE = subprocess.run(
    [str(UV), "cache", "dir"], capture_output=True, text=True, check=True
).stdout.strip()
MODAL_TOKENS = {"MODAL_TOKEN_ID": "ak-wheeltests", "MODAL_TOKEN_SECRET": "as-wheeltests"}


def run(argv: list, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "CARGO_TARGET_DIR": str(world.ROOT / "target")}
    argv = [MATURIN, "build", "--release", "--locked", "--manifest-path"]
    built = run(argv + [world.ROOT / "Cargo.toml", "-o", dist], env=env)
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("hubferry-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with `hubferry[local]` from the wheel, on the base interpreter."""
    root = tmp_path_factory.mktemp("venv") / "v"
    env = {**os.environ, "UV_CACHE_DIR": UV_CACHE}
    made = run([UV, "venv", "-q", "--python", sys._base_executable, root], env=env)
    assert made.returncode == 0, made.stderr
    install = [UV, "pip", "install", "--python", root / "bin" / "python"]
    install += ["--find-links", wheel.parent, "-c", LOCK, "hubferry[local]"]
    done = run(install[:3] + ["--offline"] + install[3:], env=env)
    if done.returncode != 0:
        # A machine whose uv cache lacks a pinned wheel fetches it once; later runs are offline.
        done = run(install, env=env)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def modal_sim(tmp_path_factory):
    svc = world.start_modal_sim(tmp_path_factory.mktemp("modal-sim") / "state")
    yield svc
    svc.stop()


@pytest.fixture
def env(sandbox, modal_sim, isolated_home, tmp_path) -> dict:
    """Only what a user of the install has: git on PATH, endpoints and tokens, Modal's login."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("git", "git-lfs"):
        real = run(["sh", "-c", f"command -v {name}"]).stdout.strip()
        (tools / name).symlink_to(real)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {
        "PATH": str(tools),
        "HOME": str(isolated_home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "MODAL_SERVER_URL": modal_sim["modal_server_url"],
        **MODAL_TOKENS,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
    }


def seed(env: dict, repo_id: str) -> dict:
    argv = [world.PYTHON, SEED, "--platform", "hf", "--repo-id", repo_id, "--lfs-mb", "0.2"]
    seeded = run(argv, env={**env, "PATH": os.environ["PATH"]})
    assert seeded.returncode == 0, seeded.stderr
    return json.loads(seeded.stdout)


def assert_no_secrets(out: subprocess.CompletedProcess) -> None:
    text = out.stdout + out.stderr
    canaries = [
        *world.HF_USERS.values(),
        *world.MS_USERS.values(),
        MODAL_TOKENS["MODAL_TOKEN_SECRET"],
    ]
    assert not [c for c in canaries if c in text], text


def test_the_wheel_and_the_installed_binary_carry_the_crate_version(wheel, venv):
    assert wheel.name.startswith(f"hubferry-{CRATE_VERSION}-"), wheel.name
    out = run([venv / "bin" / "hubferry", "--version"], env={"PATH": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"hubferry {CRATE_VERSION}"
    meta = run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.metadata as m; print(m.version('hubferry'))",
        ]
    )
    assert meta.stdout.strip() == CRATE_VERSION, meta.stderr


def test_doctor_finds_python_clients_and_modal_in_the_install(venv, env):
    out = run([venv / "bin" / "hubferry", "doctor"], env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(rf"OK\s+modal\s+.*{re.escape(str(venv / 'bin' / 'modal'))}", out.stdout), (
        out.stdout
    )
    assert re.search(rf"OK\s+python\s+{re.escape(str(venv / 'bin'))}/python3? ", out.stdout), (
        out.stdout
    )
    assert_no_secrets(out)


@pytest.mark.parametrize("backend", ["local", "modal"])
def test_one_migration_through_the_install(venv, env, backend):
    repo = f"alice/wheel-{backend}"
    seeded = seed(env, repo)
    argv = [venv / "bin" / "hubferry", "migrate", f"hf:{repo}", "--backend", backend, "--json"]
    out = run(argv, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["type"] == "report" and report["backend"] == backend, report
    assert report["files_moved"] == len(seeded["files"]), report
    assert report["verified"] is True, report
    assert_no_secrets(out)
