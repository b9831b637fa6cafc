"""The admin endpoint: switch faults at run time, inspect traffic, seed what clients cannot.

JSON in, JSON out; never subject to faults or shaping. Routes (documented in docs/sandbox.md):
  GET /faults, POST /faults (one spec or {"faults": [...]}), DELETE /faults, DELETE /faults/{id}
  GET /stats, DELETE /stats                per-hub bytes and request counts by route and status
  GET /requests?since=SEQ&platform=hf      the request log (timestamps, route, status, bytes)
  GET /connections                         per hub, each shaped TCP connection's bytes and waits
  GET /repos?platform=&type=               every repo with its settings
  POST /repos/settings {platform, type, id, private?, gated?, gated_users?}
  POST /users {platform, name, token}; POST /orgs {platform, org, members}
  POST /refs {platform, type, id, branch, start?}   a branch (ModelScope's API cannot make one)
  GET /health
"""

from __future__ import annotations

import json
import sys
import traceback
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from .faults import FaultSpecError
from .httpbase import HubContext


def repo_summary(repo) -> dict:
    head = repo.resolve(None)
    return {
        "platform": repo.platform,
        "type": repo.repo_type,
        "id": repo.repo_id,
        "private": repo.private,
        "gated": repo.gated,
        "sha": head,
        "number": repo.number,
        "created": repo.created,
        "modified": repo.modified,
        "meta": repo.meta,
        "files": len(repo.listing(head)) if head else 0,
    }


def make_admin_handler(hubs: dict[str, HubContext]):
    any_ctx = next(iter(hubs.values()))
    store, faults, stats = any_ctx.store, any_ctx.faults, any_ctx.stats

    class AdminHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _send(self, status: int, obj) -> None:
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def _run(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            q = {k: v[0] for k, v in parse_qs(query).items()}
            try:
                status, obj = self._route(method, path.rstrip("/") or "/", q)
            except (FaultSpecError, KeyError, ValueError, TypeError) as e:
                status, obj = 400, {"error": f"bad admin request: {e}"}
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                status, obj = 500, {"error": f"admin failed: {e}"}
            self._send(status, obj)

        def _route(self, method: str, path: str, q: dict):
            if path == "/health":
                return 200, {"ok": True}
            if path == "/faults":
                if method == "GET":
                    return 200, {"faults": faults.list()}
                if method == "POST":
                    spec = self._json()
                    specs = spec["faults"] if "faults" in spec else [spec]
                    return 200, {"added": [faults.add(s) for s in specs]}
                if method == "DELETE":
                    return 200, {"removed": faults.clear()}
            if path.startswith("/faults/") and method == "DELETE":
                return 200, {"removed": faults.clear(int(path.rsplit("/", 1)[1]))}
            if path == "/stats":
                if method == "DELETE":
                    stats.reset()
                return 200, stats.snapshot()
            if path == "/connections" and method == "GET":
                return 200, {p: ctx.link.connections() for p, ctx in hubs.items()}
            if path == "/requests" and method == "GET":
                return 200, {"requests": stats.entries(int(q.get("since", 0)), q.get("platform"))}
            if path == "/repos" and method == "GET":
                repos = []
                for platform in (q["platform"],) if "platform" in q else ("hf", "ms"):
                    for t in (q["type"],) if "type" in q else ("model", "dataset", "space"):
                        repos += [repo_summary(r) for r in store.list_repos(platform, t)]
                return 200, {"repos": repos}
            if path == "/repos/settings" and method == "POST":
                body = self._json()
                repo = store.get_repo(body["platform"], body.get("type", "model"), body["id"])
                if repo is None:
                    return 404, {"error": f"no such repo {body['platform']}:{body['id']}"}
                changes = {k: body[k] for k in ("private", "gated", "gated_users") if k in body}
                if changes.get("gated") not in (None, False, "auto", "manual"):
                    raise ValueError("gated must be false, 'auto' or 'manual'")
                repo.update(**changes)
                return 200, repo_summary(repo)
            if path == "/refs" and method == "POST":
                body = self._json()
                repo = store.get_repo(body["platform"], body.get("type", "model"), body["id"])
                if repo is None:
                    return 404, {"error": f"no such repo {body['platform']}:{body['id']}"}
                sha = repo.create_branch(body["branch"], body.get("start"))
                return 200, {"branch": body["branch"], "sha": sha}
            if path == "/users" and method == "POST":
                body = self._json()
                store.add_user(body["platform"], body["name"], body["token"])
                return 200, {"ok": True}
            if path == "/orgs" and method == "POST":
                body = self._json()
                store.add_org(body["platform"], body["org"], list(body["members"]))
                return 200, {"ok": True}
            return 404, {"error": f"no admin route {method} {path}"}

        def do_GET(self):
            self._run("GET")

        def do_POST(self):
            self._run("POST")

        def do_DELETE(self):
            self._run("DELETE")

    return AdminHandler
