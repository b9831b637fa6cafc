"""Threaded HTTP/1.1 server base shared by both hubs.

Owns what every route needs and nothing hub-specific: keep-alive, request bodies (Content-Length
or chunked) streamed through a reader that feeds the upload bandwidth bucket, file responses with
Range support streamed in chunks (or `sendfile` when nothing needs to touch the bytes), the fault
hooks (latency, 429/5xx, dropped connections, corrupted bytes), byte/route statistics and the
request log the admin endpoint exposes.

A hub side (hf.py, ms.py) subclasses `BaseHandler`, implements `dispatch(method)` and
`render_error(err)`, and raises `HttpError` for any error answer. Its handler class is built by
`make_handler(ctx)` with `ctx` a `HubContext`.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import itertools
import json
import os
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from .faults import FaultSet
from .shaping import Link
from .store import Store

MAX_JSON_BODY = 512 * 1024 * 1024
# Bodies left unread up to this size are drained so the connection can be kept alive.
DRAIN_LIMIT = 1 << 20


@dataclass
class Config:
    host: str = "127.0.0.1"
    page_size: int = 1000
    lfs_multipart_threshold: int = 200 * 1000 * 1000
    lfs_multipart_chunk: int = 64 * 1000 * 1000
    # ModelScope's actions per commit (more: 422); lowered only to test batching at small scale.
    ms_commit_max_actions: int = 2000
    debug: bool = False


class Stats:
    """Counters per hub and a bounded log of requests, for the admin endpoint."""

    def __init__(self, log_size: int = 50000):
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.log: collections.deque = collections.deque(maxlen=log_size)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.hubs = {
                p: {
                    "requests": 0,
                    "bytes_sent": 0,
                    "bytes_received": 0,
                    "routes": collections.Counter(),
                    "statuses": collections.Counter(),
                }
                for p in ("hf", "ms")
            }
            self.log.clear()

    def record(self, entry: dict) -> None:
        with self._lock:
            entry["seq"] = next(self._seq)
            hub = self.hubs[entry["platform"]]
            hub["requests"] += 1
            hub["bytes_sent"] += entry["bytes_out"]
            hub["bytes_received"] += entry["bytes_in"]
            hub["routes"][entry["route"]] += 1
            hub["statuses"][str(entry["status"])] += 1
            self.log.append(entry)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                p: {
                    **{k: v for k, v in h.items() if not isinstance(v, collections.Counter)},
                    "routes": dict(h["routes"]),
                    "statuses": dict(h["statuses"]),
                }
                for p, h in self.hubs.items()
            }

    def entries(self, since: int = 0, platform: str | None = None) -> list[dict]:
        with self._lock:
            return [
                dict(e) for e in self.log if e["seq"] > since and platform in (None, e["platform"])
            ]


@dataclass
class HubContext:
    """Everything a hub's handlers share. `endpoint` is filled in once the port is bound."""

    platform: str
    store: Store
    faults: FaultSet
    link: Link
    stats: Stats
    config: Config
    endpoint: str = ""
    extra: dict = field(default_factory=dict)


