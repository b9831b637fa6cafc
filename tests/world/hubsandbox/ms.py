"""ModelScope side of the hub sandbox: the HTTP handler `__main__` serves on the MS port.

`make_handler(ctx)` returns a `httpbase.BaseHandler` subclass. The routes and repo semantics live
in `ms_api.py` (`MsApi`), `ms_files.py` and `ms_common.py`; this module only adapts one HTTP
exchange to them, so that downloads and blob uploads go through the shared streaming, fault
(`faults.py`) and shaping (`shaping.py`) code like the HF side's traffic does.

Clients: `MODELSCOPE_ENDPOINT=<ms_endpoint>` (plain http is fine) and, outside Alibaba Cloud,
`MODELSCOPE_DOWNLOAD_INTRA_CLOUD=false` (the region probe is answered 404 anyway).
"""

from __future__ import annotations

from . import httpbase
from .ms_api import MsApi
from .ms_common import envelope


class Exchange:
    """One request as `MsApi` sees it: decoded path, single-valued query, body and replies."""

    def __init__(self, handler: httpbase.BaseHandler):
        self.h = handler
        self.method = handler.method
        self.path = handler.url_path
        self.query = {k: v[0] for k, v in handler.query.items() if v}
        self.headers = handler.headers
        self.base_url = handler.ctx.endpoint

    @property
    def route(self) -> str:
        return self.h.route

    @route.setter
    def route(self, value: str) -> None:
        self.h.route = value

    def json(self):
        return self.h.read_json()

    def body_bytes(self) -> bytes:
        return self.h.read_body()

    def content_length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        return int(raw) if raw and raw.isdigit() else None

    def store_body(self, objects, size: int, expected_sha256: str) -> str:
        """Streams the request body into the LFS object store (paying the upload bucket)."""
        return objects.put_stream(self.h.body, size, expected_sha256=expected_sha256)

    def drop_upload(self, repo_id: str, oid: str, size: int) -> None:
        """Applies a `drop_upload` fault to this blob PUT: reads N bytes of the body, then
        closes the connection without an answer (the transport logs it with no status)."""
        after = self.h.ctx.faults.upload_plan("ms", repo_id, oid, size)
        if after is None:
            return
        self.h.fault_kind = "drop_upload"
        left = after
        while left > 0:
            data = self.h.body.read(min(left, 1 << 20))
            if not data:
                break
            left -= len(data)
        raise ConnectionResetError(f"drop_upload fault: connection closed after {after} bytes")

    def reply_json(self, status: int, obj, headers: dict | None = None) -> None:
        self.h.send_json(status, obj, headers)

    def reply_file(self, fileobj, size: int, headers: dict, *, repo_id: str, path: str) -> None:
        self.h.send_file(fileobj, size, headers, repo_id=repo_id, path=path)


def make_handler(ctx: httpbase.HubContext):
    """The ModelScope handler class bound to `ctx` (platform "ms")."""
    api = MsApi(ctx.store)

    class MsHandler(httpbase.BaseHandler):
        def dispatch(self, method: str) -> None:
            api.handle(Exchange(self))

        def render_error(self, err: httpbase.HttpError) -> None:
            # Injected faults and transport errors arrive without a ModelScope envelope.
            body = err.body
            if body is None:
                body = envelope(
                    err.status, err.message, openapi=self.url_path.startswith("/openapi/")
                )
            self.send_json(err.status, body, dict(err.headers))

    MsHandler.ctx = ctx
    return MsHandler
