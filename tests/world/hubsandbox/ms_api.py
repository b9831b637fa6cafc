"""ModelScope HTTP API of the hub sandbox: routes, auth, envelopes and repo semantics.

Speaks the subset of `modelscope.cn` that the pinned `modelscope` 1.40.2 / `modelscope_hub` 0.5.1
client uses (see `notes/modelscope-protocol.md`): login + `users/me`, OpenAPI and legacy repo
info, create (model JSON, dataset multipart), listing by owner, file listings (models
`repo/files`, datasets `repo/tree` paged, also by numeric dataset id), revisions, file download
with Range, LFS batch + blob PUT + commit (create/delete actions), delete repo.

The transport (keep-alive, streaming, faults, shaping) is not here: `MsApi.handle(exchange)` works
on an `Exchange` (see `ms.py`) so that the routes stay readable and testable on their own.

Where the real service's behaviour is not observable from the client, the choices are written down
next to the code (look for "Assumption:").
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import posixpath
import re
import time
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from urllib.parse import quote

from . import httpbase
from . import store as store_mod

PLATFORM = "ms"
SEGMENTS = {"models": "model", "datasets": "dataset"}
VIS_PRIVATE, VIS_INTERNAL, VIS_PUBLIC = 1, 3, 5
# `repo/files` answers at most this many entries (the client then re-lists per directory).
REPO_FILES_LIMIT = 3000
LFS_BATCH_MAX_OBJECTS = 64
COMMIT_MAX_ACTIONS = 2000
# Letters, digits, '-', '_', '.'; must start with a letter or digit (ModelScope naming rule).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The .gitattributes a new ModelScope repo starts with (abridged).
MS_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z",
        "*.arrow",
        "*.bin",
        "*.bz2",
        "*.ckpt",
        "*.ftz",
        "*.gz",
        "*.h5",
        "*.joblib",
        "*.lfs.*",
        "*.model",
        "*.msgpack",
        "*.npy",
        "*.npz",
        "*.onnx",
        "*.ot",
        "*.parquet",
        "*.pb",
        "*.pickle",
        "*.pkl",
        "*.pt",
        "*.pth",
        "*.rar",
        "*.safetensors",
        "*.tar.*",
        "*.tar",
        "*.tflite",
        "*.tgz",
        "*.wasm",
        "*.xz",
        "*.zip",
        "*.zst",
        "*tfevents*",
    )
)

# Business codes the client maps to exceptions (modelscope_hub/errors.py).
CODE_TOKEN_INVALID = 10010103009
CODE_MODEL_EXISTS = 10010101001
CODE_DATASET_EXISTS = 10020101001


class HttpError(httpbase.HttpError):
    """An error answer in the envelope of the surface that raised it (legacy or OpenAPI)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code=None,
        openapi: bool = False,
        headers: dict | None = None,
    ):
        super().__init__(
            status,
            message,
            None,
            headers=headers,
            body=envelope(status, message, code, openapi=openapi),
        )


def envelope(status: int, message: str, code=None, *, openapi: bool = False) -> dict:
    """Error body: OpenAPI `{success, code: "Slug", message}`, legacy `{Code, Success, Message}`."""
    if openapi:
        return {
            "success": False,
            "code": code or OPENAPI_CODES.get(status, "Error"),
            "message": message,
            "request_id": "",
        }
    return {"Code": code or status, "Success": False, "Message": message, "RequestId": ""}


OPENAPI_CODES = {
    400: "InputParameterError",
    401: "InvalidAuthentication",
    403: "OperationNotAllowed",
    404: "ResourceNotFound",
    409: "DuplicateEntity",
    429: "RateLimitExceed",
}


def ok(data=None, **extra) -> dict:
    return {
        "Code": 200,
        "Success": True,
        "Message": "success",
        "RequestId": "",
        "Data": data,
        **extra,
    }


def openapi_ok(data) -> dict:
    return {"success": True, "request_id": "", "data": data}