class HttpError(Exception):
    """An error answer. `code` is the hub's error code (HF: X-Error-Code)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict | None = None,
        body: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.body = body


# Transfer URLs handed to clients (LFS hrefs) carry an HMAC instead of credentials, as signed
# storage URLs do; the key lives as long as the process.
URL_SECRET = os.urandom(16)


def sign(*parts: str) -> str:
    return hmac.new(URL_SECRET, "|".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def check_sig(sig: str, *parts: str) -> None:
    if not hmac.compare_digest(sig, sign(*parts)):
        raise HttpError(403, "invalid or expired LFS transfer URL", "Forbidden")


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler_cls, ctx: HubContext):
        super().__init__(address, handler_cls)
        self.ctx = ctx


class _BodyReader:
    """File-like view of the request body; counts bytes and pays the upload bucket."""

    def __init__(self, handler: BaseHandler):
        self.h = handler
        te = (handler.headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        self.left = None if self.chunked else int(handler.headers.get("Content-Length") or 0)
        self.chunk_left = 0
        self.done = not self.chunked and self.left == 0

    def _raw(self, n: int) -> bytes:
        data = self.h.rfile.read(n)
        self.h.bytes_in += len(data)
        self.h.ctx.link.up.consume(len(data))
        return data

    def read(self, n: int = -1) -> bytes:
        if self.done:
            return b""
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if not self.chunked:
            data = self._raw(min(n, self.left))
            self.left -= len(data)
            if not data or self.left == 0:
                self.done = True
            return data
        if self.chunk_left == 0:
            line = self.h.rfile.readline(1024)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                self.done = True
                return b""
            self.chunk_left = size
        data = self._raw(min(n, self.chunk_left))
        self.chunk_left -= len(data)
        if self.chunk_left == 0:
            self.h.rfile.readline(16)
        if not data:
            self.done = True
        return data

    def drain(self) -> bool:
        """Reads what is left if small; False when the connection must close instead."""
        if self.done:
            return True
        if self.left is not None and self.left > DRAIN_LIMIT:
            return False
        got = 0
        while not self.done and got <= DRAIN_LIMIT:
            got += len(self.read(65536))
        return self.done


def parse_range(header: str | None, size: int):
    """(start, end_exclusive) for a single `bytes=` range; None = whole file; raises on 416."""
    if not header or not header.strip().startswith("bytes="):
        return None
    spec = header.strip()[len("bytes=") :].split(",")[0].strip()
    first, _, last = spec.partition("-")
    try:
        if first == "":
            n = int(last)
            start, end = max(size - n, 0), size
        else:
            start = int(first)
            end = min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    if start >= size or end <= start:
        if size == 0 and start == 0:
            return None
        raise HttpError(
            416,
            f"Requested range not satisfiable (size {size})",
            "RangeNotSatisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ctx: HubContext  # set on the subclass by make_handler
    server_version = "hubsandbox/1"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.ctx.config.debug:
            sys.stderr.write(f"[{self.ctx.platform}] {fmt % args}\n")

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PATCH(self):
        self._handle("PATCH")

    def send_response(self, code, message=None):
        self.status = code
        super().send_response(code, message)

    def _handle(self, method: str) -> None:
        self.t_received = time.time()
        self.method = method
        raw_path, _, query = self.path.partition("?")
        self.raw_path = raw_path
        self.url_path = unquote(raw_path)
        self.query = parse_qs(query, keep_blank_values=True)
        self.route = "unmatched"
        self.status = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.headers_done = False
        self.fault_kind = None  # which injected fault shaped this answer, for the request log
        self.body = _BodyReader(self)
        try:
            delay, fault = self.ctx.faults.on_request(self.ctx.platform, method, self.url_path)
            if delay:
                self.fault_kind = "latency"
                time.sleep(delay)
            self.t_dispatched = time.time()
            if fault:
                self.route = "fault"
                status, headers, message = fault
                self.fault_kind = "rate_limit" if status == 429 else "server_error"
                code = "RateLimited" if status == 429 else "InternalError"
                raise HttpError(status, message, code, headers=headers)
            self.dispatch(method)
        except HttpError as err:
            if self.headers_done:
                self.close_connection = True
            else:
                self.render_error(err)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a bug in the sandbox: say so loudly, answer 500
            traceback.print_exc(file=sys.stderr)
            if self.headers_done:
                self.close_connection = True
            else:
                self.render_error(
                    HttpError(500, f"hub sandbox internal error: {exc}", "InternalError")
                )
        finally:
            if not self.close_connection and not self.body.drain():
                self.close_connection = True
            self.ctx.stats.record(
                {
                    "platform": self.ctx.platform,
                    "method": method,
                    "path": self.url_path,
                    "query": query,
                    "route": self.route,
                    "status": self.status,
                    "t_received": self.t_received,
                    "t_dispatched": getattr(self, "t_dispatched", self.t_received),
                    "t_done": time.time(),
                    "bytes_in": self.bytes_in,
                    "bytes_out": self.bytes_out,
                    "range": self.headers.get("Range"),
                    "fault": self.fault_kind,
                }
            )

    def dispatch(self, method: str) -> None:
        raise HttpError(404, "not found", "NotFound")

    def render_error(self, err: HttpError) -> None:
        body = err.body if err.body is not None else {"error": err.message}
        headers = dict(err.headers)
        if err.code:
            headers.setdefault("X-Error-Code", err.code)
        headers.setdefault("X-Error-Message", err.message.replace("\n", " "))
        self.send_json(err.status, body, headers)

    # -- request helpers -----------------------------------------------------------------------
    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def q_all(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def bearer_token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None

    def read_body(self, limit: int = MAX_JSON_BODY) -> bytes:
        data = self.body.read(limit + 1)
        rest = []
        while len(data) + sum(map(len, rest)) <= limit and not self.body.done:
            chunk = self.body.read(1 << 20)
            if not chunk:
                break
            rest.append(chunk)
        data = data + b"".join(rest)
        if len(data) > limit:
            raise HttpError(413, f"request body larger than {limit} bytes", "PayloadTooLarge")
        return data

    def read_json(self):
        raw = self.read_body()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise HttpError(400, "request body is not valid JSON", "BadRequest") from None

    # -- response helpers ----------------------------------------------------------------------
    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.headers_done = True
        if self.method != "HEAD" and body:
            self.ctx.link.down.consume(len(body))
            self.wfile.write(body)
            self.bytes_out += len(body)

    def send_json(self, status: int, obj, headers: dict | None = None) -> None:
        self.send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def send_file(
        self,
        fileobj,
        size: int,
        headers: dict | None = None,
        *,
        repo_id: str = "",
        path: str = "",
        content_type="application/octet-stream",
        ranged: bool = True,
    ) -> None:
        """Streams a file (or its requested Range) with fault hooks and shaping; closes fileobj."""
        try:
            rng = parse_range(self.headers.get("Range"), size) if ranged else None
            start, end = rng if rng else (0, size)
            headers = dict(headers or {})
            self.send_response(206 if rng else 200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", content_type)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            if rng:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            self.headers_done = True
            if self.method == "HEAD" or end == start:
                return
            drop_after, corrupt_at = self.ctx.faults.download_plan(
                self.ctx.platform, repo_id, path, start, end
            )
            self._stream(fileobj, start, end, drop_after, corrupt_at)
        finally:
            fileobj.close()

    def _stream(self, fileobj, start, end, drop_after, corrupt_at) -> None:
        link = self.ctx.link
        limit = end if drop_after is None else min(end, start + drop_after)
        fast = (
            drop_after is None
            and corrupt_at is None
            and not link.down.limited
            and hasattr(fileobj, "fileno")
        )
        if fast:
            try:
                fileobj.fileno()
            except (OSError, ValueError):
                fast = False
        if fast:
            sent = start
            while sent < end:
                n = self.connection.sendfile(fileobj, sent, end - sent)
                if n == 0:
                    raise BrokenPipeError("client went away")
                sent += n
                self.bytes_out += n
            return
        if drop_after is not None or corrupt_at is not None:
            self.fault_kind = "drop" if drop_after is not None else "corrupt"
        fileobj.seek(start)
        pos = start
        chunk_size = link.chunk_size
        while pos < limit:
            chunk = fileobj.read(min(chunk_size, limit - pos))
            if not chunk:
                raise HttpError(500, "file shorter than announced", "InternalError")
            if corrupt_at is not None and pos <= corrupt_at < pos + len(chunk):
                buf = bytearray(chunk)
                buf[corrupt_at - pos] ^= 0xFF
                chunk = bytes(buf)
            link.down.consume(len(chunk))
            self.wfile.write(chunk)
            self.bytes_out += len(chunk)
            pos += len(chunk)
        if drop_after is not None and limit < end:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
