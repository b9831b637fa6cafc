"""ModelScope HTTP API of the hub sandbox: route table, auth, accounts and repo metadata.

Speaks the subset of `modelscope.cn` that the pinned `modelscope` 1.40.2 / `modelscope_hub` 0.5.1
client uses (see `notes/modelscope-protocol.md`): login + `users/me`, OpenAPI and legacy repo
info, create (model JSON, dataset multipart), listing by owner, file listings (models
`repo/files`, datasets `repo/tree` paged, also by numeric dataset id), revisions, file download
with Range, LFS batch + blob PUT + commit (create/delete actions), delete repo; and git clone/
fetch with the LFS download API (`ms_git.py`).

The transport (keep-alive, streaming, faults, shaping) is not here: `MsApi.handle(exchange)` works
on an `Exchange` (see `ms.py`). File routes (listings, download, upload) live in `ms_files.py`,
envelopes and constants in `ms_common.py`.

Where the real service's behaviour is not observable from the client, the choices are written down
next to the code (look for "Assumption:").
"""

from __future__ import annotations

import base64
import binascii
import re
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY

from . import store as store_mod
from .ms_common import (
    CODE_DATASET_EXISTS,
    CODE_MODEL_EXISTS,
    CODE_TOKEN_INVALID,
    MS_GITATTRIBUTES,
    NAME_RE,
    PLATFORM,
    SEGMENTS,
    VIS_INTERNAL,
    VIS_PRIVATE,
    VIS_PUBLIC,
    HttpError,
    epoch,
    ok,
    openapi_ok,
    query_int,
)
from .ms_files import FileRoutes
from .ms_git import GitRoutes, git_routes


class MsApi(FileRoutes, GitRoutes):
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
            ("POST", r"/api/v1/(models|datasets)/([^/]+)/([^/]+)/repo/tag", self.create_tag),
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
        self._routes += git_routes(self)
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
        if auth.lower().startswith("basic "):  # git: `oauth2:{token}` (any user name)
            try:
                return base64.b64decode(auth[6:].strip()).decode().partition(":")[2] or None
            except (binascii.Error, UnicodeDecodeError):
                return None
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
                    "id": _user_id(name),
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
            "created_at": epoch(repo.created),
            "last_modified": epoch(repo.modified),
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
            "CreatedTime": epoch(repo.created),
            "CreatedAt": epoch(repo.created),
            "LastUpdatedTime": epoch(repo.modified),
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
        number, size = query_int(q, "page_number", 1), query_int(q, "page_size", 10)
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
        number, size = query_int(q, "PageNumber", 1), query_int(q, "PageSize", 50)
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
            raise HttpError(
                400, f"invalid Visibility {vis}: use 1 (private), 3 (internal) or 5 (public)"
            )
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

    def create_tag(self, ex, segment, owner, name):
        """`{"TagName", "Ref"}`: a tag on a branch, tag or commit (ModelScope's "versions")."""
        repo, _ = self.writable_repo(ex, segment, owner, name)
        body = ex.json() or {}
        tag, ref = str(body.get("TagName") or ""), str(body.get("Ref") or repo.default_branch)
        if not NAME_RE.match(tag) or tag.lower() in ("main", "master"):
            raise HttpError(400, f"invalid tag name {tag!r}")
        try:
            sha = repo.create_tag(tag, ref)
        except store_mod.RevisionNotFound as exc:
            raise HttpError(404, str(exc)) from exc
        except store_mod.RepoExists as exc:
            raise HttpError(400, f"tag {tag} already exists in {repo.repo_id}") from exc
        ex.reply_json(200, ok({"TagName": tag, "Ref": ref, "CommitId": sha}))

    def revisions(self, ex, segment, owner, name):
        repo, _ = self.visible_repo(ex, segment, owner, name)
        branches, tags = [], []
        for ref, sha in sorted(repo.refs().items()):
            kind, _, short = ref[len("refs/") :].partition("/")
            detail = {
                "Revision": short,
                "CommitId": sha,
                "CreatedAt": epoch(repo.modified),
                "CreatedBy": owner,
                "Message": "",
            }
            if kind == "heads":
                branches.append(detail)
            elif kind == "tags":
                tags.append(detail)
        ex.reply_json(200, ok({"RevisionMap": {"Branches": branches, "Tags": tags}}))


def _user_id(name: str) -> int:
    """A stable numeric user id (the real hub has one; nothing depends on its value)."""
    return int.from_bytes(name.encode()[:6].ljust(6, b"\0"), "big") % 900000 + 100000


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