class MsApi:
    """Routes one ModelScope request onto the shared `Store` (platform "ms")."""

    def __init__(self, store):
        self.store = store
        self._routes = [
            ("POST", r"/api/v1/login", self.login),
            ("GET", r"/openapi/v1/users/me", self.users_me),
            ("GET", r"/openapi/v1/(models|datasets)", self.openapi_list),
            ("GET", r"/openapi/v1/(models|datasets)/([^/]+)/([^/]+)", self.openapi_get),
            ("GET", r"/api/v1/repos/internalAccelerationInfo", self.no_acceleration),
            ("POST", r"/api/v1/(models|datasets)", self.create_repo),
            ("GET", r"/api/v1/datasets", self.legacy_list_datasets),
            ("GET", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)", self.legacy_get),
            ("DELETE", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)", self.delete_repo),
            ("DELETE", r"/api/v1/(datasets)/(\d+)", self.delete_repo_by_id),
            ("GET", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)/revisions", self.revisions),
            ("GET", r"/api/v1/(models)/([^/]+)/([^/]+)/repo/files", self.model_files),
            ("GET", r"/api/v1/(datasets)/([^/]+)/([^/]+)/repo/tree", self.dataset_tree),
            ("GET", r"/api/v1/(datasets)/(\d+)/repo/tree", self.dataset_tree_by_id),
            ("GET", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)/repo", self.download),
            ("HEAD", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)/repo", self.download),
            (
                "POST",
                r"/api/v1/repos/(models|datasets)/([^/]+)/([^/]+)/info/lfs/objects/batch",
                self.lfs_batch,
            ),
            (
                "PUT",
                r"/api/v1/repos/(models|datasets)/([^/]+)/([^/]+)/info/lfs/objects/"
                r"([0-9a-f]{64})",
                self.blob_put,
            ),
            ("POST", r"/api/v1/repos/(models|datasets)/([^/]+)/([^/]+)/commit/(.+)", self.commit),
        ]
        self._routes = [(m, re.compile(p + "$"), fn) for m, p, fn in self._routes]

    # ---------------------------------------------------------------- dispatch

    def handle(self, ex) -> None:
        """Answers one request or raises HttpError (rendered by the transport)."""
        path = ex.path
        openapi = path.startswith("/openapi/")
        try:
            for method, pattern, fn in self._routes:
                m = pattern.match(path)
                if m and method == ex.method:
                    ex.route = f"{method} {pattern.pattern[:-1]}"
                    return fn(ex, *m.groups())
            if any(p.match(path) for _, p, _ in self._routes):
                raise HttpError(405, f"method {ex.method} not allowed on {path}", openapi=openapi)
            raise HttpError(404, f"no such endpoint: {ex.method} {path}", openapi=openapi)
        except store_mod.InvalidName as err:
            raise HttpError(400, str(err), openapi=openapi) from err

    # ---------------------------------------------------------------- auth

    def token(self, ex) -> str | None:
        auth = ex.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        for part in (ex.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "m_session_id" and value:
                return value
        return None

    def user(self, ex, *, openapi: bool = False, required: bool = False) -> str | None:
        """The caller, or None when anonymous.

        Assumption: a token the hub does not know is refused with 401 on every endpoint (as
        `users/me` does), rather than silently treated as anonymous.
        """
        token = self.token(ex)
        if token is None:
            if required:
                raise HttpError(
                    401, "user not logged in, please login with your access token", openapi=openapi
                )
            return None
        name = self.store.user_for_token(PLATFORM, token)
        if name is None:
            raise HttpError(
                401,
                "invalid or expired access token",
                openapi=openapi,
                code=None if openapi else CODE_TOKEN_INVALID,
            )
        return name

    def visible_repo(self, ex, segment, owner, name, *, openapi=False):
        """The repo if it exists and the caller may read it; 404 otherwise (private = invisible)."""
        user = self.user(ex, openapi=openapi)
        repo_type = SEGMENTS[segment]
        repo = self.store.get_repo(PLATFORM, repo_type, f"{owner}/{name}")
        if repo is None or not self.store.can_read(PLATFORM, user, repo):
            kind = "model" if repo_type == "model" else "dataset"
            raise HttpError(404, f"{kind} {owner}/{name} does not exist", openapi=openapi)
        return repo, user

    def writable_repo(self, ex, segment, owner, name):
        repo, user = self.visible_repo(ex, segment, owner, name)
        if user is None:
            raise HttpError(401, "user not logged in, please login with your access token")
        if not self.store.can_write(PLATFORM, user, owner):
            raise HttpError(403, f"user {user} has no write permission on {owner}/{name}")
        return repo, user

    # ---------------------------------------------------------------- auth endpoints

    def login(self, ex):
        body = ex.json()
        token = (body or {}).get("AccessToken") or ""
        name = self.store.user_for_token(PLATFORM, token) if token else None
        if name is None:
            raise HttpError(400, "AccessToken is invalid or expired", code=CODE_TOKEN_INVALID)
        # The git access token the SDK persists; the sandbox accepts the API token itself for git.
        data = {"AccessToken": token, "Username": name, "Email": f"{name}@sandbox.invalid"}
        ex.reply_json(200, ok(data), {"Set-Cookie": f"m_session_id={token}; Path=/; HttpOnly"})

    def users_me(self, ex):
        name = self.user(ex, openapi=True, required=True)
        ex.reply_json(
            200,
            openapi_ok(
                {
                    "id": _stable_int(name),
                    "username": name,
                    "name": name,
                    "email": f"{name}@sandbox.invalid",
                }
            ),
        )

    def no_acceleration(self, ex):
        # Only answered inside Alibaba Cloud; elsewhere the SDK's probe must simply miss.
        raise HttpError(404, "not found")

    # ---------------------------------------------------------------- repo metadata

    def openapi_repo(self, repo) -> dict:
        owner, name = repo.repo_id.split("/", 1)
        vis = self.visibility(repo)
        return {
            "id": repo.repo_id,
            "owner": owner,
            "name": name,
            "display_name": repo.meta.get("chinese_name") or name,
            "private": vis != VIS_PUBLIC,
            "visibility": vis,
            "gated": bool(repo.gated),
            "license": repo.meta.get("license"),
            "description": repo.meta.get("description"),
            "created_at": _epoch(repo.created),
            "last_modified": _epoch(repo.modified),
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "file_size": repo.used_storage,
        }

    def legacy_repo(self, repo) -> dict:
        owner, name = repo.repo_id.split("/", 1)
        return {
            "Id": repo.number,
            "Path": owner,
            "Owner": owner,
            "Name": name,
            "ChineseName": repo.meta.get("chinese_name") or "",
            "Description": repo.meta.get("description") or "",
            "Visibility": self.visibility(repo),
            "License": repo.meta.get("license"),
            "Type": 0,
            "CreatedTime": _epoch(repo.created),
            "CreatedAt": _epoch(repo.created),
            "LastUpdatedTime": _epoch(repo.modified),
            "StorageSize": repo.used_storage,
            "ProtectedMode": 1 if repo.gated else 2,
            "Revision": repo.default_branch,
        }

    def visibility(self, repo) -> int:
        return int(repo.meta.get("visibility") or (VIS_PRIVATE if repo.private else VIS_PUBLIC))

    def openapi_get(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name, openapi=True)
        ex.reply_json(200, openapi_ok(self.openapi_repo(repo)))

    def legacy_get(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        ex.reply_json(200, ok(self.legacy_repo(repo)))

    def listed(self, ex, segment, owner):
        user = self.user(ex)
        repos = self.store.list_repos(PLATFORM, SEGMENTS[segment], owner=owner or None)
        repos = [r for r in repos if self.store.can_read(PLATFORM, user, r)]
        return sorted(repos, key=lambda r: r.repo_id)

    def openapi_list(self, ex, segment):
        q = ex.query
        number, size = _int(q, "page_number", 1), _int(q, "page_size", 10)
        if number < 1 or size < 1 or number * size > 3000:
            raise HttpError(400, "page_number * page_size must be <= 3000", openapi=True)
        repos = self.listed(ex, segment, q.get("owner"))
        if q.get("search"):
            repos = [r for r in repos if q["search"].lower() in r.repo_id.lower()]
        page = repos[(number - 1) * size : number * size]
        ex.reply_json(
            200,
            openapi_ok(
                {
                    segment: [self.openapi_repo(r) for r in page],
                    "total_count": len(repos),
                    "page_number": number,
                    "page_size": size,
                }
            ),
        )

    def legacy_list_datasets(self, ex):
        q = ex.query
        number, size = _int(q, "PageNumber", 1), _int(q, "PageSize", 50)
        repos = self.listed(ex, "datasets", q.get("owner") or q.get("Owner"))
        page = repos[(number - 1) * size : number * size]
        ex.reply_json(
            200,
            ok(
                [self.legacy_repo(r) for r in page],
                TotalCount=len(repos),
                PageNumber=number,
                PageSize=size,
            ),
        )

    def create_repo(self, ex, segment):
        user = self.user(ex, required=True)
        repo_type = SEGMENTS[segment]
        if repo_type == "model":
            form = ex.json() or {}
            owner = str(form.get("Path") or "")
        else:
            form = _multipart_fields(ex.headers.get("Content-Type") or "", ex.body_bytes())
            owner = str(form.get("Owner") or "")
        name = str(form.get("Name") or "")
        if not owner or not NAME_RE.match(owner) or not NAME_RE.match(name):
            raise HttpError(
                400, f"invalid repository name {owner}/{name}: use letters, digits, '-', '_' or '.'"
            )
        try:
            vis = int(form.get("Visibility") or VIS_PUBLIC)
        except ValueError as exc:
            raise HttpError(400, f"invalid Visibility {form.get('Visibility')!r}") from exc
        if vis not in (VIS_PRIVATE, VIS_INTERNAL, VIS_PUBLIC):
            raise HttpError(400, f"invalid Visibility {vis}: use 1 (private) or 5 (public)")
        if not self.store.can_write(PLATFORM, user, owner):
            raise HttpError(403, f"user {user} has no permission to create repos under {owner}")
        gated = str(form.get("ProtectedMode") or "") == "1" and vis == VIS_PRIVATE
        repo_id = f"{owner}/{name}"
        try:
            # Assumption: like modelscope.cn, a new repo starts with one commit holding the
            # default .gitattributes (LFS patterns), so `master` exists from the start.
            self.store.create_repo(
                PLATFORM,
                repo_type,
                repo_id,
                private=vis != VIS_PUBLIC,
                gated=gated,
                initial_files={".gitattributes": MS_GITATTRIBUTES.encode()},
                visibility=vis,
                license=form.get("License"),
                chinese_name=form.get("ChineseName"),
                description=form.get("Description"),
                creator=user,
            )
        except store_mod.RepoExists as exc:
            code = CODE_MODEL_EXISTS if repo_type == "model" else CODE_DATASET_EXISTS
            raise HttpError(
                400, f"{repo_id}: the name already exists, choose another", code=code
            ) from exc
        repo = self.store.get_repo(PLATFORM, repo_type, repo_id)
        url = f"{ex.base_url}/{segment}/{repo_id}"
        ex.reply_json(200, ok({**self.legacy_repo(repo), "Url": url}))

    def delete_repo(self, ex, segment, owner, name):
        repo, _ = self.writable_repo(ex, segment, owner, name)
        self.store.delete_repo(PLATFORM, SEGMENTS[segment], repo.repo_id)
        ex.reply_json(200, ok(None))

    def delete_repo_by_id(self, ex, segment, number):
        repo = self.repo_by_number(ex, number)
        owner, name = repo.repo_id.split("/", 1)
        self.delete_repo(ex, segment, owner, name)

    def repo_by_number(self, ex, number):
        user = self.user(ex)
        repo = self.store.repo_by_number(PLATFORM, int(number))
        if (
            repo is None
            or repo.repo_type != "dataset"
            or not self.store.can_read(PLATFORM, user, repo)
        ):
            raise HttpError(404, f"dataset {number} does not exist")
        return repo

    def revisions(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        branches, tags = [], []
        for ref, sha in sorted(repo.refs().items()):
            kind, _, short = ref[len("refs/") :].partition("/")
            detail = {
                "Revision": short,
                "CommitId": sha,
                "CreatedAt": _epoch(repo.modified),
                "CreatedBy": owner,
                "Message": "",
            }
            if kind == "heads":
                branches.append(detail)
            elif kind == "tags":
                tags.append(detail)
        ex.reply_json(200, ok({"RevisionMap": {"Branches": branches, "Tags": tags}}))

    # ---------------------------------------------------------------- file listings

    def commit_of(self, repo, revision: str | None):
        """(commit sha or None for an empty repo, revision name); unknown revision -> 404."""
        rev = revision or repo.default_branch
        sha = repo.resolve(rev)
        if sha is None and rev != repo.default_branch:
            raise HttpError(404, f"revision {rev} not found in {repo.repo_id}")
        return sha, rev

    def entries(self, repo, sha, root: str | None, recursive: bool) -> list[dict]:
        """Tree entries under root (dirs as Type "tree"), in path order, ModelScope field names."""
        if sha is None:
            return []
        root = (root or "").strip("/")
        if root in (".",):
            root = ""
        prefix = root + "/" if root else ""
        files = [f for f in repo.files(sha) if f.path.startswith(prefix)]
        if root and not files:
            raise HttpError(404, f"path {root} not found in {repo.repo_id}")
        out, dirs = [], set()
        for f in files:
            rel = f.path[len(prefix) :]
            parts = rel.split("/")
            for depth in range(1, len(parts)):
                if recursive or depth == 1:
                    dirs.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                out.append(self.file_entry(f, sha))
        for d in dirs:
            out.append(
                {
                    "Name": posixpath.basename(d),
                    "Path": d,
                    "Type": "tree",
                    "Size": 0,
                    "Sha256": "",
                    "Id": "",
                    "Revision": sha,
                    "Mode": "40000",
                    "IsLFS": False,
                    "CommittedDate": 0,
                }
            )
        out.sort(key=lambda e: e["Path"])
        return out

    def file_entry(self, f, sha) -> dict:
        entry = {
            "Name": posixpath.basename(f.path),
            "Path": f.path,
            "Type": "blob",
            "Size": f.size,
            "Sha256": f.sha256,
            "Id": f.blob_oid,
            "BlobId": f.blob_oid,
            "Revision": sha,
            "Mode": "100644",
            "IsLFS": f.lfs is not None,
            "CommittedDate": 0,
            "CommitMessage": "",
        }
        if f.lfs is not None:
            entry["Lfs"] = {"Oid": f.lfs["oid"], "Size": f.lfs["size"]}
        return entry

    def model_files(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        sha, _ = self.commit_of(repo, ex.query.get("Revision"))
        recursive = (ex.query.get("Recursive") or "false").lower() == "true"
        entries = self.entries(repo, sha, ex.query.get("Root"), recursive)[:REPO_FILES_LIMIT]
        ex.reply_json(200, ok({"Files": entries, "LatestCommitter": None}))

    def dataset_tree(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        self.tree_page(ex, repo)

    def dataset_tree_by_id(self, ex, segment, number):
        self.tree_page(ex, self.repo_by_number(ex, number))

    def tree_page(self, ex, repo):
        q = ex.query
        sha, _ = self.commit_of(repo, q.get("Revision"))
        recursive = (q.get("Recursive") or "false").lower() == "true"
        entries = self.entries(repo, sha, q.get("Root"), recursive)
        number, size = _int(q, "PageNumber", 1), _int(q, "PageSize", 100)
        if number < 1 or size < 1:
            raise HttpError(400, "PageNumber and PageSize must be positive")
        ex.reply_json(
            200,
            ok({"Files": entries[(number - 1) * size : number * size], "TotalCount": len(entries)}),
        )

    # ---------------------------------------------------------------- download

    def download(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        file_path = (ex.query.get("FilePath") or "").lstrip("/")
        if not file_path:
            raise HttpError(400, "FilePath is required")
        sha, _ = self.commit_of(repo, ex.query.get("Revision"))
        try:
            if sha is None:
                raise store_mod.EntryNotFound(file_path)
            entry, fileobj = repo.open(sha, file_path)
        except store_mod.EntryNotFound as exc:
            raise HttpError(404, f"file {file_path} not found in {repo.repo_id}") from exc
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''"
            f"{quote(posixpath.basename(file_path))}",
            "ETag": f'"{entry.sha256 if entry.lfs else entry.blob_oid}"',
            "X-Repo-Commit": sha,
        }
        if entry.lfs is not None:
            # What the LFS CDN sends on the real service; the SDK checks downloads against it.
            headers["X-Linked-ETag"] = f'"{entry.sha256}"'
            headers["X-Linked-Size"] = str(entry.size)
        ex.reply_file(fileobj, entry.size, headers, repo_id=repo.repo_id, path=file_path)

    # ---------------------------------------------------------------- upload

    def lfs_batch(self, ex, segment, owner, name):
        repo, _ = self.writable_repo(ex, segment, owner, name)
        body = ex.json() or {}
        if body.get("operation", "upload") != "upload":
            raise HttpError(400, "only the upload operation is supported on this endpoint")
        objects = body.get("objects") or []
        if not isinstance(objects, list) or len(objects) > LFS_BATCH_MAX_OBJECTS:
            raise HttpError(400, f"objects must be a list of at most {LFS_BATCH_MAX_OBJECTS}")
        answer = []
        for obj in objects:
            oid, size = str(obj.get("oid") or ""), obj.get("size")
            if not SHA256_RE.match(oid) or not isinstance(size, int) or size < 0:
                raise HttpError(400, f"invalid LFS object {obj!r}")
            item = {"oid": oid, "size": size, "authenticated": True}
            if not self.store.objects.has(oid):
                href = (
                    f"{ex.base_url}/api/v1/repos/{segment}/{repo.repo_id}/info/lfs/objects/"
                    f"{oid}?size={size}"
                )
                item["actions"] = {"upload": {"href": href, "header": {}, "expires_in": 3600}}
            answer.append(item)
        ex.reply_json(200, ok({"transfer": "basic", "objects": answer}))

    def blob_put(self, ex, segment, owner, name, oid):
        repo, _ = self.writable_repo(ex, segment, owner, name)
        size = ex.content_length()
        if size is None:
            raise HttpError(411, "Content-Length required for blob uploads")
        if ex.query.get("size") and int(ex.query["size"]) != size:
            raise HttpError(400, f"blob {oid} announced {ex.query['size']} bytes, got {size}")
        try:
            ex.store_body(self.store.objects, size, oid)
        except store_mod.MissingObject as exc:
            raise HttpError(400, f"blob {oid} rejected: {exc}") from exc
        ex.reply_json(200, ok({"Oid": oid, "Size": size}))

    def commit(self, ex, segment, owner, name, revision):
        repo, user = self.writable_repo(ex, segment, owner, name)
        body = ex.json() or {}
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise HttpError(400, "commit needs a non-empty actions list")
        if len(actions) > COMMIT_MAX_ACTIONS:
            raise HttpError(
                422, f"too many actions in one commit ({len(actions)} > {COMMIT_MAX_ACTIONS})"
            )
        if revision != repo.default_branch and repo.resolve(revision) is None:
            # Assumption: like the real hub, uploads go to existing branches only (no branch
            # creation through commits).
            raise HttpError(400, f"revision {revision} is not a branch of {repo.repo_id}")
        ops = [self.operation(repo, a) for a in actions]
        message = str(body.get("commit_message") or "Upload files")
        try:
            sha = repo.commit(ops, message, branch=revision, author=user)
        except store_mod.EntryNotFound as exc:
            raise HttpError(404, str(exc)) from exc
        except (store_mod.MissingObject, store_mod.RevisionNotFound) as exc:
            raise HttpError(400, str(exc)) from exc
        ex.reply_json(
            200,
            ok(
                {
                    "CommitId": sha,
                    "Message": message,
                    "Revision": revision,
                    "CommittedDate": int(time.time()),
                }
            ),
        )

    def operation(self, repo, action: dict):
        kind = action.get("action")
        path = str(action.get("path") or "")
        if not _valid_repo_path(path):
            raise HttpError(400, f"invalid path in repo: {path!r}")
        if kind == "delete":
            return store_mod.Delete(path)
        if kind not in ("create", "update"):
            raise HttpError(400, f"unknown commit action {kind!r} for {path}")
        if action.get("type") == "lfs":
            oid, size = str(action.get("sha256") or ""), action.get("size")
            if not SHA256_RE.match(oid) or not self.store.objects.has(oid):
                raise HttpError(400, f"{path}: LFS object {oid} was not uploaded")
            stored = self.store.objects.size(oid)
            if size is not None and int(size) != stored:
                raise HttpError(400, f"{path}: size {size} does not match LFS object ({stored})")
            return store_mod.AddLfs(path, oid, stored)
        try:
            data = base64.b64decode(action.get("content") or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HttpError(400, f"{path}: content is not valid base64") from exc
        return store_mod.AddInline(path, data)


# -------------------------------------------------------------------- helpers


def _int(query: dict, key: str, default: int) -> int:
    try:
        return int(query.get(key) or default)
    except ValueError as exc:
        raise HttpError(400, f"{key} must be an integer") from exc


def _stable_int(text: str) -> int:
    return int.from_bytes(text.encode()[:6].ljust(6, b"\0"), "big") % 900000 + 100000


def _valid_repo_path(path: str) -> bool:
    if not path or path.startswith("/") or path.endswith("/") or "\\" in path or "\0" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/")) and not (
        path == ".git" or path.startswith(".git/")
    )


def _multipart_fields(content_type: str, body: bytes) -> dict:
    """Text fields of a multipart/form-data body (the dataset create form)."""
    if not content_type.startswith("multipart/form-data"):
        raise HttpError(400, "dataset creation expects multipart/form-data")
    msg = BytesParser(policy=HTTP_POLICY).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_payload(decode=True).decode("utf-8", "replace")
    return fields


def _epoch(iso: str) -> int:
    """Unix seconds of the store's ISO-8601 UTC stamps (ModelScope answers epoch seconds)."""
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))


def dump(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()
