"""The transfer pipeline: a download pool and an upload pool joined by the staging budget, and a
committer that lands uploaded files in batches.

Streamed files (the destination takes a blob's sha256 before its bytes: ModelScope) skip the
staging area: an upload worker opens the download and PUTs its bytes as they arrive, hashing them on
the way and withholding the last chunk unless the hash matches (hubs.ms.stream_upload), so a file
moves in max(download, upload) instead of their sum, with one chunk of memory per stream. Everything
else goes the staged way:

download (pool, slow start) → integrity check against the source manifest (small files: hashed
here; large files with a known sha256: hashed while they upload, and a corrupt copy is fetched
again before its upload can complete) → [post-download skip] → upload (pool: the blob goes up ahead
of the commit, the staged copy is deleted) → committer (≤ commit_max_files per commit; also flushes
after COMMIT_INTERVAL_S or when staging pressure needs held bytes back) → `file` done.

Commit cadence trade-off: a commit per batch means a killed run keeps everything committed so far
(the destination only knows committed files), at the price of more commits against hubs that
rate-limit them; `commit_max_files` and COMMIT_INTERVAL_S set that balance.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .events import Emitter
from .hubs import PendingOp
from .manifest import GIT_OID_MAX_SIZE, Entry, hash_file, metered_reads, same_content
from .retry import HashMismatch, Retrier, classify
from .staging import Staging

COMMIT_INTERVAL_S = 30.0
MAX_QUEUED_ITEMS = 256
TRACE = bool(os.environ.get("HUBFERRY_WORKER_TRACE"))
# Reserved with each file for the SDKs' bookkeeping next to it (lock and metadata files).
FILE_OVERHEAD_BYTES = 4096


@dataclass
class Stats:
    files_total: int = 0
    bytes_total: int = 0
    files_moved: int = 0
    bytes_moved: int = 0
    files_skipped: int = 0
    bytes_skipped: int = 0
    files_failed: int = 0
    files_deleted: int = 0
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    failures: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Files part-way through a stage, by repo path: [size, most bytes seen so far]. The most
    # seen, not the latest: an SDK that restarts a file from byte 0 must not take progress back.
    downloading: dict[str, list[int]] = field(default_factory=dict)
    uploading: dict[str, list[int]] = field(default_factory=dict)
    shown: int = 0  # the largest bytes_done reported: reports never go back

    def bytes_done(self) -> int:
        """Counted by whole files: half a file's size when its download ends, half when its
        upload ends, all of it when it is skipped."""
        return (self.bytes_downloaded + self.bytes_uploaded) // 2 + self.bytes_skipped

    def progress_bytes(self) -> int:
        """bytes_done plus the bytes of files part-way through a stage, never less than an
        earlier answer and never more than bytes_total."""
        with self.lock:
            moving = sum(seen for _, seen in self.downloading.values())
            moving += sum(seen for _, seen in self.uploading.values())
            live = (self.bytes_downloaded + self.bytes_uploaded + moving) // 2 + self.bytes_skipped
            self.shown = max(self.shown, min(live, self.bytes_total))
            return self.shown

    def begin(self, stage: dict[str, list[int]], path: str, size: int) -> None:
        with self.lock:
            stage.setdefault(path, [size, 0])

    def seen(self, stage: dict[str, list[int]], path: str, n: int) -> None:
        """Records that n bytes of the file are through the stage (ignored once it ended)."""
        with self.lock:
            if entry := stage.get(path):
                entry[1] = max(entry[1], min(n, entry[0]))

    def in_flight(self, stage: dict[str, list[int]]) -> list[str]:
        with self.lock:
            return list(stage)

    def end(self, stage: dict[str, list[int]], path: str) -> None:
        """The file left the stage without finishing it (failed, or to be fetched again)."""
        with self.lock:
            stage.pop(path, None)

    def files_done(self) -> int:
        return self.files_moved + self.files_skipped + self.files_failed


class SwitchToGit(Exception):
    """Raised by a download attempt when the api→git fallback has just been (or is) engaged."""


@dataclass(slots=True)
class Item:
    """One file on its way: the source manifest entry, what the destination holds at that path,
    and (after download) the local copy with the hashes of what will be uploaded (`final`: the
    manifest entry itself unless the bytes were rewritten). Held only while the file is in the
    pools or waiting for its commit."""

    src: Entry
    dest: Entry | None
    local: Path | None = None
    final: Entry | None = None
    reserved: int = 0
    verified: bool = False  # the staged bytes were hashed and match the manifest
    refetches: int = 0  # downloads redone because the upload-time hash check failed


def submission_order(items: list[Item]) -> list[Item]:
    """The order items enter the pools: largest first, so the long transfers start early and
    small files fill the gaps."""
    return sorted(items, key=lambda it: -it.src.size)


class Pipeline:
    def __init__(
        self,
        *,
        emitter: Emitter,
        retrier: Retrier,
        staging: Staging,
        stats: Stats,
        download: Callable[[Entry, bool], tuple[Path, bool]],
        reserve_factor: Callable[[], int],
        transform: Callable[[Entry, Path], str | None],
        stage_upload: Callable[[Path, Entry, str | None], PendingOp],
        commit: Callable[[list, str], str | None],
        delete_ops: list,
        drop_absent_deletes: Callable[[list], list] | None = None,
        commit_message: Callable[[int], str],
        download_workers: int,
        upload_workers: int,
        commit_max_files: int,
        stream: Callable[[Entry], PendingOp] | None = None,
        streamable: Callable[[Item], bool] = lambda item: False,
    ):
        self.emitter = emitter
        self.retrier = retrier
        self.staging = staging
        self.stats = stats
        self._download_fn = download
        self._reserve_factor = reserve_factor
        self._transform = transform
        self._stage_upload = stage_upload
        self._commit = commit
        self._delete_ops = delete_ops
        self._drop_absent_deletes = drop_absent_deletes
        self._commit_message = commit_message
        self.download_workers = download_workers
        self.upload_workers = upload_workers
        self.commit_max_files = commit_max_files
        # Files uploaded but not yet committed: two commits' worth. Their operations can hold the
        # content itself (inline commits), so when the source outruns the commits (small files
        # from one git fetch), an unbounded backlog would hold the whole repo in memory.
        self._commit_room = threading.Semaphore(2 * max(commit_max_files, 1))
        self._stream_fn = stream
        self._streamable = streamable
        # Files that landed with other bytes than their manifest entry says (a rewritten README),
        # by path: what verify expects there. Every other file is expected as the manifest says.
        self.rewritten: dict[str, Entry] = {}
        self._commit_q: queue.Queue = queue.Queue()
        # Slow start: one download at first, one more slot per finished download. Parallel
        # downloads share the source link, so starting them all at once would delay the first
        # staged file (and with it the first upload) by a factor of download_workers.
        self._slots = threading.Semaphore(1)
        self._settle = threading.Condition()
        self._unsettled = 0
        self._inflight = threading.Semaphore(download_workers + upload_workers + MAX_QUEUED_ITEMS)
        self._slot_count = 1
        self._slot_lock = threading.Lock()
        self._batches = 0
        self.fatal: BaseException | None = None

    # -- public ------------------------------------------------------------------------------
    def run(self, items: list[Item]) -> None:
        """Moves every item; consumes `items` (emptied here, so each item is freed once settled:
        the pipeline keeps nothing per file after its commit)."""
        committer = threading.Thread(target=self._committer, name="hubferry-committer", daemon=True)
        committer.start()
        self._unsettled = len(items)
        with (
            ThreadPoolExecutor(self.upload_workers, thread_name_prefix="hubferry-up") as up,
            ThreadPoolExecutor(self.download_workers, thread_name_prefix="hubferry-down") as down,
        ):
            self._up, self._down = up, down
            # Items enter the pools a bounded number at a time (memory stays flat for repos of
            # millions of files); a slot frees when its item settles.
            order = submission_order(items)
            items.clear()
            order.reverse()
            while order:
                it = order.pop()
                self._inflight.acquire()
                if self._stream_fn is not None and self._streamable(it):
                    up.submit(self._guarded, self._stream_stage, it)
                else:
                    down.submit(self._guarded, self._download_stage, it)
            with self._settle:
                while self._unsettled > 0:
                    self._settle.wait()
        self._commit_q.put(None)
        committer.join()

    def _settled(self) -> None:
        """One item reached its end in the pools (queued for commit, skipped or failed)."""
        with self._settle:
            self._unsettled -= 1
            self._settle.notify_all()
        self._inflight.release()

    def _guarded(self, stage, item: Item) -> None:
        try:
            stage(item)
        except BaseException as exc:  # noqa: BLE001 - a bug must fail the file, not hang the job
            self.stats.end(self.stats.downloading, item.src.path)
            self.stats.end(self.stats.uploading, item.src.path)
            self._drop_local(item)
            self._fail(item, exc, "transfer")
            self._settled()

    # -- stages ------------------------------------------------------------------------------
    def _fail(self, item: Item, exc: BaseException, stage: str) -> None:
        reason = f"{stage} failed: {self.emitter.scrub(classify(exc).reason)}"
        with self.stats.lock:
            self.stats.files_failed += 1
            self.stats.failures[item.src.path] = reason
        self.emitter.emit(
            "file",
            path=item.src.path,
            size=item.src.size,
            sha256=item.src.sha256,
            status="failed",
            reason=reason,
        )

    def _drop_local(self, item: Item) -> None:
        if item.local is not None:
            item.local.unlink(missing_ok=True)
            item.local = None
        if item.reserved:
            self.staging.release(item.reserved)
            item.reserved = 0

    def _download_stage(self, item: Item) -> None:
        self._slots.acquire()
        try:
            self._download_one(item)
        finally:
            self._slots.release()
            with self._slot_lock:
                if self._slot_count < self.download_workers:
                    self._slot_count += 1
                    self._slots.release()

    def _trace(self, what: str, item: Item) -> None:
        if TRACE:
            self.emitter.log(f"trace {time.time():.3f} {what} {item.src.path}")

    def _needs_prehash(self, item: Item) -> bool:
        """Large files with a known sha256 are verified while they upload (one read instead of
        two, and the upload starts as soon as the download ends); everything else is hashed
        first: small files (git blob ids, inline commits, README rewrite) and files whose skip
        decision needs the content."""
        src = item.src
        return not src.sha256 or item.dest is not None or src.size <= GIT_OID_MAX_SIZE

    def _download_one(self, item: Item) -> None:
        src = item.src
        self._trace("download-start", item)
        self.stats.begin(self.stats.downloading, src.path, src.size)
        prehash = self._needs_prehash(item)
        while True:
            item.reserved = src.size * self._reserve_factor() + FILE_OVERHEAD_BYTES
            self.staging.reserve(item.reserved)
            tries = [0]

            def attempt(tries=tries) -> Path:
                force = tries[0] > 0 or item.refetches > 0
                tries[0] += 1
                local, _ = self._download_fn(src, force)
                self._trace("downloaded", item)
                if not prehash:
                    size = local.stat().st_size
                    if size != src.size:
                        local.unlink(missing_ok=True)
                        raise HashMismatch(f"{src.path}: size {size} != {src.size}; fetching again")
                    item.local = local
                    item.final = src
                    item.verified = False
                    return local
                size, sha, oid = hash_file(local, need_git_oid=bool(src.git_oid and not src.sha256))
                self._trace("hashed", item)
                item.verified = True
                problems = []
                if size != src.size:
                    problems.append(f"size {size} != {src.size}")
                if src.sha256 and sha != src.sha256:
                    problems.append("sha256 mismatch")
                if src.git_oid and not src.sha256 and oid != src.git_oid:
                    problems.append("git blob id mismatch")
                if problems:
                    local.unlink(missing_ok=True)
                    raise HashMismatch(f"{src.path}: {', '.join(problems)}; fetching again")
                item.local = local
                # Verified bytes: the manifest entry learns the hashes it lacked (the commit and
                # verify then compare by them), and stands for the file from here on.
                src.sha256 = src.sha256 or sha
                src.git_oid = src.git_oid or oid
                item.final = src
                return local

            try:
                self.retrier.call("download", src.path, attempt)
                break
            except SwitchToGit:
                self._drop_local(item)
                continue
            except Exception as exc:  # noqa: BLE001 - the file fails, the job goes on
                self.stats.end(self.stats.downloading, src.path)
                self._drop_local(item)
                self._fail(item, exc, "download")
                self._settled()
                return
        with self.stats.lock:
            self.stats.bytes_downloaded += src.size
            self.stats.downloading.pop(src.path, None)
        try:
            note = self._transform(item.final, item.local)
            if note:
                item.final = Entry(src.path, *hash_file(item.local))
                self.rewritten[src.path] = item.final
        except Exception as exc:  # noqa: BLE001
            self._drop_local(item)
            self._fail(item, exc, "rewrite")
            self._settled()
            return
        if item.dest is not None and same_content(item.final, item.dest):
            self._drop_local(item)
            with self.stats.lock:
                self.stats.files_skipped += 1
                self.stats.bytes_skipped += src.size
                self.stats.bytes_downloaded -= src.size
            self.emitter.emit(
                "file",
                path=src.path,
                size=item.final.size,
                sha256=item.final.sha256,
                status="skipped",
                reason="same content at destination (checked after download)",
            )
            self._settled()
            return
        self._up.submit(self._guarded, self._upload_stage, item)

    def _stream_stage(self, item: Item) -> None:
        """Download and upload at once (see the module header); counted in both stages."""
        self._trace("stream-start", item)
        src = item.src
        stats = self.stats
        for stage in (stats.downloading, stats.uploading):
            stats.begin(stage, src.path, src.size)

        def seen(n: int) -> None:
            stats.seen(stats.downloading, src.path, n)
            stats.seen(stats.uploading, src.path, n)

        try:
            pending = self._stream_attempts(item, seen)
        except SwitchToGit:
            # The API refused the download: this file takes the staged git path instead.
            for stage in (stats.downloading, stats.uploading):
                stats.end(stage, src.path)
            self._down.submit(self._guarded, self._download_stage, item)
            return
        except Exception as exc:  # noqa: BLE001 - the file fails, the job goes on
            for stage in (stats.downloading, stats.uploading):
                stats.end(stage, src.path)
            self._fail(item, exc, "download" if isinstance(exc, HashMismatch) else "upload")
            self._settled()
            return
        self._trace("streamed", item)
        item.final = src
        with stats.lock:
            stats.bytes_downloaded += src.size
            stats.bytes_uploaded += src.size
            stats.downloading.pop(src.path, None)
            stats.uploading.pop(src.path, None)
        self._queue_commit(item, pending)
        self._settled()

    def _stream_attempts(self, item: Item, seen: Callable[[int], None]) -> PendingOp:
        """The streamed transfer with its retries: hub errors are retried as uploads; bytes that
        arrived wrong (the stream's hash check) start the file again as a download, as a corrupt
        staged copy does, up to the retrier's attempts."""
        src = item.src
        while True:
            try:
                with metered_reads(seen):
                    return self.retrier.call(
                        "upload",
                        src.path,
                        lambda: self._stream_fn(src),
                        retry_if=lambda exc: not isinstance(exc, HashMismatch),
                    )
            except HashMismatch as exc:
                item.refetches += 1
                if item.refetches >= self.retrier.max_attempts:
                    raise
                self.emitter.emit(
                    "retry",
                    op="download",
                    path=src.path,
                    attempt=item.refetches,
                    wait_s=0.0,
                    reason=str(exc),
                    status=None,
                )

    def _upload_stage(self, item: Item) -> None:
        self._trace("upload-start", item)
        expected = None if item.verified else item.src.sha256
        path = item.src.path
        uploading = self.stats.uploading
        self.stats.begin(uploading, path, item.final.size)
        try:
            with metered_reads(lambda n: self.stats.seen(uploading, path, n)):
                pending = self.retrier.call(
                    "upload",
                    path,
                    lambda: self._stage_upload(item.local, item.final, expected),
                    retry_if=lambda exc: not isinstance(exc, HashMismatch),
                )
        except HashMismatch as exc:
            # The staged copy is corrupt (caught before its upload could complete): fetch again.
            with self.stats.lock:
                # Its download is redone and counted again when it ends.
                self.stats.bytes_downloaded -= item.src.size
                uploading.pop(path, None)
            self._drop_local(item)
            item.refetches += 1
            if item.refetches >= self.retrier.max_attempts:
                self._fail(item, exc, "download")
                self._settled()
                return
            self.emitter.emit(
                "retry",
                op="download",
                path=item.src.path,
                attempt=item.refetches,
                wait_s=0.0,
                reason=str(exc),
                status=None,
            )
            self._down.submit(self._guarded, self._download_stage, item)
            return
        except Exception as exc:  # noqa: BLE001
            self.stats.end(uploading, path)
            self._drop_local(item)
            self._fail(item, exc, "upload")
            self._settled()
            return
        self._trace("uploaded", item)
        with self.stats.lock:
            self.stats.bytes_uploaded += item.final.size
            uploading.pop(path, None)
        if not pending.keep_local:
            self._drop_local(item)
        self._queue_commit(item, pending)
        self._settled()

    # -- committer ---------------------------------------------------------------------------
    def _queue_commit(self, item: Item, pending: PendingOp) -> None:
        """Hands an uploaded file to the committer, waiting while two commits' worth are queued
        (the upload pool, and behind it the downloads, wait with it)."""
        self._commit_room.acquire()
        self._commit_q.put((item, pending))

    def _committer(self) -> None:
        batch: list[tuple[Item, PendingOp]] = []
        oldest = 0.0
        done = False
        while not done:
            try:
                got = self._commit_q.get(timeout=0.2)
            except queue.Empty:
                got = False
            if got is None:
                done = True
            elif got:
                if not batch:
                    oldest = time.monotonic()
                batch.append(got)
            held = any(p.keep_local for _, p in batch)
            pressure = held and self.staging.waiting > 0
            aged = batch and time.monotonic() - oldest >= COMMIT_INTERVAL_S
            if len(batch) >= self.commit_max_files or pressure or aged:
                self._flush(batch[: self.commit_max_files], [])
                batch = batch[self.commit_max_files :]
                oldest = time.monotonic()
        # Final commit(s): only now is every blob of the job uploaded.
        work = [(item_op, None) for item_op in batch] + [(None, d) for d in self._delete_ops]
        for i in range(0, len(work), self.commit_max_files):
            part = work[i : i + self.commit_max_files]
            self._flush([a for a, _ in part if a], [d for _, d in part if d])

    def _flush(self, batch: list[tuple[Item, PendingOp]], deletes: list) -> None:
        try:
            self._land(batch, deletes)
        finally:
            for _ in batch:
                self._commit_room.release()

    def _land(self, batch: list[tuple[Item, PendingOp]], deletes: list) -> None:
        if not batch and not deletes:
            return
        self._batches += 1
        message = self._commit_message(self._batches)
        ops = [p.op for _, p in batch] + [op for _entry, op in deletes]
        try:
            oid = self.retrier.call("commit", None, lambda: self._commit(ops, message))
        except Exception as exc:  # noqa: BLE001
            # A delete of a path that vanished since the listing is done: commit again without it.
            if deletes and self._drop_absent_deletes is not None:
                kept = self._drop_absent_deletes(deletes)
                if len(kept) < len(deletes):
                    self._batches -= 1
                    return self._land(batch, kept)
            for item, _ in batch:
                self._drop_local(item)
                self._fail(item, exc, "commit")
            for entry, _op in deletes:
                self.emitter.log(f"delete of {entry.path} failed: {classify(exc).reason}")
            if deletes:
                self.fatal = exc
            return
        self.emitter.emit("commit", files=len(ops), oid=oid, message=message)
        for item, _ in batch:
            self._drop_local(item)
            with self.stats.lock:
                self.stats.files_moved += 1
                self.stats.bytes_moved += item.final.size
            self.emitter.emit(
                "file",
                path=item.src.path,
                size=item.final.size,
                sha256=item.final.sha256,
                status="done",
            )
        for entry, _op in deletes:
            with self.stats.lock:
                self.stats.files_deleted += 1
            self.emitter.emit(
                "file",
                path=entry.path,
                size=entry.size,
                sha256=entry.sha256,
                status="deleted",
                reason="absent at the source (delete_paths)",
            )
