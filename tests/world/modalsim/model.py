"""In-memory model of the stand-in's world (apps, functions, calls, inputs, tasks) and what of it
is written to the state directory.

Only the server process touches these objects; they live on one asyncio loop, so no locks.
Records written to disk never hold secret values (secrets are kept in memory only).
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

from modal_proto import api_pb2

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id shaped like Modal's (`ap-` + 22 alphanumerics), so the CLI's regexes accept it."""
    return prefix + "-" + "".join(random.choice(_ALPHABET) for _ in range(22))


@dataclass(eq=False)
class Input:
    input_id: str
    call: Call
    idx: int
    proto: api_pb2.FunctionInput
    state: str = "queued"  # queued | running | done
    output: api_pb2.FunctionGetOutputsItem | None = None


@dataclass(eq=False)
class Call:
    """A function call (`fc-…`): one `.remote()`/`.spawn()` input, or the inputs of one map."""

    call_id: str
    function: Function
    invocation_type: int
    parent_input_id: str
    inputs: dict[int, Input] = field(default_factory=dict)
    # Outputs in arrival order; FunctionGetOutputs' entry ids are 1-based positions in this list.
    outputs: list[api_pb2.FunctionGetOutputsItem] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def unfinished(self) -> int:
        return sum(1 for i in self.inputs.values() if i.state != "done")

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


@dataclass(eq=False)
class Function:
    function_id: str
    app: App
    tag: str
    handle_metadata: api_pb2.FunctionHandleMetadata
    definition: api_pb2.Function | None = None
    running: int = 0


@dataclass(eq=False)
class Task:
    """One container: a subprocess running one input."""

    task_id: str
    input: Input
    attempt: int
    started_at: float = 0.0
    ended_at: float = 0.0
    proc: asyncio.subprocess.Process | None = None
    input_delivered: asyncio.Event = field(default_factory=asyncio.Event)
    output: api_pb2.FunctionPutOutputsItem | None = None
    task_result: api_pb2.GenericResult | None = None
    killed_reason: str = ""  # "" | "timeout" | "stopped" | "cancelled"


@dataclass(eq=False)
class App:
    app_id: str
    description: str
    state: int
    detached: bool
    created_at: float
    stopped_at: float = 0.0
    client_gone: bool = False
    stopping: bool = False
    outstanding: int = 0  # inputs not yet done
    client_peer: object = None
    last_heartbeat: float = 0.0
    function_ids: dict[str, str] = field(default_factory=dict)
    class_ids: dict[str, str] = field(default_factory=dict)
    object_ids: set[str] = field(default_factory=set)
    logs: list[api_pb2.TaskLogsBatch] = field(default_factory=list)
    logs_changed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[Task] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def page_url(self) -> str:
        return f"https://modal.com/apps/modal-sim/main/{self.app_id}"

    def add_log(self, batch: api_pb2.TaskLogsBatch) -> None:
        batch.entry_id = str(len(self.logs) + 1)
        self.logs.append(batch)
        self.logs_changed.set()
        self.logs_changed = asyncio.Event()

    def is_stopped(self) -> bool:
        return self.state == api_pb2.APP_STATE_STOPPED


class StateDir:
    """Writes what an app asked of Modal, and every container run, under the state directory.

    Layout: `apps/<ap-id>.json` (app + functions with settings and image), `images/<im-id>.json`,
    `tasks.jsonl` (one line per container: start/end time, status), `rpc.log` (RPC names).
    """

    def __init__(self, root: Path):
        self.root = root
        for sub in ("apps", "images", "blobs", "mounts"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._rpc_log = open(root / "rpc.log", "a", buffering=1)

    def rpc(self, name: str, detail: str = "") -> None:
        self._rpc_log.write(f"{time.time():.3f} {name} {detail}\n".rstrip() + "\n")

    def write_json(self, rel: str, payload: dict) -> None:
        path = self.root / rel
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
        tmp.replace(path)

    def append_task(self, record: dict) -> None:
        with open(self.root / "tasks.jsonl", "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def blob_path(self, blob_id: str) -> Path:
        return self.root / "blobs" / blob_id

    def file_path(self, sha256_hex: str) -> Path:
        return self.root / "mounts" / sha256_hex
