"""Benchmark of the sandbox's ModelScope side (`scripts/bench sandbox-ms`): prints numbers only.

1. Unshaped loopback throughput of one large file (default 1 GB = 10^9 bytes) through the official
   `modelscope` client: `upload_file` (LFS batch + blob PUT + commit) and `download_file`, client
   hashing included, with the downloaded sha256 checked.
2. The same with `--ms-bandwidth` (default 50 MB/s) on a smaller file, to show the cap holds in both
   directions.
3. The sandbox's peak RSS (VmHWM) in each run, which stays flat however large the file is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "py"))
import world  # noqa: E402

MB = 1e6
ROUND_TRIP = """
import hashlib, json, sys, time, contextlib, io
from modelscope.hub.api import HubApi
A = json.loads(sys.argv[1])
api = HubApi()
api.create_model(A["repo"], visibility=1)
t = time.monotonic()
with contextlib.redirect_stdout(io.StringIO()):
    api.upload_file(repo_id=A["repo"], path_or_fileobj=A["file"], path_in_repo="big.bin")
up = time.monotonic() - t
t = time.monotonic()
path = api.download_file(A["repo"], "model", "big.bin", local_dir=A["dst"])
down = time.monotonic() - t
digest = hashlib.sha256()
with open(path, "rb") as f:
    while block := f.read(1 << 20):
        digest.update(block)
print(json.dumps({"up_s": up, "down_s": down, "sha256": digest.hexdigest()}))
"""


def make_file(path: Path, size: int) -> str:
    """Writes `size` bytes from a repeated random block and returns their sha256."""
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = block[: min(left, len(block))]
            f.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(label: str, work: Path, size: int, extra: list[str]) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=work))
    data = run_dir / "big.bin"
    expected = make_file(data, size)
    home = run_dir / "home"
    home.mkdir()
    with world.start_sandbox(run_dir / "state", extra=extra) as sandbox:
        env = {
            **os.environ,
            **world.ms_env(sandbox),
            "HOME": str(home),
            "MODELSCOPE_CACHE": str(home / "cache"),
            "MODELSCOPE_HOME": str(home / ".ms"),
        }
        args = {"repo": "alice/bench", "file": str(data), "dst": str(run_dir / "dst")}
        proc = subprocess.run(
            [str(world.PYTHON), "-c", ROUND_TRIP, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"{label}: client failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        rss = peak_rss_mb(sandbox.proc.pid)
    ok = "ok" if result["sha256"] == expected else "MISMATCH"
    print(
        f"{label}: {size / MB:.0f} MB  upload_file {size / MB / result['up_s']:.1f} MB/s  "
        f"download_file {size / MB / result['down_s']:.1f} MB/s  sha256 {ok}  "
        f"sandbox peak RSS {rss:.0f} MB",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="scripts/bench sandbox-ms", description=__doc__)
    p.add_argument("--size-mb", type=float, default=1000, help="unshaped file size (10^6 bytes)")
    p.add_argument("--shaped-mb", type=float, default=200, help="shaped file size (10^6 bytes)")
    p.add_argument("--bandwidth", type=float, default=50, help="--ms-bandwidth for the shaped run")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-") as work:
        run("unshaped", Path(work), int(args.size_mb * MB), [])
        run(
            f"--ms-bandwidth {args.bandwidth:g}",
            Path(work),
            int(args.shaped_mb * MB),
            ["--ms-bandwidth", str(args.bandwidth)],
        )


if __name__ == "__main__":
    main()
