"""The blob store's HTTP side: the presigned-URL stand-in that the client PUTs large payloads to
(mount files ≥ 4 MiB, arguments/results > 2 MiB) and GETs them back from.

A PUT answers the body's md5 as a quoted ETag, which the client checks like S3's.
"""

from __future__ import annotations

import hashlib
import re

from aiohttp import web

from .model import StateDir

_BLOB_ID = re.compile(r"^bl-[A-Za-z0-9]{22}$")


def make_blob_app(store: StateDir) -> web.Application:
    def _path(request: web.Request):
        blob_id = request.match_info["blob_id"]
        if not _BLOB_ID.match(blob_id):
            raise web.HTTPNotFound(text=f"no blob {blob_id}")
        return store.blob_path(blob_id)

    async def put_blob(request: web.Request) -> web.Response:
        path = _path(request)
        md5 = hashlib.md5()
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as f:
            async for chunk in request.content.iter_chunked(1 << 20):
                md5.update(chunk)
                f.write(chunk)
        tmp.replace(path)
        return web.Response(status=200, headers={"ETag": f'"{md5.hexdigest()}"'})

    async def get_blob(request: web.Request) -> web.StreamResponse:
        path = _path(request)
        if not path.exists():
            raise web.HTTPNotFound(text=f"no blob {path.name}")
        return web.FileResponse(path)

    app = web.Application(client_max_size=1 << 40)
    app.router.add_put("/blobs/{blob_id}", put_blob)
    app.router.add_get("/blobs/{blob_id}", get_blob)
    return app
