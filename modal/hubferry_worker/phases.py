"""The phases of one job: resolve both sides, plan (skip what the destination already has),
create the destination with the right visibility, run the pipeline, delete, verify.

`Runner` raises `JobFailed` for job-level failures; reporting (progress, result) lives in
job_driver.py.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .events import Emitter
from .gitsource import GitSource
from .hubs import ListingIncomplete, RepoState, make_hub
from .job import PLATFORM_NAMES, Credentials, Endpoint, Job
from .license import fix_readme
from .manifest import GIT_OID_MAX_SIZE, Entry, hash_file, is_platform_file, same_content
from .pipeline import Item, Pipeline, Stats, SwitchToGit, submission_order
from .retry import Retrier, classify
from .staging import Staging, make_workdir

STAGING_BASE_BYTES = 4096
# A job with at least this many small files (in git, not LFS) to download takes them from one
# shallow git fetch of the revision instead of one `resolve` request each: the Hub counts
# resolves against a quota (free: 5000 per 5 minutes), and per-file requests dominate a repo of
# thousands of small files (docs/where-time-goes.md).
SMALL_FILES_VIA_GIT = 256
# The fetch carries every git-stored file of the revision, whichever chunk needs it; past this
# many bytes (this job's small files times the run's chunks, the planner spreads them evenly)
# the job stays on per-file downloads.
SMALL_FILES_GIT_MAX_BYTES = 2 * 1024**3


class JobFailed(Exception):
    """A job-level failure with a user-facing message (may carry a `hint:` line)."""


def _is_http(exc: BaseException, status: int) -> bool:
    return classify(exc).status == status


class Runner:
    def __init__(self, job: Job, creds: Credentials, emitter: Emitter):
        self.job = job
        self.creds = creds
        self.emitter = emitter
        self.opts = job.options
        self.retrier = Retrier(emitter)
        self.stats = Stats()
        self.staging = Staging(self.opts.staging_budget_bytes, base=STAGING_BASE_BYTES)
        self.fallback_used = False
        self.verified = False
        self.verify_ok: bool | None = None
        self.dest_url: str | None = None
        self.git: GitSource | None = None
        self._git_lock = threading.Lock()
        self.use_git = False
        # What the destination's latest listing could not show (ListingIncomplete), if anything.
        self.dest_unlisted: ListingIncomplete | None = None
        self._unlisted_warned = False
        # Why verification failed, when the plain "does not match" would mislead.
        self.verify_note: str | None = None
        # Whether small files come from the git checkout (SMALL_FILES_VIA_GIT), large ones from
        # the API: the fetch's outcome, decided while the large transfers already run.
        self.small_from_git: Future[bool] | None = None
        self.started = False
        self.source_revision = job.source.revision
        self.workdir = make_workdir(job.job)
        self.stage_root = self.workdir / "staging"
        self.stage_root.mkdir()

    # -- source access -------------------------------------------------------------------------
    def _git_source(self) -> GitSource:
        with self._git_lock:
            if self.git is None:
                src = self.job.source
                url = self.src_hub.git_url(src)
                token = self.creds.hf_token if src.platform == "hf" else self.creds.ms_token
                self.git = GitSource(url, src, token, self.workdir, self.emitter.scrub)
            return self.git

    def _engage_fallback(self, reason: str) -> None:
        with self._git_lock:
            if self.use_git:
                return
            self.use_git = True
            self.fallback_used = True
        self.emitter.emit("fallback", **{"from": "api", "to": "git", "reason": reason})

    def _can_fallback(self) -> bool:
        return self.job.method == "auto" and self.job.source.platform == "hf"

    def _download(self, entry: Entry, force: bool) -> tuple[Path, bool]:
        if self.use_git or (_in_git(entry) and self._small_files_fetched()):
            git = self._git_source()
            self.retrier.call("git", None, git.prepare)
            return git.fetch(entry.path, self.stage_root / entry.path), True
        try:
            if self.job.source.platform == "hf":
                local = self.src_hub.download(
                    self.job.source, self.source_revision, entry.path, self.stage_root, force
                )
            else:
                local = self.src_hub.download(
                    self.job.source, self.source_revision, entry.path, self.stage_root, force, entry
                )
            return local, False
        except Exception as exc:
            if self._can_fallback() and _is_http(exc, 403):
                self._engage_fallback(
                    f"Hugging Face API answered 403 downloading {entry.path} from {self.job.source}"
                    " (storage lock or download restriction); switching to git + git-lfs"
                )
                raise SwitchToGit() from None
            raise

    def _take_small_files_from_git(self, items: list[Item]) -> None:
        """Starts one git fetch of the revision when the job downloads SMALL_FILES_VIA_GIT or more
        small files (and the fetch stays under SMALL_FILES_GIT_MAX_BYTES); they are then read from
        that checkout, large files staying on the API path. The fetch runs beside the pipeline
        (largest files first), so the long transfers do not wait for it.
        Only with `method: auto`, and only when the fetched commit is the one the listing was
        pinned to; anything else keeps every file on the API."""
        if self.job.method != "auto" or self.use_git:
            return
        small = [it for it in items if _in_git(it.src) and not self._streamable(it)]
        if len(small) < SMALL_FILES_VIA_GIT:
            return
        fetched = sum(it.src.size for it in small) * max(self.job.chunk_count, 1)
        if fetched > SMALL_FILES_GIT_MAX_BYTES:
            self.emitter.log(
                f"small files stay on the API: one git fetch would carry about {fetched} bytes"
            )
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="hubferry-git-fetch")
        self.small_from_git = pool.submit(self._fetch_small_files, len(small))
        pool.shutdown(wait=False)

    def _fetch_small_files(self, count: int) -> bool:
        try:
            git = self._git_source()
            self.retrier.call("git", None, git.prepare)
        except Exception as exc:  # noqa: BLE001 - the API path still works
            self.emitter.log(f"small files stay on the API: {exc}")
            return False
        if self.job.source.platform == "hf" and git.sha != self.source_revision:
            self.emitter.log(
                f"small files stay on the API: git fetched {git.sha},"
                f" the listing is of {self.source_revision}"
            )
            return False
        self.emitter.log(f"{count} small files come from one git fetch of {self.job.source}")
        return True

    def _small_files_fetched(self) -> bool:
        """Whether small files come from the checkout; waits for the fetch the first times."""
        return self.small_from_git is not None and self.small_from_git.result()

    def _streamable(self, item: Item) -> bool:
        """A file streams from its download into its upload (nothing staged) when the job allows
        it, the API path is in use, both hubs can (a destination that takes the sha256 before the
        bytes: ModelScope), and no decision needs the content first (a destination file at the
        same path that listings cannot compare is downloaded and hashed to decide the skip)."""
        if not self.opts.stream or self.use_git:
            return False
        if not hasattr(self.dest_hub, "stream_upload") or not hasattr(self.src_hub, "open_stream"):
            return False
        if item.dest is not None and same_content(item.src, item.dest) is not False:
            return False
        return self.dest_hub.can_stream(self.job.dest, item.src)

    @contextlib.contextmanager
    def _source_stream(self, entry: Entry) -> Iterator:
        with contextlib.ExitStack() as stack:
            try:
                # The SDK's own retries while connecting are the download's.
                with self.retrier.context("download", entry.path):
                    reader = stack.enter_context(
                        self.src_hub.open_stream(self.job.source, self.source_revision, entry)
                    )
            except Exception as exc:
                if self._can_fallback() and _is_http(exc, 403):
                    self._engage_fallback(
                        f"Hugging Face API answered 403 downloading {entry.path} from"
                        f" {self.job.source} (storage lock or download restriction);"
                        " switching to git + git-lfs"
                    )
                    raise SwitchToGit() from None
                raise
            yield reader

    def _stream(self, entry: Entry):
        if self.use_git:
            raise SwitchToGit()
        return self.dest_hub.stream_upload(self.job.dest, entry, lambda: self._source_stream(entry))

    def _reserve_factor(self) -> int:
        # git-lfs stores the object and the checked-out copy while a file is being pulled.
        return 2 if self.use_git else 1

    def _transform(self, entry: Entry, local: Path) -> str | None:
        card = self.opts.card
        if card and entry.path == card["path"]:
            # The orchestrator mapped the card's front matter for this hub (src/cards.rs).
            local.write_bytes(card["text"].encode("utf-8", errors="surrogateescape"))
            note = f"{entry.path} front matter mapped for {PLATFORM_NAMES[self.job.dest.platform]}"
            self.emitter.emit("warning", code="card-mapped", message=note)
            return note
        if self.job.dest.platform != "hf" or self.job.source.platform == "hf":
            return None
        if entry.path != "README.md":
            return None
        text = local.read_text(encoding="utf-8", errors="surrogateescape")
        new, note = fix_readme(text)
        if note:
            local.write_text(new, encoding="utf-8", errors="surrogateescape")
            self.emitter.emit(
                "warning",
                code="license-mapped",
                message=f"README.md front matter rewritten for Hugging Face: {note}",
            )
        return note

    # -- phases --------------------------------------------------------------------------------
    def check_types(self) -> None:
        src, dest = self.job.source, self.job.dest
        if src.repo_type == "space" and dest.platform == "ms" and dest.repo_type == "space":
            self.emitter.emit(
                "warning",
                code="space-skipped",
                message=f"{src} is a Space; ModelScope has no Spaces, so it was not copied",
            )
            raise JobFailed(
                f"{src} is a Space and ModelScope cannot host Spaces; nothing was copied"
                "\nhint: to copy the Space's files into a ModelScope model repo, set dest.repo_type"
                ' to "model" (hubferry: --repo-type model)'
            )
        if dest.platform == "ms" and dest.repo_type == "space":
            raise JobFailed(
                f"ModelScope has no Spaces; cannot copy {src} to {dest}"
                "\nhint: set dest.repo_type to model or dataset"
            )
        if dest.platform == "hf" and dest.repo_type == "space" and src.platform == "ms":
            raise JobFailed(
                f"cannot create a Hugging Face Space from {src}"
                "\nhint: use dest.repo_type model or dataset"
            )

    def resolve_source(self) -> tuple[bool, bool]:
        """(private, gated) of the source, pinning its revision to a commit when the API allows."""
        src = self.job.source
        try:
            state = self.retrier.call("list", None, lambda: self.src_hub.state(src, src.revision))
        except Exception as exc:
            if self._can_fallback() and _is_http(exc, 403):
                self._engage_fallback(f"Hugging Face API answered 403 for {src}; using git")
                return True, False  # visibility unknown: stay private
            raise self._source_error(exc) from None
        if not state.exists:
            raise JobFailed(
                f"source repo {src} not found on {PLATFORM_NAMES[src.platform]}"
                "\nhint: check the repo id and type, and that the token can read it"
            )
        if state.sha and src.platform == "hf":
            self.source_revision = state.sha
        if self.job.method == "git":
            self.use_git = True
        return state.private, state.gated

    def _source_error(self, exc: BaseException) -> JobFailed:
        src = self.job.source
        failure = classify(exc)
        name = type(exc).__name__
        if "RevisionNotFound" in name:
            return JobFailed(f"revision {src.revision!r} not found in {src}")
        if failure.status in (401, 403) or "Gated" in name:
            return JobFailed(
                f"cannot read {src}: {failure.reason}"
                "\nhint: check that the token in the environment has read access"
            )
        return JobFailed(f"cannot read {src}: {failure.reason}")

    def source_manifest(self) -> list[Entry]:
        src = self.job.source
        if self.job.files is not None:
            entries = self.job.files
        elif self.use_git:
            git = self._git_source()
            entries = self.retrier.call("git", None, git.list_files)
        else:
            try:
                entries = self.retrier.call(
                    "list", None, lambda: self.src_hub.list_files(src, self.source_revision)
                )
            except ListingIncomplete as exc:
                raise JobFailed(
                    f"cannot list {src}: {exc.reason}, so some of its files cannot be seen;"
                    " nothing was copied [listing-incomplete]"
                    '\nhint: set "method": "git" in the job (a clone lists every file), or spread'
                    " that directory's files over subdirectories"
                ) from None
            except Exception as exc:
                if self._can_fallback() and _is_http(exc, 403):
                    self._engage_fallback(f"Hugging Face API answered 403 listing {src}; using git")
                    entries = self.retrier.call("git", None, self._git_source().list_files)
                else:
                    raise self._source_error(exc) from None
        out = []
        platform_skipped = []
        for e in entries:
            if is_platform_file(e.path):
                platform_skipped.append(e)
                continue
            out.append(e)
        if platform_skipped:
            self.emitter.emit(
                "warning",
                code="platform-file",
                message=", ".join(e.path for e in platform_skipped)
                + " is generated by each platform (LFS rules); not copied, not verified",
            )
        self._platform_skipped = platform_skipped
        return out

    def prepare_dest(self, src_private: bool, src_gated: bool) -> dict[str, Entry]:
        try:
            return self._prepare_dest(src_private, src_gated)
        except JobFailed:
            raise
        except Exception as exc:
            raise self._dest_error(exc) from None

    def _dest_error(self, exc: BaseException) -> JobFailed:
        dest = self.job.dest
        failure = classify(exc)
        token_var = "HF_TOKEN" if dest.platform == "hf" else "MODELSCOPE_API_TOKEN"
        namespace = dest.repo_id.split("/")[0]
        if failure.status == 401:
            return JobFailed(
                f"cannot access destination {dest}: the {PLATFORM_NAMES[dest.platform]} token"
                f" was rejected (HTTP 401)\nhint: set {token_var} to a valid token"
            )
        if failure.status == 403:
            return JobFailed(
                f"cannot write to destination {dest}: permission denied (HTTP 403)"
                f"\nhint: the token in {token_var} needs write access to {namespace!r}"
            )
        return JobFailed(f"cannot prepare destination {dest}: {self.emitter.scrub(str(exc))[:500]}")

    def _prepare_dest(self, src_private: bool, src_gated: bool) -> dict[str, Entry]:
        dest = self.job.dest
        want = self.opts.visibility
        private = src_private or src_gated
        if want == "private":
            private = True
        elif want == "public":
            if src_gated and not self.opts.allow_public_gated:
                private = True
                self.emitter.emit(
                    "warning",
                    code="visibility",
                    message=f"{self.job.source} is gated; {dest} is kept private"
                    " (set allow_public_gated to publish it)",
                )
            else:
                private = False
        state = self.retrier.call("list", None, lambda: self.dest_hub.state(dest))
        if not state.exists:
            self.retrier.call("create", None, lambda: self.dest_hub.ensure_repo(dest, private))
            self.emitter.log(f"created {dest} ({'private' if private else 'public'})")
            # Read back, not assumed: a repo created by someone else in the meantime wins the
            # race, with whatever visibility they gave it.
            state = self.retrier.call("list", None, lambda: self.dest_hub.state(dest))
        self._refuse_public_dest(state, private, src_private, src_gated)
        if state.private != private:
            self.emitter.emit(
                "warning",
                code="visibility",
                message=f"{dest} exists and is {'private' if state.private else 'public'}; "
                f"the source asks for {'private' if private else 'public'} (left unchanged)",
            )
        self.dest_url = self.dest_hub.web_url(dest)
        return self._list_dest()

    def _refuse_public_dest(
        self, state: RepoState, private: bool, src_private: bool, src_gated: bool
    ) -> None:
        """Files that must stay private never go into a public repo, however it came to exist
        (preflight refuses what it sees up front; this is the race after it)."""
        if not private or state.private:
            return
        src, dest = self.job.source, self.job.dest
        hub = PLATFORM_NAMES[dest.platform]
        if src_private or src_gated:
            what = "private" if src_private else "gated"
            accept = "accept it with --public" + (" --allow-public-gated" if src_gated else "")
        else:
            what, accept = "to be kept private (--private)", "drop --private"
        raise JobFailed(
            f"{dest} exists and is public, and {src} is {what}: its files would become public;"
            " nothing was uploaded [dest-exists-public]"
            f"\nhint: make the {hub} repo private on its settings page, pick another --dest,"
            f" or {accept}"
        )

    def _list_dest(self) -> dict[str, Entry]:
        dest = self.job.dest
        try:
            listing = self.retrier.call(
                "list", None, lambda: self.dest_hub.list_files(dest, dest.revision)
            )
        except ListingIncomplete as exc:
            listing = exc.entries
            if not self._unlisted_warned:
                self._unlisted_warned = True
                self.emitter.emit(
                    "warning",
                    code="listing-incomplete",
                    message=f"{dest}: {exc.reason}, so files there cannot be seen: the job copies"
                    " them again, and verification cannot find them",
                )
            self.dest_unlisted = exc
            return {e.path: e for e in listing}
        except Exception as exc:
            if classify(exc).status == 404 or "NotFound" in type(exc).__name__:
                return {}
            raise
        self.dest_unlisted = None
        return {e.path: e for e in listing}

    def plan(self, manifest: list[Entry], dest_files: dict[str, Entry]) -> list[Item]:
        items = []
        for e in manifest:
            d = dest_files.get(e.path)
            if d is not None and same_content(e, d):
                with self.stats.lock:
                    self.stats.files_skipped += 1
                    self.stats.bytes_skipped += e.size
                self.emitter.emit(
                    "file",
                    path=e.path,
                    size=e.size,
                    sha256=e.sha256 or d.sha256,
                    status="skipped",
                    reason="same content at destination",
                )
                continue
            items.append(Item(src=e, dest=d))
        return items

    def _unseen(self, path: str) -> bool:
        """Whether `path` may exist at the destination although its listing does not show it."""
        return self.dest_unlisted is not None and self.dest_unlisted.hides(path)

    def delete_plan(self, dest_files: dict[str, Entry]) -> list:
        """Delete ops for exactly `options.delete_paths`. A path already absent at the destination
        is done (a concurrent run, or a re-run after a kill, deleted it first); one the listing
        cannot show is deleted all the same."""
        ops = []
        for path in sorted(set(self.opts.delete_paths)):
            d = dest_files.get(path)
            if is_platform_file(path):
                continue
            if d is None and self._unseen(path):
                d = Entry(path, 0)
            if d is None:
                self._already_deleted(path)
                continue
            ops.append((d, self.dest_hub.delete_op(path)))
        return ops

    def _already_deleted(self, path: str) -> None:
        self.emitter.emit(
            "file",
            path=path,
            size=0,
            sha256=None,
            status="deleted",
            reason="already absent at the destination",
        )

    def drop_absent_deletes(self, deletes: list) -> list:
        """After a commit carrying deletes failed: the deletes whose path is still at the
        destination (a concurrent run may have deleted the others since the listing)."""
        present = self._list_dest()
        kept = [(d, op) for d, op in deletes if d.path in present or self._unseen(d.path)]
        for d, _op in deletes:
            if d.path not in present and not self._unseen(d.path):
                self._already_deleted(d.path)
        return kept

    def verify(self, manifest: list[Entry], final: dict[str, Entry]) -> None:
        dest_files = self._list_dest()
        matched, mismatched, missing = 0, [], []
        for e in manifest:
            want = final.get(e.path, e)
            got = dest_files.get(e.path)
            if got is None:
                missing.append(e.path)
            elif same_content(want, got):
                matched += 1
            else:
                mismatched.append(e.path)
        extra = []
        if self.job.files is None:
            known = {e.path for e in manifest}
            extra = sorted(p for p in dest_files if p not in known and not is_platform_file(p))
        ok = not mismatched and not missing
        unseen = sum(1 for p in missing if self._unseen(p))
        if unseen:
            hub = PLATFORM_NAMES[self.job.dest.platform]
            self.verify_note = (
                f"verification of {self.job.dest} is incomplete: {self.dest_unlisted.reason}, and"
                f" {unseen} of the {len(missing)} file(s) reported missing lie there, where the"
                " listing cannot show them [listing-incomplete]"
                f"\nhint: check those files on {hub}'s web page; spread over subdirectories of"
                " fewer entries, they verify in full"
            )
        self.emitter.emit(
            "verify", ok=ok, matched=matched, mismatched=mismatched, missing=missing, extra=extra
        )
        self.verify_ok = ok
        self.verified = ok

    def expected_entries(self, manifest: list[Entry], dest_files: dict[str, Entry]) -> dict:
        """For verify-only runs: the exact content expected where listings alone cannot say
        (no common hash, or a README rewritten for HF) — fetched from the source and hashed."""
        final = {}
        for e in manifest:
            d = dest_files.get(e.path)
            rewritten = e.path == "README.md" and (
                self.job.dest.platform == "hf" or bool(self.opts.card)
            )
            if d is None or (same_content(e, d) is not None and not rewritten):
                continue
            self.staging.reserve(e.size)
            try:
                fetch = lambda e=e: self._download(e, False)  # noqa: E731
                local, _ = self.retrier.call("download", e.path, fetch)
                final[e.path] = Entry(e.path, *hash_file(local))
                if self._transform(final[e.path], local):
                    final[e.path] = Entry(e.path, *hash_file(local))
                local.unlink(missing_ok=True)
            finally:
                self.staging.release(e.size)
        return final

    # -- the job -------------------------------------------------------------------------------
    def run_verify_only(self) -> None:
        """Compares the destination with the source manifest without copying anything."""
        job = self.job
        self.src_hub = make_hub(job.source.platform, self.creds, uploads=False)
        self.dest_hub = make_hub(job.dest.platform, self.creds)
        self.resolve_source()
        manifest = self.source_manifest()
        self.stats.files_total = len(manifest)
        self.stats.bytes_total = sum(e.size for e in manifest)
        self._emit_start(manifest)
        state = self.retrier.call("list", None, lambda: self.dest_hub.state(job.dest))
        if not state.exists:
            raise JobFailed(f"destination {job.dest} does not exist; nothing to verify")
        self.dest_url = self.dest_hub.web_url(job.dest)
        dest_files = self._list_dest()
        self.verify(manifest, self.expected_entries(manifest, dest_files))

    def _emit_start(self, manifest: list[Entry]) -> None:
        job = self.job
        self.emitter.emit(
            "start",
            source=job.source.as_event(),
            dest=job.dest.as_event(),
            method=job.method,
            chunk={"index": job.chunk_index, "count": job.chunk_count},
            files_total=len(manifest),
            bytes_total=sum(e.size for e in manifest),
        )
        self.started = True

    def run(self) -> None:
        job = self.job
        self.src_hub = make_hub(job.source.platform, self.creds, uploads=False)
        self.dest_hub = make_hub(job.dest.platform, self.creds)
        self.check_types()
        src_private, src_gated = self.resolve_source()
        manifest = self.source_manifest()
        self.stats.files_total = len(manifest)
        self.stats.bytes_total = sum(e.size for e in manifest)
        self._emit_start(manifest)
        dest_files = self.prepare_dest(src_private, src_gated)
        items = self.plan(manifest, dest_files)
        deletes = self.delete_plan(dest_files)
        # The items and deletes keep what they need of it; verify lists the destination again.
        del dest_files
        chunk = f" chunk {job.chunk_index + 1}/{job.chunk_count}" if job.chunk_count > 1 else ""

        trailer = provenance_trailer(job.source, self.source_revision)

        def message(batch: int) -> str:
            return f"hubferry: copy from {job.source}{chunk} (batch {batch})\n\n{trailer}"

        pipeline = Pipeline(
            emitter=self.emitter,
            retrier=self.retrier,
            staging=self.staging,
            stats=self.stats,
            download=self._download,
            reserve_factor=self._reserve_factor,
            transform=self._transform,
            stage_upload=lambda local, entry, expected: self.dest_hub.stage_upload(
                job.dest, local, entry, expected
            ),
            commit=lambda ops, msg: self.dest_hub.commit(job.dest, ops, msg),
            delete_ops=deletes,
            drop_absent_deletes=self.drop_absent_deletes,
            commit_message=message,
            download_workers=self.opts.download_workers,
            upload_workers=self.opts.upload_workers,
            commit_max_files=self._commit_max_actions(),
            stream=self._stream,
            streamable=self._streamable,
        )
        if self.staging.budget < max((e.size for e in manifest), default=0):
            self.emitter.emit(
                "warning",
                code="staging-budget",
                message=f"a file is larger than the staging budget ({self.staging.budget} bytes);"
                " it is staged alone",
            )
        self._take_small_files_from_git(items)
        self._presign_first_streams(items)
        pipeline.run(items)
        final = pipeline.rewritten
        if pipeline.fatal is not None:
            reason = classify(pipeline.fatal).reason
            raise JobFailed(f"deleting files from {job.dest} failed: {reason}")
        if self.opts.verify:
            self.verify(manifest, final)

    def _presign_first_streams(self, items: list[Item]) -> None:
        """The streams that start at once (the first `upload_workers` the pipeline submits,
        `submission_order`) get their upload URLs in one request where the destination can do that;
        later ones ask as they start, so no answer waits long before its upload."""
        presign = getattr(self.dest_hub, "presign_streams", None)
        if presign is None or not self.opts.stream:
            return
        wave = [it.src for it in submission_order(items) if self._streamable(it)]
        if wave:
            presign(self.job.dest, wave[: self.opts.upload_workers])

    def _commit_max_actions(self) -> int:
        """Operations per commit: the job's commit_max_files, clamped to what the destination
        hub accepts in one commit (uploads and deletes alike count as actions)."""
        cap = self.dest_hub.commit_max_actions
        wanted = self.opts.commit_max_files
        if cap is not None and wanted > cap:
            self.emitter.log(
                f"commit_max_files {wanted} is above {PLATFORM_NAMES[self.job.dest.platform]}'s"
                f" {cap} actions per commit; committing at most {cap} at a time"
            )
            return cap
        return wanted

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def provenance_trailer(source: Endpoint, revision: str) -> str:
    """The `Mirrored-From:` trailer every commit carries: the source as hubferry parses it
    (`hf:acme/x`, `ms:datasets/acme/x`) at the commit its files came from, so a later run reads
    from the destination alone what it mirrors and whether the source moved since. `revision` is
    the pinned commit when the source hub gave one (HF always; ModelScope when its revision list
    names the commit), else the branch or tag name."""
    kind = "" if source.repo_type == "model" else f"{source.repo_type}s/"
    return f"Mirrored-From: {source.platform}:{kind}{source.repo_id}@{revision}"


def _in_git(entry: Entry) -> bool:
    """A file git stores itself, not an LFS pointer: the adapters give a git blob id only then."""
    return bool(entry.git_oid) and entry.size <= GIT_OID_MAX_SIZE
