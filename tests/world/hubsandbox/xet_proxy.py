"""The CAS URL the HF side hands out: a pass-through to the reference CAS server (xet.py) that
puts Xet traffic on the HF link, so `--hf-bandwidth` shapes it, the request-level faults
(`latency`, `rate_limit`, `server_error` by path) bite it, and the admin stats and request log
count it (routes `xet-xorb`, `xet-shard`, `xet-reconstruction`, `xet-term`, `xet-other`).

Requests and answers are relayed unchanged, `Host` included: the CAS builds the term URLs of
its reconstruction answers from it, so downloads come back through here too.

The byte faults (`drop`, `corrupt`) name repo files, which CAS requests do not carry; the relay
puts the name back: a file's reconstruction answer is read with the token that asked for it
(the Hub scopes every CAS token to one repo and revision, `XetStore.grant_of`), the file hash is
mapped to that repo's path(s) with the same content (`XetStore.paths_of`), and every term URL of
the answer gets `hubsandbox_repo` / `hubsandbox_path` query parameters (the reference CAS reads
only `term`). A term fetch carrying them is a download of that file: `drop` closes the connection
after `after_bytes` bytes of the term's body, `corrupt` flips one byte of it (at `offset` in the
term's body when given, else its middle). The term's body is xorb bytes (chunk headers and
compressed chunk data), so both count in those, not in file offsets.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from urllib.parse import quote, urlencode, urlsplit

from .httpbase import BaseHandler, HttpError, HubContext

# Hop-by-hop headers (RFC 9110 7.6.1) are the relay's own on each side.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
RELAY_CHUNK = 1 << 20
# The single-file reconstruction answers (v1 and v2); the batch route mixes files' xorbs.
RECONSTRUCTION_RE = re.compile(r"^/v[12]/reconstructions/([0-9a-f]{64})$")
# Query parameters the relay adds to term URLs; the reference CAS ignores them.
TERM_REPO, TERM_PATH = "hubsandbox_repo", "hubsandbox_path"


def cas_route(path: str) -> str:
    """A name for the request log and stats, from the CAS API path."""
    for marker, route in (
        ("/xorb", "xet-xorb"),
        ("/shards", "xet-shard"),
        ("/reconstructions", "xet-reconstruction"),
        ("/fetch_term", "xet-term"),
        ("/get_xorb", "xet-term"),
    ):
        if marker in path:
            return route
    return "xet-other"


class CasProxyHandler(BaseHandler):
    upstream: tuple[str, int]

    def dispatch(self, method: str) -> None:
        self.route = cas_route(self.url_path)
        conn = getattr(self, "_upstream_conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=300, blocksize=RELAY_CHUNK)
            self._upstream_conn = conn  # one upstream connection per client connection
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        has_body = self.body.chunked or (self.body.left or 0) > 0
        try:
            conn.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            if self.body.chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if has_body:
                while chunk := self.body.read(RELAY_CHUNK):
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.body.chunked else chunk)
                if self.body.chunked:
                    conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self._upstream_conn = None
            raise HttpError(502, f"the Xet CAS server did not answer: {e}", "BadGateway") from None
        found = RECONSTRUCTION_RE.match(self.url_path)
        if found and method == "GET" and resp.status == 200:
            self._relay_reconstruction(resp, found.group(1))
        else:
            self._relay(resp)

    def _relay_reconstruction(self, resp: http.client.HTTPResponse, file_hash: str) -> None:
        """Relays a reconstruction answer with its term URLs naming the repo file they read."""
        body = resp.read()
        self._upstream_done(resp)
        xet = self.ctx.extra.get("xet")
        grant = xet.grant_of(self.bearer_token()) if xet else None
        paths = xet.paths_of(self.ctx.store, grant, file_hash) if grant else []
        if paths:
            tag = urlencode({TERM_REPO: grant.repo_id, TERM_PATH: paths[0]}, quote_via=quote)
            answer = json.loads(body)
            _tag_term_urls(answer, tag)
            body = json.dumps(answer).encode()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.headers_done = True
        self.ctx.link.down.consume(len(body))
        self.wfile.write(body)
        self.bytes_out += len(body)

    def _term_faults(self, resp: http.client.HTTPResponse, length: str | None):
        """(drop_after, corrupt_at) in the body of a term fetch the relay tagged with its file."""
        repo, path = self.q(TERM_REPO), self.q(TERM_PATH)
        if not (repo and path) or resp.status not in (200, 206) or not (length or "").isdigit():
            return None, None
        return self.ctx.faults.download_plan("hf", repo, path, 0, int(length))

    def _relay(self, resp: http.client.HTTPResponse) -> None:
        length = resp.getheader("Content-Length")
        framed = length is not None or self.method == "HEAD" or resp.status in (204, 304)
        drop_after, corrupt_at = (None, None)
        if self.method == "GET" and self.route == "xet-term":
            drop_after, corrupt_at = self._term_faults(resp, length)
            if drop_after is not None or corrupt_at is not None:
                self.fault_kind = "drop" if drop_after is not None else "corrupt"
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if not framed:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.headers_done = True
        link = self.ctx.link
        pos = 0
        while chunk := resp.read1(min(RELAY_CHUNK, link.chunk_size)):
            if drop_after is not None and pos + len(chunk) > drop_after:
                chunk = chunk[: drop_after - pos]
            if corrupt_at is not None and pos <= corrupt_at < pos + len(chunk):
                flipped = bytearray(chunk)
                flipped[corrupt_at - pos] ^= 0xFF
                chunk = bytes(flipped)
            link.down.consume(len(chunk))
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if not framed else chunk)
            self.wfile.flush()  # NDJSON progress streams (v2 shard upload) must not wait
            self.bytes_out += len(chunk)
            pos += len(chunk)
            if drop_after is not None and pos >= drop_after:
                return self._drop(resp)
        if not framed:
            self.wfile.write(b"0\r\n\r\n")
        self._upstream_done(resp)

    def _drop(self, resp: http.client.HTTPResponse) -> None:
        """Ends the client's connection mid-body, as a broken network would."""
        resp.close()
        self._upstream_conn.close()
        self._upstream_conn = None
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _upstream_done(self, resp: http.client.HTTPResponse) -> None:
        resp.read()  # marks the answer complete, so the connection takes the next request
        if resp.will_close:
            self._upstream_conn.close()
            self._upstream_conn = None


def _tag_term_urls(node, tag: str) -> None:
    """Appends `tag` to every term URL (`url` of v1 `fetch_info`, v2 `xorbs`) in an answer."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "url" and isinstance(v, str) and "/fetch_term?" in v:
                node[k] = f"{v}&{tag}"
            else:
                _tag_term_urls(v, tag)
    elif isinstance(node, list):
        for v in node:
            _tag_term_urls(v, tag)


def make_cas_proxy_handler(ctx: HubContext, upstream_url: str):
    parts = urlsplit(upstream_url)
    attrs = {"ctx": ctx, "upstream": (parts.hostname, parts.port)}
    return type("CasProxyHandler", (CasProxyHandler,), attrs)
