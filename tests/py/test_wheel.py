"""The Python package: a wheel built from this checkout gives a fresh virtualenv a working hubferry.

The wheel is installed offline (wheel_install.py) and driven with a PATH that holds git and git-lfs
and nothing else: the Python, the hub clients and the `modal` CLI must all come from the install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import world
from wheel_install import CRATE_VERSION, build_wheel, install, run

SEED = world.ROOT / "tests" / "it" / "support" / "seed.py"
MODAL_TOKENS = {"MODAL_TOKEN_ID": "ak-wheeltests", "MODAL_TOKEN_SECRET": "as-wheeltests"}


@pytest.fixture(scope="module")
def wheel():
    return build_wheel()


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    return install(tmp_path_factory.mktemp("venv") / "v", wheel)


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
