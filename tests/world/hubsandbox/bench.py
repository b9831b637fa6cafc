"""Benchmark of the hub sandbox itself (run through `scripts/bench sandbox`): prints numbers only.

1. Unshaped loopback throughput for one large file (default 1 GB = 10^9 bytes), upload and
   download, through the official huggingface_hub client with Xet on (hf_xet and the reference
   CAS, as production runs) and off (classic LFS), each on a fresh sandbox, and through raw HTTP
   (one connection, 1 MiB writes) so the sandbox's own ceiling is visible even when the client is
   slower.
2. The same raw transfers with `--hf-bandwidth` (default 50 MB/s) on a smaller file, to show the
   cap holds, and a Xet upload and download under the same cap (Xet crosses the HF link too).
3. The sandbox's peak RSS, which stays flat however large the file is.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "py"))
import world  # noqa: E402

TOKEN = world.HF_USERS["alice"]
MB = 1e6


def make_file(path: Path, size: int) -> str:
    """Writes `size` random bytes (fresh per block: Xet would deduplicate repeated blocks)."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            f.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def client(sandbox, code: str, xet: bool = True, **args) -> dict:
    prelude = (
        "import json, sys, time\nA = json.loads(sys.argv[1])\n"
        "from huggingface_hub import HfApi, hf_hub_download\napi = HfApi()\n"
    )
    env = {
        **os.environ,
        **world.hf_env(sandbox, TOKEN, xet=xet),
        "HF_HUB_CACHE": tempfile.mkdtemp(prefix="bench-cache-"),
    }
    proc = subprocess.run(
        [str(world.PYTHON), "-c", prelude + code, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"bench: client step failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def raw_upload(sandbox, path: Path, sha: str, size: int) -> float:
    """LFS batch (basic transfer forced) then one PUT streamed from disk; returns seconds."""
    ep = urlsplit(sandbox["hf_endpoint"])
    conn = http.client.HTTPConnection(ep.hostname, ep.port, timeout=600)
    body = json.dumps(
        {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": sha, "size": size}]}
    )
    conn.request(
        "POST",
        "/alice/bench.git/info/lfs/objects/batch",
        body,
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    batch = json.loads(conn.getresponse().read())
    action = batch["objects"][0].get("actions", {}).get("upload")
    if action is None:
        return float("nan")  # already stored
    href = urlsplit(action["href"])
    start = time.perf_counter()
    conn.putrequest("PUT", href.path)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            conn.send(chunk)
    resp = conn.getresponse()
    resp.read()
    took = time.perf_counter() - start
    if resp.status != 200:
        sys.exit(f"bench: raw upload answered {resp.status}")
    conn.close()
    return took


def raw_download(sandbox, repo_path: str, size: int) -> float:
    ep = urlsplit(sandbox["hf_endpoint"])
    conn = http.client.HTTPConnection(ep.hostname, ep.port, timeout=600)
    start = time.perf_counter()
    conn.request(
        "GET",
        f"/alice/bench/resolve/main/{repo_path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    resp = conn.getresponse()
    got = 0
    while chunk := resp.read(1 << 20):
        got += len(chunk)
    took = time.perf_counter() - start
    if got != size:
        sys.exit(f"bench: raw download got {got} of {size} bytes")
    conn.close()
    return took


def resolve_head(sandbox, repo_path: str) -> None:
    ep = urlsplit(sandbox["hf_endpoint"])
    conn = http.client.HTTPConnection(ep.hostname, ep.port, timeout=600)
    conn.request(
        "HEAD",
        f"/alice/bench/resolve/main/{repo_path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    conn.getresponse().read()
    conn.close()


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def flip_last_byte(path: Path) -> str:
    """Makes the file a different LFS object (so the upload is not deduplicated); new sha256."""
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    return file_sha(path)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rate(size: int, seconds: float) -> str:
    return f"{size / seconds / MB:8.1f} MB/s  ({size / MB:.0f} MB in {seconds:.2f} s)"


CLIENT_UPLOAD = """
api.create_repo("alice/bench", exist_ok=True)
t = time.perf_counter()
api.upload_file(path_or_fileobj=A["file"], path_in_repo="client.bin", repo_id="alice/bench")
print(json.dumps({"s": time.perf_counter() - t}))
"""
SHAPED_UPLOAD = """
api.create_repo("alice/bench", exist_ok=True)
api.upload_file(path_or_fileobj=A["file"], path_in_repo="shaped.bin", repo_id="alice/bench")
print(json.dumps({}))
"""
CLIENT_DOWNLOAD = """
t = time.perf_counter()
hf_hub_download("alice/bench", "client.bin", local_dir=A["dest"])
print(json.dumps({"s": time.perf_counter() - t}))
"""


def main() -> int:
    p = argparse.ArgumentParser(prog="scripts/bench sandbox")
    p.add_argument("--size-mb", type=int, default=1000, help="unshaped file size (10^6 bytes)")
    p.add_argument("--shaped-mb", type=int, default=200, help="shaped file size")
    p.add_argument("--bandwidth", type=float, default=50, help="--hf-bandwidth for the shaped run")
    args = p.parse_args()
    size, shaped = args.size_mb * 1_000_000, args.shaped_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="hubsandbox-bench-") as tmp:
        tmp = Path(tmp)
        big = tmp / "big.bin"
        print(f"preparing a {size / MB:.0f} MB file ...", flush=True)
        make_file(big, size)

        print("\n== unshaped (loopback)")
        for xet in (True, False):
            label = "Xet" if xet else "LFS"
            with world.start_sandbox(tmp / f"plain-{label}" / "state") as sb:
                up = client(sb, CLIENT_UPLOAD, xet=xet, file=str(big))["s"]
                # The sandbox moves an LFS upload into the CAS on its first resolve (the Hub
                # migrates in the background): done before the timed download.
                resolve_head(sb, "client.bin")
                down = client(sb, CLIENT_DOWNLOAD, xet=xet, dest=str(tmp / "dl"))["s"]
                (tmp / "dl" / "client.bin").unlink()
                print(f"client upload   ({label}: hash + upload + commit) {rate(size, up)}")
                print(f"client download ({label}: hf_hub_download)      {rate(size, down)}")
                if not xet:  # the sandbox's own HTTP ceiling, on an LFS-stored object
                    raw_up = raw_upload(sb, big, flip_last_byte(big), size)
                    raw_down = raw_download(sb, "client.bin", size)
                    print(f"raw HTTP upload   (1 PUT, server hashes) {rate(size, raw_up)}")
                    print(f"raw HTTP download (1 GET)                {rate(size, raw_down)}")
                print(f"sandbox peak RSS ({label}): {peak_rss_mb(sb.proc.pid):.0f} MB")

        print(f"\n== shaped: --hf-bandwidth {args.bandwidth:g}")
        small = tmp / "shaped.bin"
        make_file(small, shaped)
        with world.start_sandbox(
            tmp / "shaped" / "state", extra=["--hf-bandwidth", str(args.bandwidth)]
        ) as sb:
            # The raw numbers read and write an LFS-stored object: the cap on plain HTTP.
            client(sb, SHAPED_UPLOAD, xet=False, file=str(small))
            down = raw_download(sb, "shaped.bin", shaped)
            print(f"raw HTTP download {rate(shaped, down)}")
            up = raw_upload(sb, small, flip_last_byte(small), shaped)
            print(f"raw HTTP upload   {rate(shaped, up)}")
            # Xet traffic crosses the same link (the CAS relay): a fresh file up and down.
            make_file(small, shaped)
            up = client(sb, CLIENT_UPLOAD, file=str(small))["s"]
            down = client(sb, CLIENT_DOWNLOAD, dest=str(tmp / "dl2"))["s"]
            print(f"client upload (Xet)   {rate(shaped, up)}")
            print(f"client download (Xet) {rate(shaped, down)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
