"""The stand-in's behaviour: apps and their lifecycle, function calls and their scheduling
(`max_containers`, the global `--max-containers` cap, `timeout`, `retries`), logs, and the
records written to the state directory. The gRPC layer (`servicer.py`) only translates RPCs.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

from grpclib.server import Server
from modal_proto import api_pb2

from . import containers
from .images import Images
from .model import App, Call, Function, Input, StateDir, Task, new_id

# The client heartbeats every 15 s; after this long without one it is taken to be gone (for
# clients whose connection did not visibly drop, e.g. a suspended process or a lost network).
CLIENT_HEARTBEAT_TIMEOUT_S = 90.0
APP_STATE_NAMES = {v: k.removeprefix("APP_STATE_").lower() for k, v in api_pb2.AppState.items()}
GENERIC = api_pb2.GenericResult


class Sim:
    def __init__(
        self,
        state_dir: Path,
        max_containers: int | None,
        keep_scratch: bool = False,
        follow_replays: bool = False,
    ):
        self.store = StateDir(state_dir)
        # Whether `modal app logs -f` (AppGetLogs without a cursor) starts at the app's first
        # entry or at the moment it asks: the server's choice, which the client does not show.
        self.follow_replays = follow_replays
        self.global_cap = max_containers or None
        self.keep_scratch = keep_scratch
        self.apps: dict[str, App] = {}
        self.functions: dict[str, Function] = {}
        self.calls: dict[str, Call] = {}
        self.inputs: dict[str, Input] = {}
        self.tasks: dict[str, Task] = {}
        # Secret values live in memory only: never written to the state directory.
        self.secrets: dict[str, dict[str, str]] = {}
        self.secret_keys: dict[str, list[str]] = {}
        self.mounts: dict[str, list[api_pb2.MountFile]] = {}
        self.images: dict[str, api_pb2.Image] = {}
        self.running_total = 0
        self.slots = asyncio.Condition()
        # Unix socket paths must stay short (108 bytes), so they live in /tmp, not the state dir.
        self.sock_dir = Path(tempfile.mkdtemp(prefix="modalsim-"))
        self.scratch_root = state_dir / "scratch"
        self.scratch_root.mkdir(exist_ok=True)
        self.image_builds = Images(self)
        self.blob_url = ""  # set once the blob HTTP server listens
        self.servicer_factory = None  # set by the server: task -> servicer

    # --- logs -------------------------------------------------------------------------------
    def log(self, app: App, text: str, fd: int, **ids) -> None:
        """Adds `text` to the app's logs: one batch, one entry per line (Modal counts `--tail`
        and its fetch limits in entries)."""
        now = time.time()
        items = [
            api_pb2.TaskLogs(
                data=line,
                file_descriptor=fd,
                timestamp=now,
                timestamp_ns=int(now * 1e9),
                function_call_id=ids.get("function_call_id", ""),
                input_id=ids.get("input_id", ""),
            )
            for line in text.splitlines(keepends=True)
        ]
        if not items:
            return
        app.add_log(
            api_pb2.TaskLogsBatch(
                task_id=ids.get("task_id", ""),
                function_id=ids.get("function_id", ""),
                input_id=ids.get("input_id", ""),
                items=items,
            )
        )

    # --- apps -------------------------------------------------------------------------------
    def create_app(self, description: str, app_state: int, peer) -> App:
        detached = app_state == api_pb2.APP_STATE_DETACHED
        if app_state not in (api_pb2.APP_STATE_DETACHED, api_pb2.APP_STATE_EPHEMERAL):
            app_state = api_pb2.APP_STATE_EPHEMERAL
        app = App(
            app_id=new_id("ap"),
            description=description,
            state=app_state,
            detached=detached,
            created_at=time.time(),
            client_peer=peer,
            last_heartbeat=time.monotonic(),
        )
        self.apps[app.app_id] = app
        self.write_app(app)
        return app

    def layout(self, app: App) -> api_pb2.AppLayout:
        objects = []
        for oid in sorted(app.object_ids):
            fn = self.functions.get(oid)
            if fn is not None:
                objects.append(
                    api_pb2.Object(object_id=oid, function_handle_metadata=fn.handle_metadata)
                )
            else:
                objects.append(api_pb2.Object(object_id=oid))
        return api_pb2.AppLayout(
            objects=objects, function_ids=app.function_ids, class_ids=app.class_ids
        )

    def client_disconnected(self, app: App) -> None:
        """The client that runs the app went away (disconnect RPC, or its connection dropped)."""
        if app.client_gone:
            return
        app.client_gone = True
        if app.is_stopped() or app.stopping:
            return
        if app.detached:
            app.state = api_pb2.APP_STATE_DETACHED_DISCONNECTED
            self.write_app(app)
            self.maybe_finish_detached(app)
        else:
            asyncio.get_running_loop().create_task(self.stop_app(app, "client disconnected"))

    def connection_lost(self, peer) -> None:
        for app in list(self.apps.values()):
            if app.client_peer == peer and not app.client_gone:
                self.store.rpc("ClientConnectionLost", app.app_id)
                self.client_disconnected(app)

    async def watch_heartbeats(self) -> None:
        while True:
            await asyncio.sleep(5)
            now = time.monotonic()
            for app in list(self.apps.values()):
                silent = now - app.last_heartbeat > CLIENT_HEARTBEAT_TIMEOUT_S
                if silent and not app.client_gone and not app.is_stopped():
                    self.store.rpc("ClientHeartbeatTimeout", app.app_id)
                    self.client_disconnected(app)

    def maybe_finish_detached(self, app: App) -> None:
        if app.detached and app.client_gone and app.outstanding == 0 and not app.stopping:
            asyncio.get_running_loop().create_task(self.stop_app(app, "detached app finished"))

    async def stop_app(self, app: App, why: str) -> None:
        if app.stopping or app.is_stopped():
            return
        app.stopping = True
        app.stop_requested.set()
        app.state = api_pb2.APP_STATE_STOPPING
        self.store.rpc("AppStopping", f"{app.app_id} {why}")
        for task in list(app.tasks):
            containers.kill_task(task, "stopped")
        async with self.slots:
            self.slots.notify_all()
        while app.tasks or app.outstanding:
            await asyncio.sleep(0.05)
        app.state = api_pb2.APP_STATE_STOPPED
        app.stopped_at = time.time()
        self.write_app(app)
        app.done.set()
        app.logs_changed.set()

    def write_app(self, app: App) -> None:
        functions = {}
        for tag, fid in app.function_ids.items():
            fn = self.functions.get(fid)
            if fn is not None and fn.definition is not None:
                functions[tag] = self.function_record(fn)
        self.store.write_json(
            f"apps/{app.app_id}.json",
            {
                "app_id": app.app_id,
                "description": app.description,
                "state": APP_STATE_NAMES.get(app.state, str(app.state)),
                "detached": app.detached,
                "created_at": app.created_at,
                "stopped_at": app.stopped_at or None,
                "functions": functions,
            },
        )

    # --- records of what an app asked for -----------------------------------------------------
    def image_chain(self, image_id: str) -> list[dict]:
        """The image's layers, base first: each with its Dockerfile commands."""
        chain = []
        seen = set()
        while image_id and image_id not in seen:
            seen.add(image_id)
            image = self.images.get(image_id)
            if image is None:
                break
            chain.append(
                {
                    "image_id": image_id,
                    "dockerfile_commands": list(image.dockerfile_commands),
                    "context_files": [f.filename for f in image.context_files],
                    "secret_ids": list(image.secret_ids),
                }
            )
            image_id = image.base_images[0].image_id if image.base_images else ""
        return list(reversed(chain))

    def image_env(self, image_id: str) -> dict[str, str]:
        """Variables the image's `ENV` layers set (`Image.env`), later layers winning."""
        env = {}
        for layer in self.image_chain(image_id):
            for cmd in layer["dockerfile_commands"]:
                if not cmd.startswith("ENV "):
                    continue
                words = shlex.split(cmd[4:])
                if len(words) >= 2 and "=" not in words[0]:
                    env[words[0]] = " ".join(words[1:])  # legacy `ENV KEY value`
                    continue
                for word in words:
                    key, _, value = word.partition("=")
                    env[key] = value
        return env

    def function_record(self, fn: Function) -> dict:
        d = fn.definition
        policy = d.retry_policy
        chain = self.image_chain(d.image_id)
        commands = [c for layer in chain for c in layer["dockerfile_commands"]]
        shipped = sorted(
            f.filename for mount_id in d.mount_ids for f in self.mounts.get(mount_id, [])
        )
        return {
            "function_id": fn.function_id,
            "module_name": d.module_name,
            "implementation_name": d.implementation_name,
            "definition_type": api_pb2.Function.DefinitionType.Name(d.definition_type),
            "timeout": d.timeout_secs,
            "startup_timeout": d.startup_timeout_secs,
            "retries": {
                "retries": policy.retries,
                "backoff_coefficient": policy.backoff_coefficient,
                "initial_delay_ms": policy.initial_delay_ms,
                "max_delay_ms": policy.max_delay_ms,
            }
            if d.HasField("retry_policy")
            else None,
            "cpu": d.resources.milli_cpu / 1000 if d.resources.milli_cpu else None,
            "cpu_max": d.resources.milli_cpu_max / 1000 if d.resources.milli_cpu_max else None,
            "memory_mb": d.resources.memory_mb or None,
            "memory_mb_max": d.resources.memory_mb_max or None,
            "ephemeral_disk_mb": d.resources.ephemeral_disk_mb or None,
            "gpu": d.resources.gpu_config.gpu_type or None,
            "max_containers": d.autoscaler_settings.max_containers or d.concurrency_limit or None,
            "min_containers": d.autoscaler_settings.min_containers or d.warm_pool_size or None,
            "secrets": [
                {"secret_id": s, "keys": self.secret_keys.get(s, [])} for s in d.secret_ids
            ],
            "image": {
                "image_id": d.image_id,
                "layers": chain,
                "dockerfile_commands": commands,
                "apt_packages": _packages(commands, r"apt-get install"),
                "pip_packages": _packages(commands, r"pip install"),
                "env": self.image_env(d.image_id),
            },
            "shipped_files": shipped,
        }

    # --- calls ----------------------------------------------------------------------------------
    def new_call(self, fn: Function, invocation_type: int, parent_input_id: str) -> Call:
        call = Call(
            call_id=new_id("fc"),
            function=fn,
            invocation_type=invocation_type,
            parent_input_id=parent_input_id,
        )
        self.calls[call.call_id] = call
        return call

    def put_input(self, call: Call, idx: int, proto: api_pb2.FunctionInput) -> Input:
        inp = Input(input_id=new_id("in"), call=call, idx=idx, proto=proto)
        call.inputs[idx] = inp
        self.inputs[inp.input_id] = inp
        app = call.function.app
        if app.stopping or app.is_stopped():
            self.finish_input(inp, _terminated(), 0, "")
            return inp
        app.outstanding += 1
        asyncio.get_running_loop().create_task(self._run_input(inp))
        return inp

    def _can_start(self, fn: Function) -> bool:
        cap = fn.definition.autoscaler_settings.max_containers or fn.definition.concurrency_limit
        if cap and fn.running >= cap:
            return False
        return not (self.global_cap and self.running_total >= self.global_cap)

    async def _run_input(self, inp: Input) -> None:
        fn = inp.call.function
        app = fn.app
        policy = fn.definition.retry_policy
        attempt = 0
        try:
            while True:
                async with self.slots:
                    await self.slots.wait_for(lambda: app.stopping or self._can_start(fn))
                    if app.stopping or inp.state == "done":
                        break
                    fn.running += 1
                    self.running_total += 1
                inp.state = "running"
                try:
                    task, rc = await containers.run_task(self, inp, attempt)
                finally:
                    async with self.slots:
                        fn.running -= 1
                        self.running_total -= 1
                        self.slots.notify_all()
                result, data_format = self._task_result(task, rc)
                retriable = result.status not in (
                    GENERIC.GENERIC_STATUS_SUCCESS,
                    GENERIC.GENERIC_STATUS_TERMINATED,
                )
                if retriable and attempt < policy.retries and not app.stopping:
                    delay_ms = (
                        policy.initial_delay_ms * (policy.backoff_coefficient or 1) ** attempt
                    )
                    if policy.max_delay_ms:
                        delay_ms = min(delay_ms, policy.max_delay_ms)
                    attempt += 1
                    inp.state = "queued"
                    # A stop must not wait out a long retry delay.
                    try:
                        await asyncio.wait_for(app.stop_requested.wait(), delay_ms / 1000)
                    except TimeoutError:
                        pass
                    continue
                self.finish_input(inp, result, data_format, task.task_id)
                return
        except Exception as exc:
            # A bug or an OS failure here must fail the call visibly, not hang the client.
            traceback.print_exc(file=sys.stderr)
            msg = f"modal-sim could not run {fn.tag} (input {inp.input_id}): {exc!r}"
            failure = GENERIC(status=GENERIC.GENERIC_STATUS_INTERNAL_FAILURE, exception=msg)
            self.finish_input(inp, failure, 0, "")
        finally:
            if inp.state != "done":
                self.finish_input(inp, _terminated(), 0, "")
            app.outstanding -= 1
            self.maybe_finish_detached(app)

    def _task_result(self, task: Task, rc: int) -> tuple[api_pb2.GenericResult, int]:
        fn = task.input.call.function
        if task.killed_reason == "timeout":
            timeout_s = fn.definition.timeout_secs or containers.DEFAULT_TIMEOUT_S
            msg = f"Task's current input {task.input.input_id} hit its timeout of {timeout_s}s"
            return GENERIC(status=GENERIC.GENERIC_STATUS_TIMEOUT, exception=msg), 0
        if task.output is not None:
            return task.output.result, task.output.data_format
        if task.killed_reason in ("stopped", "cancelled"):
            return _terminated(), 0
        if task.task_result is not None:
            return task.task_result, api_pb2.DATA_FORMAT_PICKLE
        msg = (
            f"Runner for {fn.tag} ({task.task_id}) exited with code {rc} before returning a result"
        )
        return GENERIC(status=GENERIC.GENERIC_STATUS_INTERNAL_FAILURE, exception=msg), 0

    def finish_input(self, inp: Input, result, data_format: int, task_id: str) -> None:
        if inp.state == "done":
            return
        inp.state = "done"
        inp.output = api_pb2.FunctionGetOutputsItem(
            result=result,
            idx=inp.idx,
            input_id=inp.input_id,
            data_format=data_format,
            task_id=task_id,
            # Retries happen here, server side; the client only ever sees its first attempt.
            retry_count=0,
            output_created_at=time.time(),
        )
        inp.call.outputs.append(inp.output)
        inp.call.notify()

    def cancel_call(self, call: Call) -> None:
        for inp in call.inputs.values():
            for task in list(call.function.app.tasks):
                if task.input is inp:
                    containers.kill_task(task, "cancelled")
            if inp.state == "queued":
                self.finish_input(inp, _terminated(), 0, "")

    # --- per-task control plane -----------------------------------------------------------------
    async def serve_task(self, task: Task, sock: Path) -> Server:
        server = Server([self.servicer_factory(task)])
        await server.start(path=str(sock))
        return server


def _terminated() -> api_pb2.GenericResult:
    return GENERIC(
        status=GENERIC.GENERIC_STATUS_TERMINATED,
        exception="Function call terminated: its app was stopped or the call was cancelled",
    )


def _packages(commands: list[str], marker: str) -> list[str]:
    """Package names from `RUN apt-get install …` / `RUN python -m pip install …` commands."""
    found = []
    for cmd in commands:
        for part in re.split(r"&&|;", cmd):
            if marker not in part:
                continue
            tail = part.split(marker, 1)[1]
            for token in tail.split():
                token = token.strip("'\"")
                if token and not token.startswith("-") and token != "install":
                    found.append(token)
    return found
