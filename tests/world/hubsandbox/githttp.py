"""Git smart HTTP for the sandbox's bare repos, by running `git http-backend` as a CGI.

Only fetch/clone (upload-pack) is served; pushes are refused. The response is streamed to the
client with chunked transfer encoding (the CGI gives no length), through the download bucket so
git traffic is shaped like any other download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

from .httpbase import BaseHandler, HttpError

GIT = shutil.which("git") or "git"


def serve(handler: BaseHandler, gitdir: Path, rest: str, user: str | None) -> None:
    """Answers one smart-HTTP request; `rest` is what follows the repo in the URL (info/refs...)."""
    if rest == "git-receive-pack" or handler.q("service") == "git-receive-pack":
        raise HttpError(403, "pushing over git is not supported by the hub sandbox", "Forbidden")
    if rest not in ("info/refs", "git-upload-pack", "HEAD"):
        raise HttpError(404, f"no git route {rest}", "NotFound")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(gitdir.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{gitdir.name}/{rest}",
        "REQUEST_METHOD": handler.method,
        "QUERY_STRING": handler.path.partition("?")[2],
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "REMOTE_ADDR": handler.client_address[0],
        "REMOTE_USER": user or "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HOME": str(gitdir.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if handler.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
    if handler.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
    if not handler.body.chunked and handler.body.left:
        env["CONTENT_LENGTH"] = str(handler.body.left)
    proc = subprocess.Popen(
        [GIT, "http-backend"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )

    def feed():
        try:
            while chunk := handler.body.read(1 << 16):
                proc.stdin.write(chunk)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    errors = []
    feeder = threading.Thread(target=feed, daemon=True)
    drainer = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    feeder.start()
    drainer.start()
    try:
        status, headers = 200, []
        while True:
            line = proc.stdout.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name.strip(), value.strip()))
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.headers_done = True
        down = handler.ctx.link.down
        while chunk := proc.stdout.read1(1 << 16):
            down.consume(len(chunk))
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.bytes_out += len(chunk)
        handler.wfile.write(b"0\r\n\r\n")
    finally:
        feeder.join(timeout=5)
        proc.stdout.close()
        proc.wait()
        drainer.join(timeout=5)
