"""The gRPC control plane the real `modal` client talks to (modal_proto's `ModalClient` service,
served with grpclib). Each handler translates one RPC into `Sim` operations.

One servicer class serves both the client's TCP port (task=None) and each container's unix socket
(task=the container), so container-only RPCs know which task called. RPCs nobody implemented
answer an empty reply and are logged to `rpc.log` as `unimplemented`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import sys
import time

from grpclib import GRPCError, Status
from grpclib.const import Cardinality
from modal_proto import api_grpc, api_pb2

from .model import App, Function, Task, new_id
from .sim import Sim

Empty = api_pb2.google_dot_protobuf_dot_empty__pb2.Empty
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
OUTPUTS_WAIT_CAP_S = 55.0
LOGS_WAIT_CAP_S = 55.0
# AppFetchLogs: the most entries one request may return (modal/_logs.py `_FETCH_LIMIT`), and what
# a request without a limit gets.
FETCH_LIMIT = 20_000
DEFAULT_FETCH_LIMIT = 100


class _Names:
    def __getattr__(self, name):
        return name


_METHODS = {
    path.rsplit("/", 1)[1]: handler
    for path, handler in api_grpc.ModalClientBase.__mapping__(_Names()).items()
}


def _unimplemented(name, handler):
    async def generic(self, stream):
        if handler.cardinality in (Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM):
            await stream.recv_message()
        self.sim.store.rpc("unimplemented", name)
        if handler.cardinality == Cardinality.UNARY_UNARY:
            await stream.send_message(handler.reply_type())

    generic.__name__ = name
    return generic


_Base = type(
    "_Base",
    (api_grpc.ModalClientBase,),
    {name: _unimplemented(name, h) for name, h in _METHODS.items()},
)


def _seconds(ts) -> float:
    return ts.seconds + ts.nanos / 1e9


def _entry_seq(entry_id: str) -> int:
    try:
        return int((entry_id or "0").split("-")[0])
    except ValueError:
        return 0


class Servicer(_Base):
    def __init__(self, sim: Sim, task: Task | None = None):
        self.sim = sim
        self.task = task

    async def _recv(self, stream, name: str):
        req = await stream.recv_message()
        self.sim.store.rpc(name, self.task.task_id if self.task else "")
        return req

    def _app(self, app_id: str) -> App:
        app = self.sim.apps.get(app_id)
        if app is None:
            raise GRPCError(Status.NOT_FOUND, f"App {app_id} not found")
        return app

    def _function(self, function_id: str):
        fn = self.sim.functions.get(function_id)
        if fn is None:
            raise GRPCError(Status.NOT_FOUND, f"Function {function_id} not found")
        return fn

    def _call(self, call_id: str):
        call = self.sim.calls.get(call_id)
        if call is None:
            raise GRPCError(Status.NOT_FOUND, f"Function call {call_id} not found")
        return call

    # --- identity / environment ---------------------------------------------------------------
    @staticmethod
    def _authenticate(stream) -> str:
        """The caller's token id. Modal refuses a request whose credentials are not a token pair;
        the client turns UNAUTHENTICATED into `AuthError` (assumption: the real service checks the
        pair itself; the stand-in only checks its shape)."""
        token_id = stream.metadata.get("x-modal-token-id", "")
        if not token_id.startswith("ak-") or not stream.metadata.get(
            "x-modal-token-secret", ""
        ).startswith("as-"):
            raise GRPCError(Status.UNAUTHENTICATED, "Token ID or secret is invalid")
        return token_id

    async def TokenInfoGet(self, stream):
        await self._recv(stream, "TokenInfoGet")
        token_id = self._authenticate(stream)
        await stream.send_message(
            api_pb2.TokenInfoGetResponse(
                token_id=token_id,
                workspace_id="ac-modalsim",
                workspace_name="modal-sim",
                user_identity=api_pb2.UserIdentity(username="modal-sim-user", user_id="us-sim"),
            )
        )

    async def EnvironmentGetOrCreate(self, stream):
        await self._recv(stream, "EnvironmentGetOrCreate")
        settings = api_pb2.EnvironmentSettings(
            image_builder_version="2025.06", webhook_suffix="modal.run"
        )
        await stream.send_message(
            api_pb2.EnvironmentGetOrCreateResponse(
                environment_id="en-modalsim",
                metadata=api_pb2.EnvironmentMetadata(name="main", settings=settings),
            )
        )

    # --- apps ---------------------------------------------------------------------------------
    async def AppCreate(self, stream):
        req = await self._recv(stream, "AppCreate")
        self._authenticate(stream)
        app = self.sim.create_app(req.description, req.app_state, stream.peer.addr())
        await stream.send_message(
            api_pb2.AppCreateResponse(
                app_id=app.app_id,
                app_page_url=app.page_url,
                app_logs_url=f"https://modal.com/logs/{app.app_id}",
            )
        )

    async def AppPublish(self, stream):
        req = await self._recv(stream, "AppPublish")
        app = self._app(req.app_id)
        app.function_ids.update(req.function_ids)
        app.class_ids.update(req.class_ids)
        self.sim.write_app(app)
        await stream.send_message(api_pb2.AppPublishResponse(url=app.page_url))

    async def AppGetLayout(self, stream):
        req = await self._recv(stream, "AppGetLayout")
        app = self._app(req.app_id)
        await stream.send_message(api_pb2.AppGetLayoutResponse(app_layout=self.sim.layout(app)))

    async def AppHeartbeat(self, stream):
        req = await self._recv(stream, "AppHeartbeat")
        app = self.sim.apps.get(req.app_id)
        if app is not None and not app.client_gone:
            app.client_peer = stream.peer.addr()
            app.last_heartbeat = time.monotonic()
        await stream.send_message(Empty())

    async def AppClientDisconnect(self, stream):
        req = await self._recv(stream, "AppClientDisconnect")
        app = self._app(req.app_id)
        self.sim.store.rpc(
            "AppClientDisconnect.reason", api_pb2.AppDisconnectReason.Name(req.reason)
        )
        self.sim.client_disconnected(app)
        await stream.send_message(Empty())

    async def AppStop(self, stream):
        req = await self._recv(stream, "AppStop")
        self._authenticate(stream)
        app = self._app(req.app_id)
        asyncio.get_running_loop().create_task(self.sim.stop_app(app, "modal app stop"))
        await stream.send_message(Empty())

    async def AppGetLifecycle(self, stream):
        req = await self._recv(stream, "AppGetLifecycle")
        app = self._app(req.app_id)
        await stream.send_message(
            api_pb2.AppGetLifecycleResponse(
                lifecycle=api_pb2.AppLifecycle(
                    app_state=app.state,
                    created_at=app.created_at,
                    stopped_at=app.stopped_at,
                )
            )
        )

    async def AppGetByDeploymentName(self, stream):
        await self._recv(stream, "AppGetByDeploymentName")
        # `modal run` apps are never deployed; names resolve to nothing, as on Modal.
        await stream.send_message(api_pb2.AppGetByDeploymentNameResponse(environment_name="main"))

    async def AppList(self, stream):
        await self._recv(stream, "AppList")
        self._authenticate(stream)
        items = [
            api_pb2.AppListResponse.AppListItem(
                app_id=app.app_id,
                description=app.description,
                state=app.state,
                n_running_tasks=len(app.tasks),
                created_at=app.created_at,
                stopped_at=app.stopped_at,
            )
            for app in sorted(self.sim.apps.values(), key=lambda a: a.created_at, reverse=True)
        ]
        await stream.send_message(api_pb2.AppListResponse(apps=items))

    # --- logs -----------------------------------------------------------------------------------
    # `modal app logs` (cli/_logs.py, _logs.py in modal 1.6.4) asks three ways: `-f` streams with
    # AppGetLogs from a cursor; the default and `--tail N` send one AppFetchLogs (`limit` = N,
    # the *last* N entries, widening the lookback 1 h → 30 d); `--since/--until` count entries per
    # time bucket (AppCountLogs, refined while a bucket holds more than 20000) and then fetch each
    # interval. Entries are lines; time ranges are [since, until).
    @staticmethod
    def _log_matches(batch: api_pb2.TaskLogsBatch, req) -> bool:
        if req.task_id and batch.task_id != req.task_id:
            return False
        if req.function_id and batch.function_id != req.function_id:
            return False
        if getattr(req, "input_id", "") and batch.input_id != req.input_id:
            return False
        if req.function_call_id and not any(
            i.function_call_id == req.function_call_id for i in batch.items
        ):
            return False
        return True

    @staticmethod
    def _entry_matches(item: api_pb2.TaskLogs, source: int, search: str) -> bool:
        if source and item.file_descriptor != source:
            return False
        return not search or search in item.data

    def _entries(self, app: App, req, since: float | None, until: float | None):
        """(batch, entry) pairs of the app's log matching a fetch or count request, oldest first."""
        for batch in app.logs:
            if not self._log_matches(batch, req):
                continue
            for item in batch.items:
                if not self._entry_matches(item, req.source, req.search_text):
                    continue
                if since is not None and item.timestamp < since:
                    continue
                if until is not None and item.timestamp >= until:
                    continue
                yield batch, item

    async def AppGetLogs(self, stream):
        req = await self._recv(stream, "AppGetLogs")
        self._authenticate(stream)
        app = self._app(req.app_id)
        if not req.last_entry_id:
            self.sim.store.rpc(
                "AppGetLogs.start",
                f"{app.app_id} {'replay' if self.sim.follow_replays else 'from-now'}",
            )
        if req.last_entry_id or self.sim.follow_replays:
            pos = _entry_seq(req.last_entry_id)
        else:
            # Following from now: hand the client a cursor at once (an entry id without lines),
            # so a poll that times out with nothing new does not lose what comes meanwhile.
            pos = len(app.logs)
            await stream.send_message(api_pb2.TaskLogsBatch(entry_id=str(pos)))
        deadline = time.monotonic() + min(req.timeout or 0, LOGS_WAIT_CAP_S)
        while True:
            changed = app.logs_changed
            done = app.done.is_set()
            sent = False
            while pos < len(app.logs):
                batch = app.logs[pos]
                pos += 1
                if not self._log_matches(batch, req):
                    continue
                if req.file_descriptor and not any(
                    i.file_descriptor == req.file_descriptor for i in batch.items
                ):
                    continue
                await stream.send_message(batch)
                sent = True
            if done:
                await stream.send_message(api_pb2.TaskLogsBatch(app_done=True))
                return
            left = deadline - time.monotonic()
            if sent or left <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=left)
            except TimeoutError:
                return

    async def AppFetchLogs(self, stream):
        req = await self._recv(stream, "AppFetchLogs")
        self._authenticate(stream)
        app = self._app(req.app_id)
        since = _seconds(req.since) if req.HasField("since") else None
        until = _seconds(req.until) if req.HasField("until") else None
        if req.limit > FETCH_LIMIT:
            raise GRPCError(
                Status.INVALID_ARGUMENT, f"limit must not exceed {FETCH_LIMIT} log entries"
            )
        entries = list(self._entries(app, req, since, until))
        # The most recent `limit` entries, in order, one batch each (the ids stay the batch's).
        entries = entries[-(req.limit or DEFAULT_FETCH_LIMIT) :]
        batches = [
            api_pb2.TaskLogsBatch(
                task_id=batch.task_id,
                function_id=batch.function_id,
                input_id=batch.input_id,
                entry_id=batch.entry_id,
                items=[item],
            )
            for batch, item in entries
        ]
        await stream.send_message(api_pb2.AppFetchLogsResponse(batches=batches))

    async def AppCountLogs(self, stream):
        req = await self._recv(stream, "AppCountLogs")
        self._authenticate(stream)
        app = self._app(req.app_id)
        since = _seconds(req.since) if req.HasField("since") else 0.0
        until = _seconds(req.until) if req.HasField("until") else time.time() + 1
        width = req.bucket_secs or 60
        # Buckets are aligned to multiples of their width since the epoch (the client clamps the
        # first and last to its range: `_refine_ranges` in modal/_logs.py).
        first = int(since // width) * width
        counts: dict[int, dict[str, int]] = {}
        fd_field = {
            api_pb2.FILE_DESCRIPTOR_STDOUT: "stdout_logs",
            api_pb2.FILE_DESCRIPTOR_STDERR: "stderr_logs",
        }
        for _, item in self._entries(app, req, since, until):
            start = int(item.timestamp // width) * width
            bucket = counts.setdefault(start, {})
            name = fd_field.get(item.file_descriptor, "system_logs")
            bucket[name] = bucket.get(name, 0) + 1
        buckets = []
        for start in range(first, int(math.ceil(until)), width):
            bucket = api_pb2.AppCountLogsResponse.LogBucket(**counts.get(start, {}))
            bucket.bucket_start_at.FromSeconds(start)
            buckets.append(bucket)
        await stream.send_message(api_pb2.AppCountLogsResponse(app_id=app.app_id, buckets=buckets))

    # --- objects: mounts, blobs, secrets, images --------------------------------------------------
    async def MountBatchedCheckExistence(self, stream):
        req = await self._recv(stream, "MountBatchedCheckExistence")
        missing = [h for h in req.sha256_hex_hashes if not self.sim.store.file_path(h).exists()]
        await stream.send_message(
            api_pb2.MountBatchedCheckExistenceResponse(missing_sha256_hex_hashes=missing)
        )

    async def MountPutFile(self, stream):
        req = await self._recv(stream, "MountPutFile")
        dest = self.sim.store.file_path(req.sha256_hex)
        if req.WhichOneof("data_oneof") == "data_blob_id":
            data = self.sim.store.blob_path(req.data_blob_id).read_bytes()
        else:
            data = req.data
        if hashlib.sha256(data).hexdigest() != req.sha256_hex:
            raise GRPCError(Status.INVALID_ARGUMENT, f"sha256 mismatch for {req.sha256_hex}")
        tmp = dest.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)
        await stream.send_message(api_pb2.MountPutFileResponse(exists=True))

    async def MountGetOrCreate(self, stream):
        req = await self._recv(stream, "MountGetOrCreate")
        mount_id = new_id("mo")
        # Named mounts are Modal's own (e.g. `modal-client-mount-<version>`, the client package
        # for the container); the .venv already has it, so they materialize to nothing.
        self.sim.mounts[mount_id] = [] if req.deployment_name else list(req.files)
        digest = hashlib.sha256()
        for f in sorted(req.files, key=lambda f: f.filename):
            digest.update(f"{f.filename}:{f.sha256_hex}\n".encode())
        app = self.sim.apps.get(req.app_id)
        if app is not None:
            app.object_ids.add(mount_id)
        await stream.send_message(
            api_pb2.MountGetOrCreateResponse(
                mount_id=mount_id,
                handle_metadata=api_pb2.MountHandleMetadata(
                    content_checksum_sha256_hex=digest.hexdigest()
                ),
            )
        )

    async def BlobCreate(self, stream):
        await self._recv(stream, "BlobCreate")
        blob_id = new_id("bl")
        await stream.send_message(
            api_pb2.BlobCreateResponse(
                blob_ids=[blob_id],
                upload_urls=api_pb2.UploadUrlList(items=[f"{self.sim.blob_url}/{blob_id}"]),
            )
        )

    async def BlobGet(self, stream):
        req = await self._recv(stream, "BlobGet")
        if not self.sim.store.blob_path(req.blob_id).exists():
            raise GRPCError(Status.NOT_FOUND, f"Blob {req.blob_id} not found")
        await stream.send_message(
            api_pb2.BlobGetResponse(download_url=f"{self.sim.blob_url}/{req.blob_id}")
        )

    async def SecretGetOrCreate(self, stream):
        req = await self._recv(stream, "SecretGetOrCreate")
        if req.deployment_name:
            raise GRPCError(
                Status.NOT_FOUND,
                f"Secret {req.deployment_name!r} not found (modal-sim has no named secrets; "
                "use Secret.from_dict or Secret.from_local_environ)",
            )
        secret_id = new_id("st")
        self.sim.secrets[secret_id] = dict(req.env_dict)
        self.sim.secret_keys[secret_id] = sorted(req.env_dict)
        app = self.sim.apps.get(req.app_id)
        if app is not None:
            app.object_ids.add(secret_id)
        await stream.send_message(
            api_pb2.SecretGetOrCreateResponse(
                secret_id=secret_id,
                metadata=api_pb2.SecretMetadata(keys=sorted(req.env_dict)),
            )
        )

    async def ImageGetOrCreate(self, stream):
        req = await self._recv(stream, "ImageGetOrCreate")
        image_id = new_id("im")
        self.sim.images[image_id] = req.image
        self.sim.store.write_json(
            f"images/{image_id}.json",
            {
                "image_id": image_id,
                "app_id": req.app_id,
                "builder_version": req.builder_version,
                "base_images": [
                    {"image_id": b.image_id, "docker_tag": b.docker_tag}
                    for b in req.image.base_images
                ],
                "dockerfile_commands": list(req.image.dockerfile_commands),
                "context_files": [f.filename for f in req.image.context_files],
            },
        )
        app = self.sim.apps.get(req.app_id)
        if app is not None:
            app.object_ids.add(image_id)
        # Not built yet (no result): the client waits for the build with ImageJoinStreaming.
        self.sim.image_builds.start(image_id)
        await stream.send_message(api_pb2.ImageGetOrCreateResponse(image_id=image_id))

    async def ImageJoinStreaming(self, stream):
        req = await self._recv(stream, "ImageJoinStreaming")
        build = self.sim.image_builds.builds.get(req.image_id)
        if build is None:
            raise GRPCError(Status.NOT_FOUND, f"Image {req.image_id} not found")
        pos = _entry_seq(req.last_entry_id)
        deadline = time.monotonic() + min(req.timeout or 0, LOGS_WAIT_CAP_S)
        while True:
            changed = build.changed
            if pos < len(build.logs):
                await stream.send_message(
                    api_pb2.ImageJoinStreamingResponse(
                        task_logs=build.logs[pos:], entry_id=str(len(build.logs))
                    )
                )
                pos = len(build.logs)
            if build.result is not None:
                await stream.send_message(
                    api_pb2.ImageJoinStreamingResponse(
                        result=build.result,
                        eof=True,
                        metadata=api_pb2.ImageMetadata(python_version_info=PYTHON_VERSION),
                    )
                )
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=left)
            except TimeoutError:
                return

    # --- functions ------------------------------------------------------------------------------
    async def FunctionPrecreate(self, stream):
        req = await self._recv(stream, "FunctionPrecreate")
        app = self._app(req.app_id)
        fid = req.existing_function_id or new_id("fu")
        meta = api_pb2.FunctionHandleMetadata(
            function_name=req.function_name,
            function_type=req.function_type,
            supported_input_formats=req.supported_input_formats or [api_pb2.DATA_FORMAT_PICKLE],
            supported_output_formats=req.supported_output_formats or [api_pb2.DATA_FORMAT_PICKLE],
            app_id=app.app_id,
        )
        self.sim.functions[fid] = Function(
            function_id=fid, app=app, tag=req.function_name, handle_metadata=meta
        )
        app.object_ids.add(fid)
        await stream.send_message(
            api_pb2.FunctionPrecreateResponse(function_id=fid, handle_metadata=meta)
        )

    async def FunctionCreate(self, stream):
        req = await self._recv(stream, "FunctionCreate")
        app = self._app(req.app_id)
        if req.HasField("function"):
            definition = req.function
        elif req.function_data.ranked_functions:
            definition = req.function_data.ranked_functions[0].function
        else:
            raise GRPCError(Status.INVALID_ARGUMENT, "FunctionCreate without a definition")
        fid = req.existing_function_id or new_id("fu")
        fn = self.sim.functions.get(fid)
        meta = api_pb2.FunctionHandleMetadata(
            function_name=definition.function_name,
            function_type=definition.function_type,
            supported_input_formats=definition.supported_input_formats
            or [api_pb2.DATA_FORMAT_PICKLE],
            supported_output_formats=definition.supported_output_formats
            or [api_pb2.DATA_FORMAT_PICKLE],
            is_method=definition.is_method,
            app_id=app.app_id,
        )
        if definition.HasField("function_schema"):
            meta.function_schema.CopyFrom(definition.function_schema)
        if fn is None:
            fn = Function(
                function_id=fid, app=app, tag=definition.function_name, handle_metadata=meta
            )
            self.sim.functions[fid] = fn
        fn.handle_metadata = meta
        fn.definition = definition
        app.object_ids.add(fid)
        app.function_ids[definition.function_name] = fid
        self.sim.write_app(app)
        await stream.send_message(
            api_pb2.FunctionCreateResponse(
                function_id=fid,
                function=definition,
                function_data=api_pb2.FunctionData(
                    ranked_functions=[
                        api_pb2.FunctionData.RankedFunction(rank=0, function=definition)
                    ]
                ),
                handle_metadata=meta,
            )
        )

    async def FunctionMap(self, stream):
        req = await self._recv(stream, "FunctionMap")
        fn = self._function(req.function_id)
        if fn.definition is None:
            raise GRPCError(Status.FAILED_PRECONDITION, f"Function {fn.tag} was never created")
        call = self.sim.new_call(fn, req.function_call_invocation_type, req.parent_input_id)
        items = []
        for item in req.pipelined_inputs:
            inp = self.sim.put_input(call, item.idx, item.input)
            items.append(
                api_pb2.FunctionPutInputsResponseItem(
                    idx=item.idx, input_id=inp.input_id, input_jwt=f"jwt-{inp.input_id}"
                )
            )
        policy = fn.definition.retry_policy
        await stream.send_message(
            api_pb2.FunctionMapResponse(
                function_call_id=call.call_id,
                pipelined_inputs=items,
                function_call_jwt=f"jwt-{call.call_id}",
                retry_policy=policy,
                # Retries happen server side (see sim.Sim._run_input).
                sync_client_retries_enabled=False,
                max_inputs_outstanding=1000,
            )
        )

    async def FunctionPutInputs(self, stream):
        req = await self._recv(stream, "FunctionPutInputs")
        call = self._call(req.function_call_id)
        items = []
        for item in req.inputs:
            inp = self.sim.put_input(call, item.idx, item.input)
            items.append(
                api_pb2.FunctionPutInputsResponseItem(
                    idx=item.idx, input_id=inp.input_id, input_jwt=f"jwt-{inp.input_id}"
                )
            )
        await stream.send_message(api_pb2.FunctionPutInputsResponse(inputs=items))

    async def FunctionFinishInputs(self, stream):
        await self._recv(stream, "FunctionFinishInputs")
        await stream.send_message(Empty())

    async def FunctionGetOutputs(self, stream):
        req = await self._recv(stream, "FunctionGetOutputs")
        call = self._call(req.function_call_id)
        deadline = time.monotonic() + min(req.timeout or 0, OUTPUTS_WAIT_CAP_S)
        ranged = req.start_idx or req.end_idx
        start = _entry_seq(req.last_entry_id)
        while True:
            changed = call.changed
            if ranged:
                outs = [o for o in call.outputs if req.start_idx <= o.idx <= req.end_idx]
                last = len(call.outputs)
            else:
                outs = call.outputs[start:]
                last = len(call.outputs)
            left = deadline - time.monotonic()
            if outs or left <= 0:
                await stream.send_message(
                    api_pb2.FunctionGetOutputsResponse(
                        outputs=outs,
                        last_entry_id=f"{last}-0",
                        num_unfinished_inputs=call.unfinished(),
                    )
                )
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=left)
            except TimeoutError:
                pass

    async def FunctionRetryInputs(self, stream):
        req = await self._recv(stream, "FunctionRetryInputs")
        call = self._call(req.function_call_jwt.removeprefix("jwt-"))
        jwts = []
        for item in req.inputs:
            old = self.sim.inputs.get(item.input_jwt.removeprefix("jwt-"))
            idx = old.idx if old else len(call.inputs)
            inp = self.sim.put_input(call, idx, item.input)
            jwts.append(f"jwt-{inp.input_id}")
        await stream.send_message(api_pb2.FunctionRetryInputsResponse(input_jwts=jwts))

    async def FunctionCallCancel(self, stream):
        req = await self._recv(stream, "FunctionCallCancel")
        self.sim.cancel_call(self._call(req.function_call_id))
        await stream.send_message(Empty())

    async def FunctionCallFromId(self, stream):
        req = await self._recv(stream, "FunctionCallFromId")
        call = self._call(req.function_call_id)
        await stream.send_message(
            api_pb2.FunctionCallFromIdResponse(
                function_call_id=call.call_id,
                num_inputs=len(call.inputs),
                metadata=api_pb2.FunctionCallHandleMetadata(
                    app_id=call.function.app.app_id, function_id=call.function.function_id
                ),
            )
        )

    # --- container side (per-task unix socket) ------------------------------------------------
    def _task(self) -> Task:
        if self.task is None:
            raise GRPCError(Status.PERMISSION_DENIED, "container RPC outside a container")
        return self.task

    async def ContainerHello(self, stream):
        await self._recv(stream, "ContainerHello")
        await stream.send_message(Empty())

    async def ContainerHeartbeat(self, stream):
        await self._recv(stream, "ContainerHeartbeat")
        await stream.send_message(api_pb2.ContainerHeartbeatResponse())

    async def FunctionGetInputs(self, stream):
        await self._recv(stream, "FunctionGetInputs")
        task = self._task()
        if task.input_delivered.is_set():
            item = api_pb2.FunctionGetInputsItem(kill_switch=True)
        else:
            inp = task.input
            item = api_pb2.FunctionGetInputsItem(
                input_id=inp.input_id,
                input=inp.proto,
                function_call_id=inp.call.call_id,
                function_call_invocation_type=inp.call.invocation_type,
                retry_count=task.attempt,
                function_map_idx=inp.idx,
                attempt_token=f"at-{task.task_id}",
            )
            task.input_delivered.set()
        await stream.send_message(api_pb2.FunctionGetInputsResponse(inputs=[item]))

    async def FunctionPutOutputs(self, stream):
        req = await self._recv(stream, "FunctionPutOutputs")
        task = self._task()
        for out in req.outputs:
            if out.input_id == task.input.input_id:
                task.output = out
        await stream.send_message(Empty())

    async def TaskResult(self, stream):
        req = await self._recv(stream, "TaskResult")
        self._task().task_result = req.result
        await stream.send_message(Empty())

    async def FunctionGetDynamicConcurrency(self, stream):
        await self._recv(stream, "FunctionGetDynamicConcurrency")
        await stream.send_message(api_pb2.FunctionGetDynamicConcurrencyResponse(concurrency=1))
