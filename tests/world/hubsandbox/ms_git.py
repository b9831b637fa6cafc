"""ModelScope git access of the hub sandbox: smart HTTP clone/fetch and the LFS download API.

`git clone {endpoint}/{models|datasets}/{owner}/{name}.git` (and the older `{endpoint}/{owner}/
{name}.git` for models) works with `git` + `git-lfs`, anonymously for public repos and with the
token as Basic credentials (`oauth2:{token}`, per notes/modelscope-protocol.md) or a Bearer header
for private ones. Pushing is refused (uploads go through the HTTP API).

Assumption: the real service answers an anonymous request for a private repo with a 401 Basic
challenge (git then retries with the credentials in its URL), as git hosts do; it is not
observable from the notes, and without it a token in the URL would never be sent.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from . import githttp
from .httpbase import check_sig, sign
from .ms_common import PLATFORM, SHA256_RE, HttpError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="ModelScope"'}
LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"


def git_routes(api) -> list[tuple[str, str, object]]:
    """Route table entries (method, pattern, handler) for MsApi; legacy model URLs first go
    through a shim that supplies the `models` segment."""
    repo = r"/(models|datasets)/([^/]+)/([^/]+)\.git"
    legacy = r"/([^/]+)/([^/]+)\.git"

    def as_model(fn):
        return lambda ex, owner, name, *rest: fn(ex, "models", owner, name, *rest)

    smart = r"/(info/refs|HEAD|git-upload-pack|git-receive-pack)"
    routes = []
    for prefix, wrap in ((repo, lambda fn: fn), (legacy, as_model)):
        routes += [
            ("GET", prefix + smart, wrap(api.git_smart)),
            ("POST", prefix + smart, wrap(api.git_smart)),
            ("POST", prefix + r"/info/lfs/objects/batch", wrap(api.git_lfs_batch)),
        ]
    routes.append(
        (
            "GET",
            r"/api/v1/repos/(models|datasets)/([^/]+)/([^/]+)/info/lfs/objects/"
            r"([0-9a-f]{64})/([0-9a-f]{32})",
            api.git_lfs_object,
        )
    )
    return routes


class GitRoutes:
    """Mixin for MsApi (which provides `visible_repo`, `token` and `store`)."""

    def git_readable(self, ex, segment, owner, name):
        try:
            return self.visible_repo(ex, segment, owner, name)
        except HttpError as err:
            if err.status == 404 and self.token(ex) is None:
                raise HttpError(401, "authentication required", headers=CHALLENGE) from None
            raise

    def git_smart(self, ex, segment, owner, name, rest):
        if rest == "git-receive-pack" or ex.query.get("service") == "git-receive-pack":
            raise HttpError(403, "pushing over git is not supported by the hub sandbox")
        repo, user = self.git_readable(ex, segment, owner, name)
        githttp.serve(ex.h, repo.gitdir, rest, user)

    def git_lfs_batch(self, ex, segment, owner, name):
        body = ex.json() or {}
        if body.get("operation") != "download":
            raise HttpError(403, "pushing over git is not supported by the hub sandbox")
        repo, _ = self.git_readable(ex, segment, owner, name)
        objects = self.store.objects_for(PLATFORM)
        head = repo.resolve((body.get("ref") or {}).get("name") or None) or repo.resolve(None)
        # The file's path rides along so that drop/corrupt faults can target git-lfs downloads.
        path_of = {e.sha256: e.path for e in repo.files(head) if e.lfs} if head else {}
        answer = []
        for obj in body.get("objects") or []:
            oid, size = str(obj.get("oid") or ""), int(obj.get("size") or 0)
            item = {"oid": oid, "size": size, "authenticated": True}
            if not SHA256_RE.match(oid):
                item["error"] = {"code": 422, "message": f"invalid oid {oid!r}"}
            elif not objects.has(oid):
                item["error"] = {"code": 404, "message": "Object does not exist"}
            else:
                query = urlencode({"path": path_of.get(oid, oid)})
                href = (
                    f"{ex.base_url}/api/v1/repos/{segment}/{repo.repo_id}/info/lfs/objects/"
                    f"{oid}/{sign('ms-get', repo.repo_id, oid)}?{query}"
                )
                item["actions"] = {"download": {"href": href, "expires_in": 3600}}
            answer.append(item)
        reply = {"transfer": "basic", "objects": answer}
        ex.h.send_bytes(200, json.dumps(reply).encode(), LFS_CONTENT_TYPE)

    def git_lfs_object(self, ex, segment, owner, name, oid, sig):
        repo_id = f"{owner}/{name}"
        check_sig(sig, "ms-get", repo_id, oid)
        objects = self.store.objects_for(PLATFORM)
        if not objects.has(oid):
            raise HttpError(404, f"LFS object {oid} not found")
        path = objects.path(oid)
        ex.reply_file(
            open(path, "rb"),
            path.stat().st_size,
            {"ETag": f'"{oid}"'},
            repo_id=repo_id,
            path=ex.query.get("path") or oid,
        )
