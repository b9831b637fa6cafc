"""Helpers shared by the worker tests (no tests here): seeding repos through the official clients,
writing job files, and running `python -m hubferry_worker` as a subprocess with the sandbox
environment, collecting its events. Every run is checked for leaked tokens."""

from __future__ import annotations

import base64
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import world

ROOT = world.ROOT
if str(ROOT / "modal") not in sys.path:
    sys.path.insert(0, str(ROOT / "modal"))
CANARIES = list(world.HF_USERS.values()) + list(world.MS_USERS.values())
# The git path sends HF tokens as a Basic auth header: its base64 form is a secret as well.
CANARIES += [base64.b64encode(f"hf_user:{t}".encode()).decode() for t in world.HF_USERS.values()]
MB = 1024 * 1024
# The worker's environment for a run on the classic LFS path (the default world has Xet on).
XET_OFF = {"HF_HUB_DISABLE_XET": "1"}


def worker_env(sandbox, extra: dict | None = None) -> dict:
    env = {
        **os.environ,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "PYTHONPATH": str(ROOT / "modal"),
    }
    env.update(extra or {})
    return env


def make_job(
    source: tuple[str, str, str],
    dest: tuple[str, str, str],
    *,
    job_id: str = "t0",
    revision: str | None = None,
    files: list | None = None,
    method: str = "auto",
    chunk: tuple[int, int] = (0, 1),
    **options,
) -> dict:
    sp, sid, stype = source
    dp, did, dtype = dest
    return {
        "hubferry_job": 1,
        "job": job_id,
        "source": {"platform": sp, "repo_id": sid, "repo_type": stype, "revision": revision},
        "dest": {"platform": dp, "repo_id": did, "repo_type": dtype, "revision": None},
        "files": files,
        "chunk": {"index": chunk[0], "count": chunk[1]},
        "method": method,
        "options": options,
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    events: list = field(default_factory=list)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def result(self) -> dict:
        results = self.of("result")
        assert len(results) == 1, f"want one result event:\n{self.stdout}\n{self.stderr[-3000:]}"
        return results[0]

    def files(self, status: str) -> dict[str, dict]:
        return {e["path"]: e for e in self.of("file") if e["status"] == status}

    def staging_peak(self) -> tuple[int, int, int]:
        """(reserved peak, measured peak, budget) from the worker's stderr log line."""
        for line in self.stderr.splitlines():
            if "staging peak" in line:
                words = line.replace("(", " ").replace(")", " ").split()
                nums = [int(w) for w in words if w.isdigit()]
                return nums[0], nums[2], nums[1]
        raise AssertionError("no staging line in stderr")


def parse_events(stdout: str) -> list[dict]:
    from hubferry_worker import events

    return [e for e in map(events.parse_line, stdout.splitlines()) if e is not None]


def assert_no_leak(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text, "a token leaked into worker output"


def write_job(tmp_path: Path, job: dict) -> Path:
    path = tmp_path / f"job-{job['job']}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(job))
    return path


def run_worker(sandbox, tmp_path, job, *, args=(), env=None, timeout=120) -> Run:
    path = write_job(tmp_path, job)
    proc = subprocess.run(
        [str(world.PYTHON), "-m", "hubferry_worker", "--job-file", str(path), *args],
        env=worker_env(sandbox, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert_no_leak(proc.stdout, proc.stderr, path.read_text())
    return Run(proc.returncode, proc.stdout, proc.stderr, parse_events(proc.stdout))


def run_until(sandbox, tmp_path, job, stop_when, *, env=None, timeout=120) -> Run:
    """Runs the worker, reading events as they come; SIGKILLs it as soon as stop_when(event)."""
    path = write_job(tmp_path, job)
    proc = subprocess.Popen(
        [str(world.PYTHON), "-m", "hubferry_worker", "--job-file", str(path)],
        env=worker_env(sandbox, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf, lines, killed = b"", [], False
    try:
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            if not sel.select(0.5):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                lines.append(line.decode())
                event = parse_events(lines[-1])
                if event and stop_when(event[0]):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
    finally:
        sel.close()
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait(30)
    stderr = proc.stderr.read().decode()
    stdout = "\n".join(lines)
    assert_no_leak(stdout, stderr)
    assert killed, f"the worker ended before the stop condition:\n{stdout}\n{stderr[-2000:]}"
    return Run(proc.returncode, stdout, stderr, parse_events(stdout))


# -- seeding and reading repos through the official clients ------------------------------------
def hf_api(sandbox, user: str = "alice"):
    from huggingface_hub import HfApi, constants

    # Seeds go up through Xet, as on the Hub. The client reads this switch at call time from its
    # constants module, so setting it here wins over whatever the environment said at import.
    constants.HF_HUB_DISABLE_XET = False
    constants.HF_HUB_DISABLE_PROGRESS_BARS = True

    return HfApi(endpoint=sandbox["hf_endpoint"], token=world.HF_USERS[user])


def ms_api(sandbox, user: str = "alice"):
    from modelscope_hub.api import HubApi

    return HubApi(endpoint=sandbox["ms_endpoint"], token=world.MS_USERS[user])


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def seed_hf(sandbox, tmp_path, repo_id, files, *, repo_type="model", private=False, **create):
    api = hf_api(sandbox)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **create)
    folder = write_tree(tmp_path / f"seed-{repo_id.replace('/', '_')}-{time.monotonic_ns()}", files)
    api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=folder)
    return api


def seed_ms(sandbox, tmp_path, repo_id, files, *, repo_type="model", private=False):
    api = ms_api(sandbox)
    api.create_repo(repo_id, repo_type, visibility="private" if private else "public")
    folder = write_tree(tmp_path / f"seed-{repo_id.replace('/', '_')}-{time.monotonic_ns()}", files)
    api.upload_folder(repo_id, repo_type, folder, disable_tqdm=True)
    return api


def hf_contents(sandbox, tmp_path, repo_id, repo_type="model", revision=None) -> dict[str, bytes]:
    from huggingface_hub import snapshot_download

    hf_api(sandbox)  # client switches
    local = tmp_path / f"hfdl-{time.monotonic_ns()}"
    snapshot_download(
        repo_id,
        repo_type=repo_type,
        revision=revision,
        local_dir=local,
        endpoint=sandbox["hf_endpoint"],
        token=world.HF_USERS["alice"],
    )
    return _read_tree(local)


def ms_contents(sandbox, tmp_path, repo_id, repo_type="model") -> dict[str, bytes]:
    local = tmp_path / f"msdl-{time.monotonic_ns()}"
    ms_api(sandbox).download_repo(repo_id, repo_type, local_dir=local)
    return _read_tree(local)


def _read_tree(root: Path) -> dict[str, bytes]:
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith((".cache/", ".git")) and "/.cache/" not in rel:
            out[rel] = p.read_bytes()
    return out


def sample_files(seed: int, lfs_mb: float = 3) -> dict[str, bytes]:
    """Nested, unicode, empty and LFS-size files (deterministic content per seed)."""
    import random

    rnd = random.Random(seed)
    return {
        "README.md": b"---\nlicense: mit\n---\n# sample\n",
        "config.json": b'{"hidden_size": %d}' % seed,
        "empty.txt": b"",
        "nested/deeper/notes.txt": b"nested file\n" * 10,
        "数据/训练 集.jsonl": '{"text": "你好"}\n'.encode() * 5,
        "weights/model.safetensors": rnd.randbytes(int(lfs_mb * MB)),
        "weights/extra.bin": rnd.randbytes(int(lfs_mb * MB / 2)),
    }
