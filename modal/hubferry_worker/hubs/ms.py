"""ModelScope adapter over `modelscope_hub` (pinned 0.5.1, shipped with modelscope 1.40.2).

Metadata, per-file download and repo creation use the public `HubApi`. Listings page through the
legacy client's per-request calls (`legacy._list_files_page`, `legacy.iter_dataset_file_pages`)
so that no more than a few answers are ever held at once (`list_files`). Uploads use the
blob-level calls that `HubApi.upload_folder` itself is built on (`HubApi.legacy.validate_blobs`,
`upload_blob`, `create_commit`, and `_upload._upload_mode` for the inline-vs-LFS rule): they are not
documented API, so the version is pinned and the worker tests drive each of them against the
sandbox — an upgrade that moves them fails there first. They let a blob go up the moment
its download finishes and many files share one commit (ModelScope rate-limits commits).
"""

from __future__ import annotations

import base64
import glob
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from modelscope_hub._upload import _upload_mode
from modelscope_hub.api import HubApi
from modelscope_hub.constants import (
    COMMIT_MAX_ACTIONS_PER_REQUEST,
    REPO_FILES_TRUNCATION_LIMIT,
    REPO_TREE_MAX_REQUESTS,
    UPLOAD_BLOB_VALIDATION_BATCH_MAX_OBJECTS,
)
from modelscope_hub.errors import NotExistError

from ..job import Credentials, Endpoint
from ..manifest import ChunkReader, ContentMismatch, Entry, VerifyingReader, hash_file, lower_hex
from ..staging import bytes_of
from . import ListingIncomplete, PendingOp, RepoState

DEFAULT_ENDPOINT = "https://modelscope.cn"
PRIVATE, PUBLIC = 1, 5
STREAM_CHUNK = 1024 * 1024
# Directory listings in flight at once while walking a model repo past the cap (the SDK's own
# walk runs 8; each answer held is up to 3000 raw entries).
LIST_WORKERS = 4


def _raw_path(raw: dict) -> str:
    return raw.get("Path") or raw.get("path") or raw.get("Name") or ""


def _raw_type(raw: dict) -> str:
    return raw.get("Type") or raw.get("type") or "blob"


def _entry(raw: dict) -> Entry | None:
    """A raw `repo/files` / `repo/tree` entry as an Entry (None for a directory), read with the
    field names and fallbacks `HubApi.list_repo_files` normalises them with."""
    path = _raw_path(raw)
    if not path or _raw_type(raw) == "tree":
        return None
    sha = lower_hex(raw.get("Sha256") or raw.get("sha256") or None)
    blob = lower_hex(raw.get("BlobId") or raw.get("blob_id") or raw.get("Sha256") or None)
    lfs = raw.get("Lfs") or raw.get("lfs")
    # An LFS file's blob id is its pointer's, which says nothing about the content.
    git_oid = blob if blob and len(blob) == 40 and blob != sha and lfs is None else None
    return Entry(path, int(raw.get("Size") or raw.get("size") or 0), sha, git_oid)


def _lfs_op(entry: Entry) -> dict:
    return {
        "action": "create",
        "path": entry.path,
        "type": "lfs",
        "size": entry.size,
        "sha256": entry.sha256,
        "content": "",
        "encoding": "",
    }


