"""Starts the offline world (hub sandbox, Modal stand-in) as real subprocesses for tests.

Each service prints exactly one JSON line on stdout when it is ready; `Service` waits for that
line (bounded), exposes its fields, and stops the process on exit.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"

# Test identities. Token values look like real ones so that leak checks mean something.
HF_USERS = {
    "alice": "hf_aliceTESTtoken0000000000000000001",
    "bob": "hf_bobTESTtoken00000000000000000002",
}
MS_USERS = {
    "alice": "ms-alice-test-token-0000000000000001",
    "bob": "ms-bob-test-token-00000000000000002",
}
HF_ORGS = {"acme": ["alice"]}
MS_ORGS = {"acme-ms": ["alice"]}


@dataclass
class Service:
    proc: subprocess.Popen
    info: dict
    log_path: Path
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str):
        return self.info[key]

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_service(argv: list[str], log_path: Path, env: dict | None = None, timeout: float = 60.0):
    """Runs argv, waits for its one JSON ready line on stdout, and returns a Service."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(
                f"{argv[0]} did not become ready within {timeout}s; see {log_path}:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        if sel.select(min(left, 0.5)):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            line += chunk
    sel.close()
    return Service(proc=proc, info=json.loads(line.decode()), log_path=log_path)


def sandbox_argv(
    state: Path,
    *,
    hf_users=HF_USERS,
    ms_users=MS_USERS,
    hf_orgs=HF_ORGS,
    ms_orgs=MS_ORGS,
    extra: list[str] | None = None,
) -> list[str]:
    argv = [str(ROOT / "scripts" / "sandbox"), "--state", str(state)]
    for name, tok in hf_users.items():
        argv += ["--hf-user", f"{name}:{tok}"]
    for name, tok in ms_users.items():
        argv += ["--ms-user", f"{name}:{tok}"]
    for org, members in hf_orgs.items():
        argv += ["--org", f"hf:{org}:{','.join(members)}"]
    for org, members in ms_orgs.items():
        argv += ["--org", f"ms:{org}:{','.join(members)}"]
    return argv + (extra or [])


def start_sandbox(state: Path, extra: list[str] | None = None, **kw) -> Service:
    state.mkdir(parents=True, exist_ok=True)
    return start_service(sandbox_argv(state, extra=extra, **kw), state.parent / "sandbox.log")


def start_modal_sim(state: Path, extra: list[str] | None = None) -> Service:
    state.mkdir(parents=True, exist_ok=True)
    argv = [str(ROOT / "scripts" / "modal-sim"), "--state", str(state)] + (extra or [])
    return start_service(argv, state.parent / "modal-sim.log")


def admin(service: Service, path: str, payload: dict | None = None, method: str = "POST") -> dict:
    """Calls the sandbox admin endpoint (faults, inspection) and returns its JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        service["admin"] + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else {}


def hf_env(sandbox: Service, token: str | None = HF_USERS["alice"], *, xet: bool = True) -> dict:
    """Environment that points the official huggingface_hub client at the sandbox. Xet is on, as
    against the real Hub; `xet=False` makes the client take the classic LFS path."""
    env = {
        "HF_ENDPOINT": sandbox["hf_endpoint"],
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    if token:
        env["HF_TOKEN"] = token
    return env


def ms_env(sandbox: Service, token: str | None = MS_USERS["alice"]) -> dict:
    """Environment that points the official modelscope client at the sandbox."""
    env = {
        "MODELSCOPE_ENDPOINT": sandbox["ms_endpoint"],
        "MODELSCOPE_DOWNLOAD_INTRA_CLOUD": "false",
    }
    if token:
        env["MODELSCOPE_API_TOKEN"] = token
    return env
