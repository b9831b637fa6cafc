"""The CAS URL the HF side hands out: a pass-through to the reference CAS server (xet.py) that
puts Xet traffic on the HF link, so `--hf-bandwidth` shapes it, the request-level faults
(`latency`, `rate_limit`, `server_error` by path) bite it, and the admin stats and request log
count it (routes `xet-xorb`, `xet-shard`, `xet-reconstruction`, `xet-term`, `xet-other`).

Requests and answers are relayed unchanged, `Host` included: the CAS builds the term URLs of
its reconstruction answers from it, so downloads come back through here too. The byte faults
(`drop`, `corrupt`) name repo files, which CAS requests do not carry: they do not apply.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

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
        self._relay(resp)

    def _relay(self, resp: http.client.HTTPResponse) -> None:
        length = resp.getheader("Content-Length")
        framed = length is not None or self.method == "HEAD" or resp.status in (204, 304)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if not framed:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.headers_done = True
        link = self.ctx.link
        while chunk := resp.read1(min(RELAY_CHUNK, link.chunk_size)):
            link.down.consume(len(chunk))
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if not framed else chunk)
            self.wfile.flush()  # NDJSON progress streams (v2 shard upload) must not wait
            self.bytes_out += len(chunk)
        if not framed:
            self.wfile.write(b"0\r\n\r\n")
        resp.read()  # marks the answer complete, so the connection takes the next request
        if resp.will_close:
            self._upstream_conn.close()
            self._upstream_conn = None


def make_cas_proxy_handler(ctx: HubContext, upstream_url: str):
    parts = urlsplit(upstream_url)
    attrs = {"ctx": ctx, "upstream": (parts.hostname, parts.port)}
    return type("CasProxyHandler", (CasProxyHandler,), attrs)
