"""Hugging Face Hub adapter over `huggingface_hub` (pinned 2.4.0): HfApi for metadata, listing,
preupload and commits; `hf_hub_download` per file.

Blobs go up with `preupload_lfs_files` as each file arrives; the commit that references them comes
later, in batches. Regular (non-LFS) files are committed inline, so their staged copy stays on disk
until that commit lands.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub._local_folder import get_local_download_paths
from huggingface_hub.errors import (
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

from ..job import Credentials, Endpoint
from ..manifest import ChunkReader, ContentMismatch, Entry, current_meter, lower_hex
from ..staging import bytes_of
from . import PendingOp, RepoState

DEFAULT_ENDPOINT = "https://huggingface.co"
INLINE_IN_MEMORY_MAX = 1024 * 1024
STREAM_CHUNK = 1024 * 1024
READ_POLL_S = 0.25


@contextmanager
def reads_reported(local: Path, meter: Callable[[int], None] | None) -> Iterator[None]:
    """Reports to `meter`, while the block runs, how far this process has read `local`: the
    measure of a classic LFS upload, whose PUT body reads the staged file as the link takes it.

    The measure is the offset of the process's open descriptors on the file (/proc/self/fdinfo,
    Linux). Not for Xet uploads: hf_xet reads ahead of its network by the xorbs it keeps in
    flight (xet_upload_progress measures those)."""
    if meter is None or not os.path.isdir("/proc/self/fdinfo"):
        yield
        return
    target = os.path.realpath(local)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(READ_POLL_S):
            for fd in os.listdir("/proc/self/fd"):
                try:
                    if os.readlink(f"/proc/self/fd/{fd}") != target:
                        continue
                    with open(f"/proc/self/fdinfo/{fd}") as info:
                        meter(int(info.readline().split()[1]))  # "pos:\t<offset>"
                except (OSError, ValueError, IndexError):
                    continue  # closed meanwhile

    poller = threading.Thread(target=poll, name="hf-upload-reads", daemon=True)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join()


def network_meter(meter: Callable[[int], None]) -> Callable:
    """An hf_xet upload `progress_callback` that tells `meter` how much of the commit's file
    bytes have crossed the network.

    hf_xet reports per commit `total_bytes` / `total_bytes_completed` (file bytes chunked) and
    `total_transfer_bytes` / `total_transfer_bytes_completed` (xorb and shard bytes, after dedup
    and compression, counted as its request bodies are sent). The worker puts one file in each
    commit, so the file's uploaded bytes are the transfer fraction of its size, and never more than
    it has chunked; before chunking ends the transfer total is still growing, so the fraction
    counts the transferred bytes as file bytes (less compression, under the file's true figure)."""

    def on_progress(group, _items) -> None:
        size, chunked = group.total_bytes, group.total_bytes_completed
        sent, to_send = group.total_transfer_bytes_completed, group.total_transfer_bytes
        if size and chunked >= size and to_send:
            meter(min(size, size * sent // to_send))
        else:
            meter(min(chunked, sent))

    return on_progress


class _MeteredXetSession:
    """hf_xet's public `XetSession` with `new_upload_commit` (documented: "progress_callback —
    callable invoked every progress_interval_ms") also reporting to the meter of the calling
    thread. huggingface_hub 2.4 creates its one session from `hf_xet.XetSession` and passes a
    progress_callback only to its own console bars (none with bars off), so the worker supplies
    the class instead of reaching into the SDK's upload code."""

    def __init__(self, *args, **kwargs):
        self._session = _XetSession(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._session, name)

    def new_upload_commit(self, *args, progress_callback=None, **kwargs):
        meter = current_meter()
        if meter is not None:
            ours = network_meter(meter)
            theirs = progress_callback

            def progress_callback(group, items):
                ours(group, items)
                if theirs is not None:
                    theirs(group, items)

        return self._session.new_upload_commit(*args, progress_callback=progress_callback, **kwargs)


def xet_uploads() -> bool:
    """Whether huggingface_hub uploads through Xet: hf_xet importable and not switched off
    (its `_commit_api._upload_files` rule). Known once `meter_xet_uploads` has run."""
    return _XetSession is not None and not constants.HF_HUB_DISABLE_XET


_XetSession = None
_xet_lock = threading.Lock()
_xet_looked = False


def meter_xet_uploads() -> None:
    """Supplies `_MeteredXetSession` as hf_xet's session class, once, before the first upload.
    Only a destination hub does: hf_xet is a native module, and a job that reads from the Hub
    (a streamed or plain GET, or huggingface_hub's own lazy import of it for a Xet download)
    never needs it loaded up front."""
    global _XetSession, _xet_looked
    with _xet_lock:
        if _xet_looked:
            return
        _xet_looked = True
        try:
            import hf_xet
        except ImportError:  # no hf_xet: huggingface_hub takes the LFS path
            return
        _XetSession = hf_xet.XetSession
        hf_xet.XetSession = _MeteredXetSession


class HfHub:
    platform = "hf"
    # No hard cap per commit on the Hub (its guidance: keep commits small; commit_max_files does).
    commit_max_actions = None

    def __init__(self, creds: Credentials, uploads: bool = True):
        self.endpoint = creds.hf_endpoint or DEFAULT_ENDPOINT
        self.token = creds.hf_token
        self.api = HfApi(endpoint=self.endpoint, token=self.token)
        if uploads:
            meter_xet_uploads()

    def web_url(self, ep: Endpoint) -> str:
        prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[ep.repo_type]
        return f"{self.endpoint}/{prefix}{ep.repo_id}"

    def git_url(self, ep: Endpoint) -> str:
        return self.web_url(ep)

    def state(self, ep: Endpoint, revision: str | None = None) -> RepoState:
        try:
            info = self.api.repo_info(ep.repo_id, repo_type=ep.repo_type, revision=revision)
        except GatedRepoError:
            raise
        except RevisionNotFoundError:
            raise
        except RepositoryNotFoundError:
            return RepoState(exists=False)
        return RepoState(
            exists=True,
            private=bool(getattr(info, "private", False)),
            gated=bool(getattr(info, "gated", False)),
            sha=getattr(info, "sha", None),
        )

    def list_files(self, ep: Endpoint, revision: str) -> list[Entry]:
        """Every file of the revision. `list_repo_tree` pages lazily (one page of the Hub's
        answer at a time), and each item becomes an `Entry` as it arrives: nothing of the SDK's
        `RepoFile` objects outlives its page."""
        out = []
        for item in self.api.list_repo_tree(
            ep.repo_id, repo_type=ep.repo_type, revision=revision, recursive=True
        ):
            if not isinstance(item, RepoFile):
                continue
            lfs = item.lfs
            if lfs is not None:
                # An LFS file's blob id names its pointer, not its content: compare by sha256 only.
                out.append(Entry(item.path, int(item.size), lower_hex(lfs.sha256), None))
            else:
                out.append(Entry(item.path, int(item.size), None, item.blob_id))
        return out

    def download(self, ep: Endpoint, revision: str, path: str, root: Path, force: bool) -> Path:
        paths = get_local_download_paths(root, path)
        # Stale metadata would make hf_hub_download return a previous (possibly corrupt) copy.
        paths.metadata_path.unlink(missing_ok=True)
        local = hf_hub_download(
            ep.repo_id,
            path,
            repo_type=ep.repo_type,
            revision=revision,
            local_dir=root,
            endpoint=self.endpoint,
            token=self.token,
            force_download=force,
        )
        # The staging budget counts file bytes only; the SDK's bookkeeping goes right away.
        paths.metadata_path.unlink(missing_ok=True)
        paths.lock_path.unlink(missing_ok=True)
        return Path(local)

    @contextmanager
    def open_stream(self, ep: Endpoint, revision: str, entry: Entry) -> Iterator[ChunkReader]:
        """The file's bytes as they arrive, for an upload that streams them on (nothing staged).

        A plain GET of `resolve`, as huggingface_hub's own non-Xet download does (`http_get`): the
        Hub answers a Xet-stored file with a redirect to its CAS bridge, which serves the
        reconstructed bytes over HTTP. hf_xet itself downloads to a path only (its stream classes
        are not used by huggingface_hub 2.4.0), so its multi-range reconstruction is not used here.
        The body is read one STREAM_CHUNK at a time: memory stays flat whatever the file size.
        No resume: a broken stream fails the attempt and the caller starts the file again (the
        ModelScope PUT it feeds cannot resume either)."""
        url = hf_hub_url(
            ep.repo_id,
            entry.path,
            repo_type=ep.repo_type,
            revision=revision,
            endpoint=self.endpoint,
        )
        with http_stream_backoff(
            "GET",
            url,
            headers=build_hf_headers(token=self.token),
            timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
            follow_redirects=True,
            retry_on_status_codes=(408, 429, 500, 502, 503, 504),
        ) as response:
            hf_raise_for_status(response)
            yield ChunkReader(response.iter_bytes(chunk_size=STREAM_CHUNK))

    def download_probe(self, root: Path, path: str) -> Callable[[], int]:
        """Measures how much of `path` a running `download` into root has written. The SDK
        streams into `<name hash>.<etag>.<random>.incomplete` next to the file's metadata and
        renames it to the file when complete; etag and random part are unknown beforehand."""
        paths = get_local_download_paths(root, path)
        partial = paths.incomplete_path("*").name
        folder = paths.metadata_path.parent
        return lambda: bytes_of([paths.file_path, *folder.glob(partial)])

    def ensure_repo(self, ep: Endpoint, private: bool) -> None:
        self.api.create_repo(ep.repo_id, repo_type=ep.repo_type, private=private, exist_ok=True)

    def stage_upload(
        self, ep: Endpoint, local: Path, entry: Entry, expected_sha256: str | None = None
    ) -> PendingOp:
        """Uploads the blob ahead of the commit. The SDK hashes the file to build the operation;
        with expected_sha256 (staged copy not hashed yet) that hash is the integrity check.

        Small files (≤ INLINE_IN_MEMORY_MAX) move into memory and skip the per-file preupload
        call: `create_commit` asks for their upload modes in bulk (one request per 256 files) and
        uploads any the Hub wants in LFS, which keeps request counts low for repos of many small
        files (the Hub allows about 1000 API requests per 5 minutes)."""
        if entry.size <= INLINE_IN_MEMORY_MAX:
            content = Path(local).read_bytes()
            op = CommitOperationAdd(path_in_repo=entry.path, path_or_fileobj=content)
            if expected_sha256 and op.upload_info.sha256.hex() != expected_sha256:
                raise ContentMismatch(f"{entry.path}: sha256 mismatch in the staged copy")
            return PendingOp(entry.path, entry.size, op, False)
        op = CommitOperationAdd(path_in_repo=entry.path, path_or_fileobj=str(local))
        if expected_sha256 and op.upload_info.sha256.hex() != expected_sha256:
            raise ContentMismatch(f"{entry.path}: sha256 mismatch in the staged copy")
        # Through Xet the meter hears hf_xet's network progress (_MeteredXetSession).
        meter = current_meter()
        reads = contextlib.nullcontext() if xet_uploads() else reads_reported(Path(local), meter)
        with reads:
            self.api.preupload_lfs_files(
                ep.repo_id, additions=[op], repo_type=ep.repo_type, revision=ep.revision
            )
        # A large file the Hub takes inline stays staged (and counted in the budget) until
        # its commit; an LFS blob is already uploaded and its staged copy can go now.
        keep_local = op._upload_mode != "lfs"
        return PendingOp(entry.path, entry.size, op, keep_local)

    def delete_op(self, path: str):
        return CommitOperationDelete(path_in_repo=path)

    def commit(self, ep: Endpoint, ops: list, message: str) -> str | None:
        # The Hub keeps a commit's title and body apart (summary / description): the body holds
        # the provenance trailer.
        title, _, body = message.partition("\n\n")
        info = self.api.create_commit(
            ep.repo_id,
            operations=ops,
            commit_message=title,
            commit_description=body or None,
            repo_type=ep.repo_type,
            revision=ep.revision,
        )
        return getattr(info, "oid", None)