class MsHub:
    platform = "ms"
    # The hub answers 422 to a commit of more actions (the SDK clamps every commit path to it).
    commit_max_actions = COMMIT_MAX_ACTIONS_PER_REQUEST

    def __init__(self, creds: Credentials):
        self.endpoint = creds.ms_endpoint or DEFAULT_ENDPOINT
        self.token = creds.ms_token
        self.api = HubApi(endpoint=self.endpoint, token=self.token)
        # sha256 -> upload URL (None: the hub already stores the blob), from `presign_streams`;
        # each answer serves one upload attempt.
        self._presigned: dict[str, str | None] = {}
        self._presigned_lock = threading.Lock()

    def web_url(self, ep: Endpoint) -> str:
        return f"{self.endpoint}/{ep.repo_type}s/{ep.repo_id}"

    def git_url(self, ep: Endpoint) -> str:
        return f"{self.endpoint.rstrip('/')}/{ep.repo_type}s/{ep.repo_id}.git"

    def state(self, ep: Endpoint, revision: str | None = None) -> RepoState:
        try:
            info = self.api.get_repo(ep.repo_id, ep.repo_type)
        except NotExistError:
            return RepoState(exists=False)
        vis = info.visibility
        private = bool(info.private) if info.private is not None else int(vis or PUBLIC) != PUBLIC
        return RepoState(exists=True, private=private, gated=bool(info.gated), sha=None)

    def list_files(self, ep: Endpoint, revision: str) -> list[Entry]:
        """Every file of the revision, each raw entry of an answer made an `Entry` as soon as the
        answer arrives: memory holds the compact entries plus at most LIST_WORKERS answers of at
        most REPO_FILES_TRUNCATION_LIMIT raw entries each, whatever the repo's size.
        (`HubApi.list_repo_files` keeps every raw entry of the repo, then every `FileInfo`, until
        it returns: about 5 kB a file.) Raises ListingIncomplete for what the hub cannot list."""
        if ep.repo_type == "dataset":
            return self._list_dataset(ep, revision)
        return self._list_model(ep, revision)

    def _list_dataset(self, ep: Endpoint, revision: str) -> list[Entry]:
        """`repo/tree` pages (the SDK's `iter_dataset_file_pages`, which yields one page at a time
        and a failed page as its error): one request per 200 entries, the page size of the SDK's
        own listing. A page still failing after the SDK's two attempts fails the listing, which
        the worker's retrier starts again (the listing has no resume)."""
        out: list[Entry] = []
        pages = self.api.legacy.iter_dataset_file_pages(ep.repo_id, revision)
        for page, raw, error in pages:
            if error is not None:
                if page > REPO_TREE_MAX_REQUESTS:
                    raise ListingIncomplete(
                        out,
                        ["/"],
                        f"the listing stopped after {REPO_TREE_MAX_REQUESTS} pages"
                        " (MODELSCOPE_REPO_TREE_MAX_REQUESTS)",
                    )
                raise error
            out.extend(e for e in map(_entry, raw) if e is not None)
        return out

    def _list_model(self, ep: Endpoint, revision: str) -> list[Entry]:
        """`repo/files` answers at most REPO_FILES_TRUNCATION_LIMIT entries and has no pages: a
        subtree listed whole in one request when it fits, else its direct entries and then each
        subdirectory the same way, LIST_WORKERS at a time. The requests are the SDK walk's
        (`_walk_repo_files`): one for a repo under the cap, and for each directory over it two
        more plus one per subdirectory. A directory of more direct entries than the cap cannot
        be listed in full by anyone: ListingIncomplete names it."""
        legacy = self.api.legacy

        def listed(root: str | None) -> tuple[list[Entry], list[str], bool]:
            """(files, subdirectories still to list, whether root holds too many entries)."""
            whole = legacy._list_files_page(
                ep.repo_id, ep.repo_type, revision, recursive=True, root=root
            )
            if len(whole) < REPO_FILES_TRUNCATION_LIMIT:
                return [e for e in map(_entry, whole) if e is not None], [], False
            del whole
            level = legacy._list_files_page(
                ep.repo_id, ep.repo_type, revision, recursive=False, root=root
            )
            files = [e for e in map(_entry, level) if e is not None]
            dirs = [_raw_path(d) for d in level if _raw_type(d) == "tree" and _raw_path(d)]
            return files, dirs, len(level) >= REPO_FILES_TRUNCATION_LIMIT

        out: list[Entry] = []
        oversized: list[str] = []
        pool = ThreadPoolExecutor(LIST_WORKERS, thread_name_prefix="hubferry-ms-list")
        try:
            pending = {pool.submit(listed, None): "/"}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    root = pending.pop(future)
                    files, dirs, too_many = future.result()
                    out.extend(files)
                    if too_many:
                        oversized.append(root)
                    for d in dirs:
                        pending[pool.submit(listed, d)] = d
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if oversized:
            shown = ", ".join(f"`{d}`" for d in sorted(oversized))
            raise ListingIncomplete(
                out,
                oversized,
                f"ModelScope lists at most {REPO_FILES_TRUNCATION_LIMIT} entries of a directory,"
                f" and {shown} of {ep} hold{'s' if len(oversized) == 1 else ''} more",
            )
        return out

    def download(
        self, ep: Endpoint, revision: str, path: str, root: Path, force: bool, entry: Entry
    ) -> Path:
        local = self.api.download_file(
            ep.repo_id,
            ep.repo_type,
            path,
            revision=revision,
            local_dir=root,
            force=force,
            expected_sha256=entry.sha256,
            file_size=entry.size,
        )
        return Path(local)

    def download_probe(self, root: Path, path: str) -> Callable[[], int]:
        """Measures how much of `path` a running `download` into root has written. The SDK streams
        into `<file>.incomplete`; in its parallel mode it writes `<file>_<start>_<end>` parts, then
        merges them into `<file>.parallel_tmp` (the overlap is capped by the caller)."""
        target = root / path
        suffixes = (".incomplete", ".parallel_tmp")
        fixed = [target, *(target.with_name(target.name + s) for s in suffixes)]
        part = re.compile(re.escape(target.name) + r"_\d+_\d+")
        pattern = glob.escape(target.name) + "_*"

        def probe() -> int:
            parts = [p for p in target.parent.glob(pattern) if part.fullmatch(p.name)]
            return bytes_of([*fixed, *parts])

        return probe

    def ensure_repo(self, ep: Endpoint, private: bool) -> None:
        """Creates the repo, or finds it there. Asked first by the caller (`state`), so no
        existence check precedes the create: a repo that exists makes the create fail, and the
        check after it says so."""
        try:
            self.api.create_repo(
                ep.repo_id, ep.repo_type, visibility=PRIVATE if private else PUBLIC
            )
        except Exception:
            # Concurrent chunk jobs race to create the same repo; losing that race is fine.
            if not self.api.repo_exists(ep.repo_id, ep.repo_type):
                raise

    def stage_upload(
        self, ep: Endpoint, local: Path, entry: Entry, expected_sha256: str | None = None
    ) -> PendingOp:
        """Uploads the blob (LFS) or reads the content (inline). With expected_sha256 the staged
        copy has not been hashed yet: it is verified while it is read (ContentMismatch)."""
        mode = _upload_mode(entry.path, entry.size, ep.repo_type)
        if mode == "lfs":
            legacy = self.api.legacy
            urls = legacy.validate_blobs(
                ep.repo_id, ep.repo_type, [{"oid": entry.sha256, "size": entry.size}]
            )
            url = urls.get(entry.sha256)
            if url is None and expected_sha256:
                # Already stored at the hub: nothing read yet, so check the staged copy now.
                _, sha, _ = hash_file(Path(local))
                if sha != expected_sha256:
                    raise ContentMismatch(f"{entry.path}: sha256 mismatch in the staged copy")
            if url:  # None: the hub already stores this blob
                with open(local, "rb") as f:
                    body = None
                    if expected_sha256:
                        body = VerifyingReader(f, entry.size, expected_sha256, entry.path)
                    try:
                        legacy.upload_blob(url, body or f, entry.size)
                    except Exception:
                        if body is not None and body.mismatch:
                            raise ContentMismatch(body.mismatch) from None
                        raise
            op = _lfs_op(entry)
        else:
            content = Path(local).read_bytes()
            if expected_sha256 and hashlib.sha256(content).hexdigest() != expected_sha256:
                raise ContentMismatch(f"{entry.path}: sha256 mismatch in the staged copy")
            op = {
                "action": "create",
                "path": entry.path,
                "type": "normal",
                "size": entry.size,
                "sha256": "",
                "content": base64.b64encode(content).decode(),
                "encoding": "base64",
            }
        return PendingOp(entry.path, entry.size, op, False)

    def can_stream(self, ep: Endpoint, entry: Entry) -> bool:
        """Whether `entry` can go up straight from its download (`stream_upload`): a blob (LFS)
        file whose sha256 the source listing gives, since the LFS batch call takes the oid before
        any byte. Inline files are committed from their content and are staged."""
        return bool(entry.sha256) and _upload_mode(entry.path, entry.size, ep.repo_type) == "lfs"

    def presign_streams(self, ep: Endpoint, entries: list[Entry]) -> None:
        """Asks for the upload URLs of the blobs about to stream in one LFS batch call (groups of
        the SDK's own batch size, as `upload_folder` does) instead of one call per stream: the
        streams then start their PUTs together rather than queueing their batch calls behind
        each other. The batch endpoint names only the objects it wants uploaded; an object of a
        group that answered and is not named is already stored. A group that fails leaves its
        files to negotiate their URL themselves (`stream_upload`), with their retries."""
        legacy = self.api.legacy
        step = max(1, UPLOAD_BLOB_VALIDATION_BATCH_MAX_OBJECTS)
        for i in range(0, len(entries), step):
            group = [e for e in entries[i : i + step] if e.sha256]
            objects = [{"oid": e.sha256, "size": e.size} for e in group]
            try:
                urls = legacy.validate_blobs(ep.repo_id, ep.repo_type, objects) if objects else {}
            except Exception:  # noqa: BLE001 - each file asks again on its own
                continue
            with self._presigned_lock:
                for e in group:
                    self._presigned[e.sha256] = urls.get(e.sha256)

    def _upload_url(self, ep: Endpoint, entry: Entry) -> str | None:
        """The blob's upload URL (None: already stored): the presigned answer once, else asked."""
        with self._presigned_lock:
            if entry.sha256 in self._presigned:
                return self._presigned.pop(entry.sha256)
        urls = self.api.legacy.validate_blobs(
            ep.repo_id, ep.repo_type, [{"oid": entry.sha256, "size": entry.size}]
        )
        return urls.get(entry.sha256)

    def stream_upload(self, ep: Endpoint, entry: Entry, source: Callable) -> PendingOp:
        """Uploads the blob while its download streams in: `source()` opens the download (a
        context manager yielding a reader). The bytes are hashed as they pass and the final chunk
        is withheld unless the sha256 matches the manifest (VerifyingReader), so the PUT of a
        corrupt or short stream never completes and no commit can reference it (ContentMismatch:
        the caller starts the file again). A blob the hub already stores is not read at all."""
        legacy = self.api.legacy
        url = self._upload_url(ep, entry)
        if url:
            with source() as reader:
                body = VerifyingReader(reader, entry.size, entry.sha256, entry.path, "download")
                try:
                    legacy.upload_blob(url, body, entry.size)
                except Exception:
                    if body.mismatch:
                        raise ContentMismatch(body.mismatch) from None
                    raise
                if body.pos != entry.size or body.mismatch:
                    raise ContentMismatch(f"{entry.path}: the upload ended before the download")
        return PendingOp(entry.path, entry.size, _lfs_op(entry), False)

    @contextmanager
    def open_stream(self, ep: Endpoint, revision: str, entry: Entry) -> Iterator[ChunkReader]:
        """The file's bytes as they arrive (`legacy.download_stream`, one GET, no resume)."""
        response = self.api.legacy.download_stream(ep.repo_id, ep.repo_type, entry.path, revision)
        try:
            yield ChunkReader(response.iter_content(chunk_size=STREAM_CHUNK))
        finally:
            response.close()

    def delete_op(self, path: str) -> dict:
        return {
            "action": "delete",
            "path": path,
            "type": "normal",
            "size": 0,
            "sha256": "",
            "content": "",
            "encoding": "",
        }

    def commit(self, ep: Endpoint, ops: list, message: str) -> str | None:
        data = self.api.legacy.create_commit(
            ep.repo_id, ep.repo_type, ops, message, revision=ep.revision
        )
        if isinstance(data, dict):
            for key in ("CommitId", "commit_id", "Sha", "sha", "oid", "Id"):
                if isinstance(data.get(key), str):
                    return data[key]
        return None
