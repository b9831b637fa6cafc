"""Hugging Face side: moving bytes. Preupload, commit (NDJSON), the LFS batch API (upload: basic
and multipart; download: for git-lfs), the LFS object routes it hands out, and `resolve` downloads.

LFS hrefs are signed with a per-process secret instead of carrying the user's token, as the Hub's
pre-signed storage URLs do: the client sends no Authorization header to them. Multipart uploads
land part by part in the state dir's tmp/ and are concatenated (and hashed) on completion.

Assumption (not observable from the client): preupload answers "lfs" for paths matched by a
`filter=lfs` pattern of the repo's .gitattributes, for files over 10 MB, and for binary samples
(a NUL byte), like the Hub; "regular" otherwise.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import shutil
import uuid
from urllib.parse import urlencode

from .gitattributes import GITATTRIBUTES_LINE, lfs_patterns, lfs_patterns_of, matches_lfs
from .hf_bridge import bridge_url
from .httpbase import HttpError, check_sig, sign
from .store import (
    SHA256_RE,
    AddInline,
    AddLfs,
    Delete,
    EntryNotFound,
    InvalidName,
    MissingObject,
    RevisionNotFound,
)
from .xet import Grant

LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
REGULAR_MAX = 10 * 1000 * 1000
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


# -- downloads -------------------------------------------------------------------------------------
def resolve(h, repo_type: str, repo_id: str, rev: str, path: str) -> None:
    user = h.user()
    repo = h.repo_for(repo_type, repo_id, user, gated=True)
    locked = h.ctx.faults.storage_lock("hf", repo_type, repo_id)
    if locked:
        h.fault_kind = "storage_lock"
        raise HttpError(403, locked, "StorageLocked")
    sha = h.commit_or_404(repo, rev)
    try:
        entry = repo.entry(sha, path)
        location = bridge_url(h.ctx, entry.sha256, repo_id, path) if entry.lfs else None
        # A HEAD, or a redirect, needs the metadata only: a Xet-uploaded file is not
        # reconstructed for it.
        fileobj = io.BytesIO() if h.method == "HEAD" or location else repo.open(sha, path)[1]
    except EntryNotFound:
        # The commit header lets the client cache the file's absence for that commit.
        raise HttpError(
            404,
            f"{path} does not exist in {repo_id} at {rev}",
            "EntryNotFound",
            headers={"X-Repo-Commit": sha},
        ) from None
    except MissingObject as e:
        raise HttpError(500, str(e), "InternalError") from None
    headers = {"X-Repo-Commit": sha}
    if entry.lfs:
        headers["ETag"] = f'"{entry.sha256}"'
        headers["X-Linked-Etag"] = f'"{entry.sha256}"'
        headers["X-Linked-Size"] = str(entry.size)
        headers.update(xet_headers(h, repo_type, repo_id, sha, entry.sha256))
    else:
        headers["ETag"] = f'"{entry.blob_oid}"'
    if location:
        # As the Hub: an LFS file's bytes are on the CDN; the metadata clients read is on the 302.
        headers["Location"] = location
        return h.send_bytes(302, b"", "", headers)
    h.send_file(fileobj, entry.size, headers, repo_id=repo_id, path=path)


def xet_headers(h, repo_type: str, repo_id: str, sha: str, sha256: str) -> dict:
    """What tells a client to fetch an LFS file through Xet: its Xet hash and where to get a
    read token for it. Every LFS file has one, as on the Hub (LFS uploads are moved into the
    CAS here on first use)."""
    xet = h.ctx.extra.get("xet")
    found = xet.ensure(sha256, h.ctx.store.objects_for("hf")) if xet else None
    if found is None:
        return {}
    refresh = f"{h.ctx.endpoint}/api/{repo_type}s/{repo_id}/xet-read-token/{sha}"
    return {"X-Xet-Hash": found.xet_hash, "Link": f'<{refresh}>; rel="xet-auth"'}


def xet_token(h, repo_type: str, repo_id: str, kind: str, rev: str) -> None:
    """`xet-read-token/{rev}` and `xet-write-token/{rev}`: the CAS URL and a short-lived token,
    as JSON and as X-Xet-* headers. A write token needs write access; revision "None" is what
    the client sends for an upload that will open a pull request."""
    user = h.user(required=kind == "write")
    repo = h.repo_for(repo_type, repo_id, user, write=kind == "write", gated=kind == "read")
    if kind == "read":
        h.commit_or_404(repo, rev)
    elif rev != "None":
        _branch_head(h, repo, rev)
    xet = h.ctx.extra.get("xet")
    if xet is None:
        raise HttpError(404, "Xet storage is not enabled on this hub", "NotFound")
    token = xet.token(Grant(repo_type, repo_id, rev))
    h.send_json(200, token["body"], token["headers"])


# -- LFS batch -------------------------------------------------------------------------------------
def lfs_batch(h, repo_type: str, repo_id: str) -> None:
    user = h.user()
    body = h.read_json() or {}
    operation = body.get("operation")
    if operation not in ("upload", "download"):
        raise HttpError(400, "operation must be 'upload' or 'download'", "BadRequest")
    if operation == "upload":
        if user is None:
            h.user(required=True)
        h.repo_for(repo_type, repo_id, user, write=True)
    else:
        repo = h.repo_for(repo_type, repo_id, user, gated=True)
        # Name the file in each href so drop/corrupt faults can target git-lfs downloads too.
        head = repo.resolve((body.get("ref") or {}).get("name") or None) or repo.resolve(None)
        path_of = {e.sha256: e.path for e in repo.files(head) if e.lfs} if head else {}
    cfg, store, base = h.ctx.config, h.ctx.store, h.ctx.endpoint + "/api/_sandbox"
    multipart_ok = "multipart" in (body.get("transfers") or ["basic"])
    used_multipart = False
    objects = []
    for obj in body.get("objects") or []:
        oid, size = str(obj.get("oid", "")), int(obj.get("size") or 0)
        item = {"oid": oid, "size": size, "authenticated": True}
        if not SHA256_RE.match(oid):
            item["error"] = {"code": 422, "message": f"invalid oid {oid!r}"}
        elif operation == "download":
            if store.objects_for("hf").has(oid):
                item["actions"] = {
                    "download": {
                        "href": (
                            f"{base}/lfs-object/{oid}/{sign('get', oid)}?"
                            + urlencode({"repo": repo_id, "path": path_of.get(oid, oid)})
                        ),
                        "expires_in": 3600,
                    }
                }
            else:
                item["error"] = {"code": 404, "message": "Object does not exist"}
        elif store.objects_for("hf").size(oid) == size:
            pass  # already stored: no actions, the client skips the upload
        elif multipart_ok and size > cfg.lfs_multipart_threshold:
            used_multipart = True
            chunk = cfg.lfs_multipart_chunk
            upload_id = uuid.uuid4().hex
            header = {"chunk_size": str(chunk)}
            for n in range(1, math.ceil(size / chunk) + 1):
                header[f"{n:05d}"] = (
                    f"{base}/lfs-part/{oid}/{upload_id}/{n}/{sign('part', oid, upload_id, str(n))}"
                )
            item["actions"] = {
                "upload": {
                    "href": (
                        f"{base}/lfs-complete/{oid}/{size}/{upload_id}/"
                        f"{sign('complete', oid, str(size), upload_id)}"
                    ),
                    "header": header,
                    "expires_in": 86400,
                }
            }
        else:
            item["actions"] = {
                "upload": {
                    "href": f"{base}/lfs-upload/{oid}/{size}/{sign('put', oid, str(size))}",
                    "expires_in": 86400,
                }
            }
        objects.append(item)
    result = {
        "transfer": "multipart" if used_multipart else "basic",
        "objects": objects,
        "hash_algo": "sha256",
    }
    h.send_bytes(200, json.dumps(result).encode(), LFS_CONTENT_TYPE)


def object_route(h, method: str, segs: list[str]) -> None:
    """The signed routes handed out by lfs_batch."""
    store = h.ctx.store
    kind = segs[0] if segs else ""
    if kind == "lfs-upload" and method == "PUT" and len(segs) == 4:
        h.route = "lfs-upload"
        oid, size, sig = segs[1], segs[2], segs[3]
        check_sig(sig, "put", oid, size)
        try:
            store.objects_for("hf").put_stream(h.body, int(size), expected_sha256=oid)
        except MissingObject as e:
            raise HttpError(400, f"LFS upload of {oid} failed: {e}", "BadRequest") from None
        return h.send_bytes(200, b"", None)
    if kind == "lfs-part" and method == "PUT" and len(segs) == 5:
        h.route = "lfs-part"
        oid, upload_id, n, sig = segs[1:]
        check_sig(sig, "part", oid, upload_id, n)
        part_dir = store.tmp / f"parts-{upload_id}"
        part_dir.mkdir(exist_ok=True)
        tmp = part_dir / f"{int(n):05d}.{uuid.uuid4().hex}"
        size = 0
        with open(tmp, "wb") as out:
            while chunk := h.body.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        os.replace(tmp, part_dir / f"{int(n):05d}")
        return h.send_bytes(200, b"", None, {"ETag": f'"{upload_id[:8]}-{n}-{size}"'})
    if kind == "lfs-complete" and method == "POST" and len(segs) == 5:
        h.route = "lfs-complete"
        oid, size, upload_id, sig = segs[1:]
        check_sig(sig, "complete", oid, size, upload_id)
        body = h.read_json() or {}
        part_dir = store.tmp / f"parts-{upload_id}"
        numbers = sorted(int(p["partNumber"]) for p in body.get("parts", []))
        paths = [part_dir / f"{n:05d}" for n in numbers]
        if not numbers or any(not p.exists() for p in paths):
            raise HttpError(400, f"multipart upload of {oid}: parts missing", "BadRequest")
        try:
            store.objects_for("hf").put_stream(_Concat(paths), int(size), expected_sha256=oid)
        except MissingObject as e:
            raise HttpError(400, f"multipart upload of {oid} failed: {e}", "BadRequest") from None
        finally:
            shutil.rmtree(part_dir, ignore_errors=True)
        return h.send_json(200, {"success": True})
    if kind == "lfs-object" and method in ("GET", "HEAD") and len(segs) == 3:
        h.route = "lfs-object"
        oid, sig = segs[1], segs[2]
        check_sig(sig, "get", oid)
        objects = store.objects_for("hf")
        try:
            fileobj = objects.open(oid)
        except MissingObject:
            raise HttpError(404, f"LFS object {oid} not found", "EntryNotFound") from None
        return h.send_file(
            fileobj,
            objects.size(oid),
            {"ETag": f'"{oid}"'},
            repo_id=h.q("repo") or "",
            path=h.q("path") or oid,
        )
    raise HttpError(404, f"no route {method} {h.url_path}", "NotFound")


class _Concat:
    """Reads several files as one stream (multipart completion)."""

    def __init__(self, paths):
        self.paths = list(paths)
        self.current = None

    def read(self, n: int) -> bytes:
        while True:
            if self.current is None:
                if not self.paths:
                    return b""
                self.current = open(self.paths.pop(0), "rb")
            data = self.current.read(n)
            if data:
                return data
            self.current.close()
            self.current = None


# -- preupload and commit ------------------------------------------------------------------------
def _branch_head(h, repo, rev: str) -> str | None:
    """Head of the branch a write targets (None for the default branch of an empty repo)."""
    head = repo.refs().get(f"refs/heads/{rev}")
    if head is None and not (rev == repo.default_branch and not repo.refs()):
        raise HttpError(404, f"Invalid rev id: {rev} (commits go to a branch)", "RevisionNotFound")
    return head


def preupload(h, repo_type: str, repo_id: str, rev: str) -> None:
    user = h.user(required=True)
    repo = h.repo_for(repo_type, repo_id, user, write=True)
    body = h.read_json() or {}
    head = _branch_head(h, repo, rev)
    patterns = lfs_patterns(repo, head)
    listing = repo.listing(head) if head else {}
    out = []
    for f in body.get("files") or []:
        path, size = f.get("path", ""), int(f.get("size") or 0)
        try:
            sample = base64.b64decode(f.get("sample") or "")
        except (binascii.Error, ValueError):
            sample = b""
        lfs = size > REGULAR_MAX or b"\0" in sample or matches_lfs(path, patterns)
        item = {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
        existing = listing.get(path)
        if existing is not None:
            item["oid"] = existing.sha256 if existing.lfs else existing.blob_oid
        out.append(item)
    h.send_json(200, {"files": out, "commitOid": head})


def track_lfs_paths(repo, branch: str, ops: list) -> list:
    """Appends a .gitattributes line for LFS files no pattern covers, as the Hub does.

    Without it, git checkouts would leave such files as pointers (no smudge filter applies).
    """
    inline = [op for op in ops if isinstance(op, AddInline) and op.path == ".gitattributes"]
    if inline:
        current = inline[-1].data.decode("utf-8", "replace")
    else:
        head = repo.refs().get(f"refs/heads/{branch}")
        entry = repo.listing(head).get(".gitattributes") if head else None
        current = repo.read_blob(entry.blob_oid).decode("utf-8", "replace") if entry else ""
    patterns = lfs_patterns_of(current)
    missing = [
        op.path for op in ops if isinstance(op, AddLfs) and not matches_lfs(op.path, patterns)
    ]
    if not missing:
        return ops
    text = current if not current or current.endswith("\n") else current + "\n"
    text += "".join(
        GITATTRIBUTES_LINE.format(path.replace(" ", "[[:space:]]"))
        for path in dict.fromkeys(missing)
    )
    ops = [op for op in ops if op not in inline]
    return [*ops, AddInline(".gitattributes", text.encode())]


def commit(h, repo_type: str, repo_id: str, rev: str) -> None:
    user = h.user(required=True)
    repo = h.repo_for(repo_type, repo_id, user, write=True)
    if h.q("create_pr") in ("1", "true", "True"):
        raise HttpError(
            400,
            "pull requests are not supported by the hub sandbox. hint: commit to a branch instead.",
            "BadRequest",
        )
    _branch_head(h, repo, rev)
    header, ops = {}, []
    try:
        for line in h.read_body().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value") or {}
            if key == "header":
                header = value
            elif key == "file":
                data = (
                    base64.b64decode(value.get("content", ""))
                    if value.get("encoding", "base64") == "base64"
                    else value.get("content", "").encode()
                )
                ops.append(AddInline(value["path"], data))
            elif key == "lfsFile":
                # Copies of LFS files (CommitOperationCopy) name the object without a size.
                size = value.get("size")
                if size is None:
                    size = h.ctx.store.objects_for("hf").size(value["oid"])
                ops.append(AddLfs(value["path"], value["oid"], -1 if size is None else int(size)))
            elif key == "deletedFile":
                ops.append(Delete(value["path"]))
            elif key == "deletedFolder":
                ops.append(Delete(value["path"], folder=True))
            else:
                raise HttpError(400, f"unknown commit operation {key!r}", "BadRequest")
    except (ValueError, KeyError, binascii.Error) as e:
        raise HttpError(400, f"malformed commit payload: {e}", "BadRequest") from None
    summary = header.get("summary") or "Upload files"
    try:
        with repo.lock:  # .gitattributes is read and rewritten as part of the same commit
            ops = track_lfs_paths(repo, rev, ops)
            sha = repo.commit(
                ops,
                summary,
                parent=header.get("parentCommit"),
                branch=rev,
                author=user,
                description=header.get("description") or "",
            )
    except MissingObject as e:
        raise HttpError(
            422, f"{e}. hint: upload LFS objects before committing them.", "LfsObjectMissing"
        ) from None
    except EntryNotFound as e:
        raise HttpError(404, str(e), "EntryNotFound") from None
    except RevisionNotFound as e:
        raise HttpError(412, str(e), "RevisionNotFound") from None
    except InvalidName as e:
        raise HttpError(400, str(e), "BadRequest") from None
    h.send_json(
        200,
        {
            "success": True,
            "commitOid": sha,
            "commitMessage": summary,
            "hookOutput": "",
            "commitUrl": f"{h.ctx.endpoint}/{URL_PREFIX[repo_type]}{repo_id}/commit/{sha}",
            "pullRequestUrl": None,
        },
    )
