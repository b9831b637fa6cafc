"""Hugging Face Hub side of the sandbox: routing, auth and the repo API.

Speaks what `huggingface_hub` 2.4.0 uses, with Xet or without (see
notes/huggingface-hub-protocol.md and xet.py): whoami-v2, repo info (models/datasets/spaces,
revisions, `blobs=true`), tree listing and paths-info with Link pagination,
refs/commits/branches/tags, create/delete/settings, auth-check, listing by author, validate-yaml.
Uploads and downloads (preupload, commit, LFS batch and objects, resolve, Xet tokens) are in
hf_transfer.py, git smart HTTP in githttp.py, the JSON shapes of repos and files in hf_shapes.py.

Error answers always carry `X-Error-Code` and `X-Error-Message`, because over plain http the
client only recognises repo errors by that header. Visibility follows the Hub: an unknown or
private repo answers RepoNotFound (401 without a token, 404 with one), so private repos are
indistinguishable from missing ones; an invalid token is 401 "Invalid credentials in
Authorization header" everywhere.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, unquote, urlencode

from . import githttp, hf_transfer
from .hf_shapes import directory_oids, file_json, hex_id, iso_z, repo_json, tree_entries
from .httpbase import BaseHandler, HttpError, HubContext
from .store import InvalidName, RepoExists, RevisionNotFound

PLATFORM = "hf"
TYPE_SEGMENTS = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
INVALID_TOKEN = "Invalid credentials in Authorization header"


class HfHandler(BaseHandler):
    """Routes one request; see the module docstring for what is served."""

    # -- identity --------------------------------------------------------------------------------
    def token(self) -> str | None:
        token = self.bearer_token()
        if token:
            return token
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode()
            except ValueError:
                return None
            return decoded.partition(":")[2] or None
        return None

    def user(self, required: bool = False) -> str | None:
        """The caller, None when anonymous; a token that matches nobody is always refused."""
        token = self.token()
        user = self.ctx.store.user_for_token(PLATFORM, token) if token else None
        if token and not user:
            raise HttpError(
                401,
                INVALID_TOKEN,
                "Unauthorized",
                headers={"WWW-Authenticate": 'Basic realm="Hugging Face"'},
            )
        if required and not user:
            raise HttpError(
                401,
                "You must be authenticated to do this. hint: pass a token (HF_TOKEN).",
                "Unauthorized",
            )
        return user

    # -- repo access -----------------------------------------------------------------------------
    def repo_for(
        self,
        repo_type: str,
        repo_id: str,
        user: str | None,
        write: bool = False,
        gated: bool = False,
    ):
        """The repo if `user` may see it (and write to it / pass its gate), else the Hub's error."""
        store = self.ctx.store
        repo = store.get_repo(PLATFORM, repo_type, repo_id)
        if repo is None or not store.can_read(PLATFORM, user, repo):
            raise HttpError(
                401 if user is None else 404,
                f"Repository Not Found for url: {self.ctx.endpoint}{self.raw_path}. "
                "hint: check the repo id and type, and that your token can see it.",
                "RepoNotFound",
            )
        if write and not store.can_write(PLATFORM, user, repo.namespace):
            raise HttpError(
                403,
                f"You don't have the rights to write to {repo_type} {repo_id}. "
                f"hint: write to your own namespace or an organization you belong to.",
                "Forbidden",
            )
        if gated and not store.has_gated_access(PLATFORM, user, repo):
            raise HttpError(
                401 if user is None else 403,
                f"Access to {repo_type} {repo_id} is restricted. You must have access to it "
                "and be authenticated to access it. hint: request access on the repo page.",
                "GatedRepo",
            )
        return repo

    def commit_or_404(self, repo, rev: str) -> str:
        sha = repo.resolve(rev)
        if sha is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha

    def xet_hash_of(self, sha256: str) -> str | None:
        """The Xet hash listings show for an LFS file, if the CAS holds it (no upload here:
        an LFS-uploaded file gets one when a Xet client first resolves it)."""
        xet = self.ctx.extra.get("xet")
        found = xet.index.by_sha256(sha256) if xet else None
        return found.xet_hash if found else None

    # -- dispatch --------------------------------------------------------------------------------
    def dispatch(self, method: str) -> None:
        self.link = None  # the handler lives as long as the keep-alive connection
        segs = [unquote(s) for s in self.raw_path.split("/")[1:]]
        if segs and segs[-1] == "" and len(segs) > 1:
            segs = segs[:-1]
        if segs[:1] == ["api"]:
            return self.api(method, segs[1:])
        # Repo URLs: [datasets|spaces/]ns/name[.git]/...
        repo_type = "model"
        if segs and segs[0] in ("datasets", "spaces") and len(segs) >= 3:
            repo_type = TYPE_SEGMENTS[segs[0]]
            segs = segs[1:]
        if len(segs) < 2:
            raise HttpError(404, f"no route for {self.url_path}", "NotFound")
        ns, name, rest = segs[0], segs[1], segs[2:]
        is_git = name.endswith(".git")
        name = name[:-4] if is_git else name
        repo_id = f"{ns}/{name}"
        if rest[:1] == ["resolve"] and len(rest) >= 3 and method in ("GET", "HEAD"):
            self.route = "resolve"
            return hf_transfer.resolve(self, repo_type, repo_id, rest[1], "/".join(rest[2:]))
        if rest == ["info", "lfs", "objects", "batch"] and method == "POST":
            self.route = "lfs-batch"
            return hf_transfer.lfs_batch(self, repo_type, repo_id)
        if rest[:2] in (["info", "refs"], ["git-upload-pack"], ["git-receive-pack"]):
            self.route = "git"
            return self.git(repo_type, repo_id, "/".join(rest))
        raise HttpError(404, f"no route for {method} {self.url_path}", "NotFound")

    def git(self, repo_type: str, repo_id: str, rest: str) -> None:
        user = self.user()
        try:
            repo = self.repo_for(repo_type, repo_id, user, gated=True)
        except HttpError as err:
            if user is None and err.status in (401, 404):
                # Ask git for the credentials in its URL (it sends none until challenged).
                challenge = {"WWW-Authenticate": 'Basic realm="Hugging Face"'}
                raise HttpError(
                    401, "Authentication required", "RepoNotFound", headers=challenge
                ) from None
            raise
        githttp.serve(self, repo.gitdir, rest, user)

    def api(self, method: str, segs: list[str]) -> None:
        head = segs[0] if segs else ""
        if segs == ["whoami-v2"] and method == "GET":
            self.route = "whoami"
            return self.whoami()
        if segs == ["validate-yaml"] and method == "POST":
            self.route = "validate-yaml"
            self.read_body()
            return self.send_json(200, {"errors": [], "warnings": []})
        if segs == ["repos", "create"] and method == "POST":
            self.route = "create"
            return self.create_repo()
        if segs == ["repos", "delete"] and method == "DELETE":
            self.route = "delete"
            return self.delete_repo()
        if head == "_sandbox":
            return hf_transfer.object_route(self, method, segs[1:])
        if head in TYPE_SEGMENTS and len(segs) == 1 and method == "GET":
            self.route = "list"
            return self.list_repos(TYPE_SEGMENTS[head])
        if head in TYPE_SEGMENTS and len(segs) >= 3:
            repo_type, repo_id, rest = TYPE_SEGMENTS[head], f"{segs[1]}/{segs[2]}", segs[3:]
            return self.repo_api(method, repo_type, repo_id, rest)
        if head in TYPE_SEGMENTS and len(segs) == 2:  # ids without a namespace: none exist here
            raise HttpError(404, f"Repository Not Found: {segs[1]}", "RepoNotFound")
        raise HttpError(404, f"no API route for {method} {self.url_path}", "NotFound")

    def repo_api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        op = rest[0] if rest else ""
        self.route = op or "info"
        if method == "GET" and op == "":
            return self.repo_info(repo_type, repo_id, None)
        if method == "GET" and op == "revision" and len(rest) >= 2:
            return self.repo_info(repo_type, repo_id, "/".join(rest[1:]))
        if method == "GET" and op == "tree" and len(rest) >= 2:
            return self.tree(repo_type, repo_id, rest[1], "/".join(rest[2:]))
        if method == "POST" and op == "paths-info" and len(rest) >= 2:
            return self.paths_info(repo_type, repo_id, "/".join(rest[1:]))
        if method == "GET" and op == "refs":
            return self.refs(repo_type, repo_id)
        if method == "GET" and op == "commits" and len(rest) >= 2:
            return self.commits(repo_type, repo_id, "/".join(rest[1:]))
        if op in ("branch", "tag") and len(rest) >= 2 and method in ("POST", "DELETE"):
            return self.branch_or_tag(method, op, repo_type, repo_id, "/".join(rest[1:]))
        if method == "PUT" and op == "settings":
            return self.settings(repo_type, repo_id)
        if method == "GET" and op == "auth-check":
            user = self.user()
            self.repo_for(repo_type, repo_id, user, write=rest[1:] == ["write"], gated=True)
            return self.send_json(200, {"ok": True})
        if op == "user-access-request" and len(rest) == 2:
            return self.access_requests(method, repo_type, repo_id, rest[1])
        if method == "GET" and op in ("xet-read-token", "xet-write-token") and len(rest) >= 2:
            kind = op.split("-")[1]
            return hf_transfer.xet_token(self, repo_type, repo_id, kind, "/".join(rest[1:]))
        if method == "POST" and op == "preupload" and len(rest) >= 2:
            return hf_transfer.preupload(self, repo_type, repo_id, "/".join(rest[1:]))
        if method == "POST" and op == "commit" and len(rest) >= 2:
            return hf_transfer.commit(self, repo_type, repo_id, "/".join(rest[1:]))
        raise HttpError(404, f"no API route for {method} {self.url_path}", "NotFound")

    # -- account ---------------------------------------------------------------------------------
    def whoami(self) -> None:
        token = self.token()
        user = self.ctx.store.user_for_token(PLATFORM, token) if token else None
        if not user:
            raise HttpError(401, INVALID_TOKEN, "Unauthorized")
        orgs = self.ctx.store.orgs_of(PLATFORM, user)
        self.send_json(
            200,
            {
                "type": "user",
                "id": hex_id(user),
                "name": user,
                "fullname": user.capitalize(),
                "email": f"{user}@hubsandbox.invalid",
                "emailVerified": True,
                "isPro": False,
                "canPay": False,
                "periodEnd": None,
                "orgs": [
                    {
                        "type": "org",
                        "id": hex_id(o),
                        "name": o,
                        "fullname": o,
                        "roleInOrg": "admin",
                        "isEnterprise": False,
                    }
                    for o in orgs
                ],
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": "hubsandbox",
                        "role": "write",
                        "createdAt": "2026-01-01T00:00:00.000Z",
                    },
                },
            },
        )

    # -- repos -----------------------------------------------------------------------------------
    def create_repo(self) -> None:
        user = self.user(required=True)
        body = self.read_json() or {}
        repo_type = body.get("type") or "model"
        if repo_type not in URL_PREFIX:
            raise HttpError(400, f"invalid repo type {repo_type!r}", "BadRequest")
        namespace = body.get("organization") or user
        name = body.get("name") or ""
        repo_id = f"{namespace}/{name}"
        url = f"{self.ctx.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"
        store = self.ctx.store
        if not store.can_write(PLATFORM, user, namespace):
            raise HttpError(
                403,
                f"You don't have the rights to create a {repo_type} under the namespace "
                f'"{namespace}". hint: use your own namespace ({user}) or one of your orgs.',
                "Forbidden",
            )
        private = body.get("visibility") == "private" or body.get("private") is True
        meta = {}
        if repo_type == "space":
            meta["sdk"] = body.get("sdk") or "static"
        try:
            repo = store.create_repo(PLATFORM, repo_type, repo_id, private, **meta)
        except RepoExists:
            message = f"You already created this {repo_type} repo"
            return self.send_json(
                409,
                {"error": message, "url": url},
                {"X-Error-Code": "RepoExists", "X-Error-Message": message},
            )
        except InvalidName as e:
            raise HttpError(400, f"invalid repo name {repo_id!r}: {e}", "BadRequest") from None
        self.send_json(
            200, {"url": url, "name": repo_id, "id": hex_id(repo_id), "private": repo.private}
        )

    def delete_repo(self) -> None:
        user = self.user(required=True)
        body = self.read_json() or {}
        repo_type = body.get("type") or "model"
        repo_id = f"{body.get('organization') or user}/{body.get('name')}"
        self.repo_for(repo_type, repo_id, user, write=True)
        self.ctx.store.delete_repo(PLATFORM, repo_type, repo_id)
        self.send_json(200, {})

    def settings(self, repo_type: str, repo_id: str) -> None:
        user = self.user(required=True)
        repo = self.repo_for(repo_type, repo_id, user, write=True)
        body = self.read_json() or {}
        changes = {}
        if "visibility" in body:
            if body["visibility"] not in ("private", "public"):
                raise HttpError(400, "visibility must be 'private' or 'public'", "BadRequest")
            changes["private"] = body["visibility"] == "private"
        if "private" in body:
            changes["private"] = bool(body["private"])
        if "gated" in body:
            if body["gated"] not in (False, "auto", "manual"):
                raise HttpError(400, "gated must be false, 'auto' or 'manual'", "BadRequest")
            changes["gated"] = body["gated"]
        repo.update(**changes)
        self.send_json(200, {"private": repo.private, "gated": repo.gated})

    def repo_info(self, repo_type: str, repo_id: str, rev: str | None) -> None:
        user = self.user()
        repo = self.repo_for(repo_type, repo_id, user)
        sha = repo.resolve(rev) if rev is not None else repo.resolve(None)
        if rev is not None and sha is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        blobs = self.q("blobs") in ("true", "1", "True")
        self.send_json(200, repo_json(repo, sha, siblings=True, blobs=blobs, card=True))

    def list_repos(self, repo_type: str) -> None:
        user = self.user()
        store = self.ctx.store
        author, search = self.q("author"), self.q("search")
        repos = [
            r
            for r in store.list_repos(PLATFORM, repo_type, owner=author)
            if store.can_read(PLATFORM, user, r) and (not search or search in r.repo_id)
        ]
        expand = set(self.q_all("expand"))
        full = self.q("full") in ("true", "True", "1")
        page = self.paginate(repos)
        self.send_json(
            200,
            [
                repo_json(
                    r,
                    r.resolve(None),
                    siblings=full or "siblings" in expand,
                    blobs=False,
                    card=full or "cardData" in expand,
                )
                for r in page
            ],
        )

    def paginate(self, items: list) -> list:
        """One page of items; sets `self.link` (sent by send_json) when more follow."""
        size = self.ctx.config.page_size
        limit = self.q("limit")
        if limit and limit.isdigit() and int(limit) > 0:
            size = min(size, int(limit))
        cursor = self.q("cursor") or "0"
        start = int(cursor) if cursor.isdigit() else 0
        end = start + size
        if end < len(items):
            params = [(k, v) for k, vs in self.query.items() for v in vs if k != "cursor"]
            params.append(("cursor", str(end)))
            self.link = f'<{self.ctx.endpoint}{self.raw_path}?{urlencode(params)}>; rel="next"'
        return items[start:end]

    def send_json(self, status, obj, headers=None):
        link = getattr(self, "link", None)
        if link and status == 200:
            headers = {**(headers or {}), "Link": link}
        super().send_json(status, obj, headers)

    def tree(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        user = self.user()
        repo = self.repo_for(repo_type, repo_id, user)
        sha = self.commit_or_404(repo, rev)
        path = path.strip("/")
        recursive = self.q("recursive") in ("true", "True", "1")
        entries = tree_entries(repo, sha, path, recursive, self.xet_hash_of)
        if entries is None:
            raise HttpError(404, f"{path} does not exist at {rev}", "EntryNotFound")
        self.send_json(200, self.paginate(entries))

    def paths_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        user = self.user()
        repo = self.repo_for(repo_type, repo_id, user)
        sha = self.commit_or_404(repo, rev)
        raw = self.read_body()
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            paths = (json.loads(raw or b"{}") or {}).get("paths", [])
        else:
            paths = parse_qs(raw.decode(), keep_blank_values=True).get("paths", [])
        listing = repo.listing(sha)
        dirs = directory_oids(repo, sha)
        out = []
        for p in paths:
            p = p.strip("/")
            if p in listing:
                out.append(file_json(listing[p], self.xet_hash_of))
            elif p in dirs:
                out.append({"type": "directory", "path": p, "oid": dirs[p]})
        self.send_json(200, out)

    def refs(self, repo_type: str, repo_id: str) -> None:
        user = self.user()
        repo = self.repo_for(repo_type, repo_id, user)
        branches, tags = [], []
        for ref, sha in sorted(repo.refs().items()):
            item = {"name": ref.split("/", 2)[2], "ref": ref, "targetCommit": sha}
            (branches if ref.startswith("refs/heads/") else tags).append(item)
        result = {"branches": branches, "converts": [], "tags": tags}
        if self.q("include_prs"):
            result["pullRequests"] = []
        self.send_json(200, result)

    def commits(self, repo_type: str, repo_id: str, rev: str) -> None:
        user = self.user()
        repo = self.repo_for(repo_type, repo_id, user)
        sha = self.commit_or_404(repo, rev)
        self.send_json(
            200,
            self.paginate(
                [
                    {
                        "id": c["id"],
                        "title": c["title"],
                        "message": c["message"],
                        "authors": [{"user": c["author"]}],
                        "date": iso_z(c["date"]),
                    }
                    for c in repo.log(sha)
                ]
            ),
        )

    def access_requests(self, method: str, repo_type: str, repo_id: str, what: str) -> None:
        """Gated-repo access management, as the owner sees it (grant, handle, list).

        Assumption: every grant is immediate; nobody files requests in the sandbox, so
        "pending" and "rejected" lists are empty.
        """
        user = self.user(required=True)
        repo = self.repo_for(repo_type, repo_id, user, write=True)
        granted = repo.gated_users
        if method == "GET" and what in ("accepted", "pending", "rejected"):
            names = granted if what == "accepted" else []
            return self.send_json(
                200,
                self.paginate(
                    [
                        {
                            "user": {"user": name, "fullname": name},
                            "requestId": hex_id(name),
                            "status": what,
                            "timestamp": repo.modified,
                            "fields": None,
                        }
                        for name in names
                    ]
                ),
            )
        if method == "POST" and what in ("grant", "handle"):
            body = self.read_json() or {}
            name = body.get("user") or ""
            if not self.ctx.store.user_exists(PLATFORM, name):
                raise HttpError(404, f"user {name!r} not found", "UserNotFound")
            status = "accepted" if what == "grant" else body.get("status")
            if status == "accepted":
                granted = sorted(set(granted) | {name})
            else:
                granted = [g for g in granted if g != name]
            repo.update(gated_users=granted)
            return self.send_json(200, {})
        raise HttpError(404, f"no API route for {method} {self.url_path}", "NotFound")

    def branch_or_tag(
        self, method: str, kind: str, repo_type: str, repo_id: str, name: str
    ) -> None:
        user = self.user(required=True)
        repo = self.repo_for(repo_type, repo_id, user, write=True)
        body = (self.read_json() or {}) if method == "POST" else {}
        try:
            if method == "DELETE":
                repo.delete_ref(f"refs/{'heads' if kind == 'branch' else 'tags'}/{name}")
            elif kind == "branch":
                repo.create_branch(name, body.get("startingPoint"))
            else:  # POST /tag/{revision} with {"tag": name}
                repo.create_tag(body.get("tag") or "", name)
        except RevisionNotFound as e:
            raise HttpError(404, str(e), "RevisionNotFound") from None
        except RepoExists as e:
            raise HttpError(409, str(e), "RefExists") from None
        self.send_json(200, {})


def make_handler(ctx: HubContext):
    return type("HfHandler", (HfHandler,), {"ctx": ctx})
