"""Builds the hubferry wheel from this checkout and installs it into a fresh virtualenv, offline.

The wheel is built with the pinned maturin into cargo's own target dir (so it reuses
`cargo build --release`) by `scripts/test`, before any test runs: while it packs, maturin moves
`target/release/hubferry` aside, which pulled the binary from under tests running at the same time.
uv installs it from the wheel's directory and uv's cache only (the
pinned clients are already there from `scripts/setup`'s `uv pip sync`). A machine whose cache
lacks a pinned wheel fetches it once; later runs are offline.
"""

from __future__ import annotations

import fcntl
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


WHEELS = world.ROOT / "target" / "wheels"
BINARY = world.ROOT / "target" / "release" / "hubferry"


def build_wheel() -> Path:
    """The wheel of this checkout in `target/wheels`: the one `scripts/test` built, or, when a test
    file runs on its own and that is missing or older than the release binary, built now (one
    build at a time)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    with open(WHEELS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = sorted(WHEELS.glob(f"hubferry-{CRATE_VERSION}-*.whl"))
        fresh = BINARY.exists() and found and found[-1].stat().st_mtime >= BINARY.stat().st_mtime
        if not fresh:
            env = {**os.environ, "CARGO_TARGET_DIR": str(world.ROOT / "target")}
            argv = [MATURIN, "build", "--release", "--locked", "--manifest-path"]
            built = run(argv + [world.ROOT / "Cargo.toml", "-o", WHEELS], env=env)
            assert built.returncode == 0, built.stderr
            found = sorted(WHEELS.glob(f"hubferry-{CRATE_VERSION}-*.whl"))
    return found[-1]


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
