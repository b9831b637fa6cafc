"""Runs one function input as one "container": a local subprocess of the project's Python running
Modal's own container entrypoint (`python -m modal._container_entrypoint`) in a fresh scratch
directory that holds only the files the app shipped.

The subprocess reaches the stand-in through a per-task unix socket (`MODAL_SERVER_URL=unix://…`),
which is how the server knows which task an RPC comes from (real containers talk to their worker;
they carry no credentials either). Its stdout/stderr become the app's log batches, live.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modal_proto import api_pb2

from .model import Input, Task, new_id

if TYPE_CHECKING:
    from .sim import Sim

# The project's .venv Python stands in for the image's Python.
PYTHON = sys.executable
KILL_GRACE_S = 2.0
DEFAULT_TIMEOUT_S = 300
PARTIAL_LINE_FLUSH_S = 0.5


def materialize_mounts(sim: Sim, mount_ids: list[str], scratch: Path) -> list[str]:
    """Writes the files of the given mounts under `scratch` (remote `/x/y` → `scratch/x/y`)."""
    shipped = []
    for mount_id in mount_ids:
        for f in sim.mounts.get(mount_id, []):
            rel = PurePosixPath(f.filename).relative_to("/")
            dest = scratch / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sim.store.file_path(f.sha256_hex), dest)
            if f.mode:
                os.chmod(dest, f.mode & 0o777)
            shipped.append(str(PurePosixPath("/") / rel))
    return sorted(shipped)


def container_env(sim: Sim, task: Task, sock: Path, args_path: Path, scratch: Path) -> dict:
    """Environment of a container: the image's ENV, Modal's container variables and the function's
    secrets; nothing inherited from the client or the stand-in but a minimal PATH/HOME/LANG."""
    fn = task.input.call.function
    defn = fn.definition
    venv_bin = str(Path(PYTHON).parent)
    # The image's ENV layers apply, except paths that only make sense inside a real image.
    env = {
        k: v
        for k, v in sim.image_env(defn.image_id).items()
        if k not in ("PATH", "HOME", "PYTHONPATH")
    }
    env |= {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch / "root"),
        "LANG": "C.UTF-8",
        # The image's /etc is not the host's: git must not read the host's system config (which
        # may set up LFS filters the image never installed). See images.py.
        "GIT_CONFIG_NOSYSTEM": "1",
        "PYTHONUNBUFFERED": "1",
        "MODAL_IS_REMOTE": "1",
        "MODAL_SERVER_URL": f"unix://{sock}",
        "MODAL_TASK_ID": task.task_id,
        "MODAL_CONTAINER_ARGUMENTS_PATH": str(args_path),
        "MODAL_ENVIRONMENT": "main",
        "MODAL_IMAGE_ID": defn.image_id,
        "MODAL_CLOUD_PROVIDER": "CLOUD_PROVIDER_MODAL_SIM",
        "MODAL_REGION": "local",
        "MODAL_SIM_ROOT": str(scratch),
    }
    for secret_id in defn.secret_ids:
        env.update(sim.secrets.get(secret_id, {}))
    return env


async def _pump(sim: Sim, task: Task, stream: asyncio.StreamReader, fd: int) -> None:
    """Turns one container stream into log batches of whole lines.

    An unbuffered `print()` writes its text and its newline separately; batching by line keeps
    concurrent containers' lines from interleaving mid-line. A partial line is sent once the stream
    has been idle for PARTIAL_LINE_FLUSH_S (progress output without a newline) or at EOF.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    inp = task.input
    fn = inp.call.function
    pending = ""

    def emit(text: str) -> None:
        sim.log(
            fn.app,
            text,
            fd,
            task_id=task.task_id,
            function_id=fn.function_id,
            input_id=inp.input_id,
            function_call_id=inp.call.call_id,
        )

    while True:
        try:
            if pending:
                chunk = await asyncio.wait_for(stream.read(65536), PARTIAL_LINE_FLUSH_S)
            else:
                chunk = await stream.read(65536)
        except TimeoutError:
            emit(pending)
            pending = ""
            continue
        pending += decoder.decode(chunk, final=not chunk)
        if not chunk:
            if pending:
                emit(pending)
            return
        cut = pending.rfind("\n") + 1
        if cut:
            emit(pending[:cut])
            pending = pending[cut:]


