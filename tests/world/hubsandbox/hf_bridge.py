"""The CDN an LFS file's `resolve` redirects to: the Hub answers a `resolve` of an LFS (Xet-backed)
file with a 302 to a pre-signed URL on another origin (`cas-bridge.xethub.hf.co`, formerly
`cdn-lfs.hf.co`) that serves the bytes. Here that origin is a listener of its own on another
port, so a client sees what it sees on the Hub: the metadata on the 302 itself, and a
cross-origin `Location` to which it must not (and need not) send the token.

`GET|HEAD /xet-bridge/{sha256}/{sig}?repo=&path=`: the object's bytes with Range support, on the
HF link (`--hf-bandwidth` shapes it, byte faults naming the repo file apply, the request log
counts it as route `bridge`). The signature stands in for the CDN's signed query string.

With `--bridge-cache` a Xet file is reconstructed through the CAS once, kept as a plain copy in
the HF object store and served from it from then on, as the CDN serves a file it has seen: the
reference CAS server answers a range only once it has rebuilt all of it, in effect one at a time
(16 parallel first reads of 32 MB files get their first byte 0.2 s to 1.75 s late on a 2-core
machine), which the Hub's bridge does not. Benchmarks that measure the client warm it first.
"""

from __future__ import annotations

import contextlib
from urllib.parse import quote, urlencode

from .httpbase import BaseHandler, HttpError, HubContext, check_sig, sign
from .store import SHA256_RE, MissingObject


def bridge_url(ctx: HubContext, sha256: str, repo_id: str, path: str) -> str | None:
    """Where the bytes of LFS object `sha256` are served (None when no bridge is running)."""
    base = ctx.extra.get("bridge_url")
    if base is None:
        return None
    query = urlencode({"repo": repo_id, "path": path}, quote_via=quote)
    return f"{base}/xet-bridge/{sha256}/{sign('bridge', sha256)}?{query}"


class BridgeHandler(BaseHandler):
    def dispatch(self, method: str) -> None:
        segs = self.url_path.strip("/").split("/")
        if method not in ("GET", "HEAD") or len(segs) != 3 or segs[0] != "xet-bridge":
            raise HttpError(404, f"no route {method} {self.url_path}", "NotFound")
        self.route = "bridge"
        oid, sig = segs[1], segs[2]
        if not SHA256_RE.match(oid):
            raise HttpError(404, f"no object {oid}", "NotFound")
        check_sig(sig, "bridge", oid)
        objects = self.ctx.store.objects_for("hf")
        try:
            if self.ctx.extra.get("bridge_cache") and not objects.has_local(oid):
                # The CDN's copy: reconstructed once, unshaped (the Hub's side of its link).
                with contextlib.closing(objects.open(oid)) as remote:
                    objects.put_stream(remote, objects.size(oid), expected_sha256=oid)
            fileobj = objects.open(oid)
        except MissingObject:
            raise HttpError(404, f"object {oid} not found", "NotFound") from None
        self.send_file(
            fileobj,
            objects.size(oid),
            {"ETag": f'"{oid}"'},
            repo_id=self.q("repo") or "",
            path=self.q("path") or oid,
        )

    def render_error(self, err: HttpError) -> None:
        # A CDN answers in its own words (S3-style XML on the Hub's), not the Hub's error headers.
        self.send_bytes(err.status, err.message.encode(), "text/plain")


def make_bridge_handler(ctx: HubContext):
    return type("BridgeHandler", (BridgeHandler,), {"ctx": ctx})
