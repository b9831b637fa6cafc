"""File routes of the sandbox's ModelScope side: listings, downloads, LFS batch, blob PUT, commits.

`FileRoutes` is mixed into `ms_api.MsApi`, which provides `store`, `visible_repo`, `writable_repo`
and `repo_by_number`. Listing entries use ModelScope's field names (`Path`, `Type` blob|tree,
`Size`, `Sha256` of the real content, `Id` = git blob id, `Lfs`); downloads stream through the
transport (`ex.reply_file`) so faults and shaping apply; blob PUTs stream into the LFS object store
while hashed, so memory stays flat whatever the size.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import time
from urllib.parse import quote

from . import store as store_mod
from .ms_common import (
    LFS_BATCH_MAX_OBJECTS,
    REPO_FILES_LIMIT,
    SHA256_RE,
    TREE_DEFAULT_PAGE_SIZE,
    HttpError,
    epoch,
    ok,
    query_int,
)


class FileRoutes:
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
        ex.reply_json(
            200, ok({"Files": entries, "LatestCommitter": self.latest_committer(repo, sha)})
        )

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
        number = query_int(q, "PageNumber", 1)
        size = query_int(q, "PageSize", TREE_DEFAULT_PAGE_SIZE)
        if number < 1 or size < 1:
            raise HttpError(400, "PageNumber and PageSize must be positive")
        ex.reply_json(
            200,
            ok(
                {
                    "Files": entries[(number - 1) * size : number * size],
                    "TotalCount": len(entries),
                    "LatestCommitter": self.latest_committer(repo, sha),
                }
            ),
        )

    @staticmethod
    def latest_committer(repo, sha) -> dict | None:
        """The commit the listing was taken at, as the real service's `Data.LatestCommitter`
        carries it (`Id`, `ShortId`, `Title`, `Message`, author and date fields).

        Assumption: the dataset `repo/tree` answer carries it too (only the model `repo/files`
        one is observed in published responses)."""
        if sha is None:
            return None
        c = repo.log(sha, limit=1)[0]
        return {
            "Id": c["id"],
            "ShortId": c["id"][:8],
            "Title": c["title"],
            "Message": c["message"],
            "AuthorName": c["author"],
            "CommitterName": c["author"],
            "CommittedDate": epoch(c["date"]),
        }

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
            if not self.store.objects_for("ms").has(oid):
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
        if ex.headers.get("Content-Range"):
            # One PUT per blob (modelscope_hub `upload_blob`): no multipart, no resume.
            raise HttpError(400, f"blob {oid}: partial uploads (Content-Range) are not supported")
        ex.drop_upload(repo.repo_id, oid, size)
        try:
            ex.store_body(self.store.objects_for("ms"), size, oid)
        except store_mod.MissingObject as exc:
            raise HttpError(400, f"blob {oid} rejected: {exc}") from exc
        ex.reply_json(200, ok({"Oid": oid, "Size": size}))

    def commit(self, ex, segment, owner, name, revision):
        repo, user = self.writable_repo(ex, segment, owner, name)
        body = ex.json() or {}
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise HttpError(400, "commit needs a non-empty actions list")
        cap = ex.h.ctx.config.ms_commit_max_actions
        if len(actions) > cap:
            # The wording modelscope_hub quotes (constants.COMMIT_MAX_ACTIONS_PER_REQUEST).
            raise HttpError(
                422,
                f"commit request exceeds actions limit: {len(actions)} > {cap};"
                " split the commit into smaller batches",
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
        store_mod.check_path(path)  # InvalidName -> 400
        if kind == "delete":
            return store_mod.Delete(path)
        if kind not in ("create", "update"):
            raise HttpError(400, f"unknown commit action {kind!r} for {path}")
        if action.get("type") == "lfs":
            oid, size = str(action.get("sha256") or ""), action.get("size")
            if not SHA256_RE.match(oid) or not self.store.objects_for("ms").has(oid):
                raise HttpError(400, f"{path}: LFS object {oid} was not uploaded")
            stored = self.store.objects_for("ms").size(oid)
            if size is not None and int(size) != stored:
                raise HttpError(400, f"{path}: size {size} does not match LFS object ({stored})")
            return store_mod.AddLfs(path, oid, stored)
        try:
            data = base64.b64decode(action.get("content") or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HttpError(400, f"{path}: content is not valid base64") from exc
        return store_mod.AddInline(path, data)