def kill_task(task: Task, reason: str, hard: bool = False) -> None:
    """Stops a container: SIGTERM to its process group, SIGKILL after a grace period."""
    proc = task.proc
    if proc is None or proc.returncode is not None:
        return
    task.killed_reason = task.killed_reason or reason
    try:
        os.killpg(proc.pid, signal.SIGKILL if hard else signal.SIGTERM)
    except ProcessLookupError:
        return

    async def _hard_kill():
        await asyncio.sleep(KILL_GRACE_S)
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    asyncio.get_running_loop().create_task(_hard_kill())


async def _watch_timeout(task: Task, timeout_s: float) -> None:
    # Like Modal, the timeout covers running the input, not starting the container.
    await task.input_delivered.wait()
    await asyncio.sleep(timeout_s)
    kill_task(task, "timeout")


async def run_task(sim: Sim, inp: Input, attempt: int) -> tuple[Task, int]:
    """Runs `inp` in a new container; returns the task and the process's exit code."""
    fn = inp.call.function
    app = fn.app
    task = Task(task_id=new_id("ta"), input=inp, attempt=attempt)
    scratch = Path(tempfile.mkdtemp(prefix=f"{task.task_id}-", dir=sim.scratch_root))
    # The image's filesystem first (what its build steps wrote), then the app's files on top.
    await asyncio.to_thread(sim.image_builds.populate, fn.definition.image_id, scratch)
    shipped = materialize_mounts(sim, list(fn.definition.mount_ids), scratch)
    (scratch / "root").mkdir(exist_ok=True)

    function_def = api_pb2.Function()
    function_def.CopyFrom(fn.definition)
    # One input per container: each call is its own subprocess.
    function_def.single_use_containers = True
    args = api_pb2.ContainerArguments(
        task_id=task.task_id,
        function_id=fn.function_id,
        app_id=app.app_id,
        function_def=function_def,
        app_layout=sim.layout(app),
        environment_name="main",
    )
    args_path = sim.sock_dir / f"{task.task_id}.args"
    args_path.write_bytes(args.SerializeToString())
    sock = sim.sock_dir / f"{task.task_id}.sock"
    server = await sim.serve_task(task, sock)

    timeout_s = fn.definition.timeout_secs or DEFAULT_TIMEOUT_S
    app.tasks.add(task)
    sim.tasks[task.task_id] = task
    task.started_at = time.time()
    rc = -1
    try:
        task.proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "modal._container_entrypoint",
            cwd=scratch / "root",
            env=container_env(sim, task, sock, args_path, scratch),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        if app.stopping:
            kill_task(task, "stopped")
        watchdog = asyncio.create_task(_watch_timeout(task, timeout_s))
        await asyncio.gather(
            _pump(sim, task, task.proc.stdout, api_pb2.FILE_DESCRIPTOR_STDOUT),
            _pump(sim, task, task.proc.stderr, api_pb2.FILE_DESCRIPTOR_STDERR),
        )
        rc = await task.proc.wait()
        watchdog.cancel()
        if task.killed_reason == "timeout":
            sim.log(
                app,
                f"Task's current input {inp.input_id} hit its timeout of {timeout_s}s\n",
                api_pb2.FILE_DESCRIPTOR_INFO,
                task_id=task.task_id,
                function_id=fn.function_id,
            )
    finally:
        task.ended_at = time.time()
        server.close()
        app.tasks.discard(task)
        for p in (args_path, sock):
            p.unlink(missing_ok=True)
        if not sim.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        sim.store.append_task(
            {
                "task_id": task.task_id,
                "app_id": app.app_id,
                "function_id": fn.function_id,
                "function": fn.tag,
                "function_call_id": inp.call.call_id,
                "parent_input_id": inp.call.parent_input_id or None,
                "input_id": inp.input_id,
                "idx": inp.idx,
                "attempt": attempt,
                "started_at": task.started_at,
                "ended_at": task.ended_at,
                "exit_code": rc,
                "killed": task.killed_reason or None,
                "shipped_files": shipped,
            }
        )
    return task, rc
