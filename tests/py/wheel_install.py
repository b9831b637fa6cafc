"""Builds the hubferry wheel from this checkout and installs it into a fresh virtualenv, offline.

The wheel is built with the pinned maturin into cargo's own target dir (so it reuses
`cargo build --release`); uv installs it from the wheel's directory and uv's cache only (the
pinned clients are already there from `scripts/setup`'s `uv pip sync`). A machine whose cache
lacks a pinned wheel fetches it once; later runs are offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import world

UV = world.ROOT / ".venv" / "bin" / "uv"
MATURIN = world.ROOT / ".venv" / "bin" / "maturin"
LOCK = world.ROOT / "requirements" / "requirements.lock"
CRATE_VERSION = tomllib.loads((world.ROOT / "Cargo.toml").read_text())["package"]["version"]
# Read at import, before the per-test HOME isolation: the cache is where `scripts/setup` filled it.
UV_CACHE = subprocess.run(
    [str(UV), "cache", "dir"], capture_output=True, text=True, check=True
).stdout.strip()


def run(argv: list, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def build_wheel(dist: Path) -> Path:
    env = {**os.environ, "CARGO_TARGET_DIR": str(world.ROOT / "target")}
    argv = [MATURIN, "build", "--release", "--locked", "--manifest-path"]
    built = run(argv + [world.ROOT / "Cargo.toml", "-o", dist], env=env)
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("hubferry-*.whl")
    return path


def install(venv: Path, wheel: Path, *, with_pip: bool = False) -> Path:
    """`hubferry[local]` from `wheel` into a new virtualenv on the base interpreter (with pip in it
    when asked, as `python -m venv` makes one)."""
    env = {**os.environ, "UV_CACHE_DIR": UV_CACHE}
    if with_pip:
        made = run([sys._base_executable, "-m", "venv", venv], env=env)
    else:
        made = run([UV, "venv", "-q", "--python", sys._base_executable, venv], env=env)
    assert made.returncode == 0, made.stderr
    argv = [UV, "pip", "install", "--python", venv / "bin" / "python"]
    argv += ["--find-links", wheel.parent, "-c", LOCK, "hubferry[local]"]
    done = run(argv[:3] + ["--offline"] + argv[3:], env=env)
    if done.returncode != 0:
        done = run(argv, env=env)
    assert done.returncode == 0, done.stderr
    return venv
