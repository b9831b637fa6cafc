"""One job from start to result: runs the `Runner` phases with progress reporting, SDK retry
observation and secret scrubbing around them, and turns the outcome into the `result` event.

Every path out of `run_job` ends with exactly one `result` event.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from collections.abc import Callable

from .events import Emitter
from .job import Credentials, Job, JobError, parse_job
from .phases import JobFailed, Runner
from .retry import SdkRetryObserver
from .staging import DiskSampler, bytes_of

PROGRESS_EVERY_S = 0.5


def peak_rss_bytes() -> int:
    """The most memory this process has held: VmHWM, which starts afresh at exec (ru_maxrss
    does not: a worker forked from a large parent would report the parent's size)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def quiet_sdks() -> None:
    """Progress bars of both SDKs would flood container logs; `progress` events replace them.
    Set before the SDKs are imported (huggingface_hub reads its switches at import)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")


class _ScrubFilter(logging.Filter):
    """Keeps tokens out of anything the SDKs log."""

    def __init__(self, emitter: Emitter):
        super().__init__()
        self.emitter = emitter

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = self.emitter.scrub(record.getMessage())
            record.args = ()
        except Exception:  # noqa: BLE001 - never let logging break a transfer
            pass
        return True


class _DownloadProbes:
    """Measures the files being downloaded on disk, each with a probe built once per file: the
    source adapter's `download_probe` where it has one (it knows where its SDK keeps partial
    files), else the size of the file at its staged path. Only the in-flight files' own paths
    are looked at, never the staging tree."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self.probes: dict[str, Callable[[], int]] = {}

    def _probe(self, path: str) -> Callable[[], int]:
        runner = self.runner
        make = None if runner.use_git else getattr(runner.src_hub, "download_probe", None)
        if make is not None:
            try:
                return make(runner.stage_root, path)
            except (OSError, ValueError):
                pass  # a path the SDK refuses fails its download anyway
        target = runner.stage_root / path
        return lambda: bytes_of([target])

    def measure(self) -> None:
        stats = self.runner.stats
        paths = stats.in_flight(stats.downloading)
        self.probes = {p: self.probes.get(p) or self._probe(p) for p in paths}
        for path, probe in self.probes.items():
            try:
                stats.seen(stats.downloading, path, probe())
            except OSError:
                continue  # its folder went away with the file: the stage has ended


def _progress_ticker(runner: Runner, stop: threading.Event) -> None:
    last_bytes, last_t = 0, time.monotonic()
    rate = 0.0
    downloads = _DownloadProbes(runner)
    while not stop.wait(PROGRESS_EVERY_S):
        if not runner.started:
            continue
        s = runner.stats
        downloads.measure()
        done = s.progress_bytes()
        now = time.monotonic()
        rate = 0.7 * rate + 0.3 * max(done - last_bytes, 0) / max(now - last_t, 1e-6)
        last_bytes, last_t = done, now
        runner.emitter.emit(
            "progress",
            bytes_done=done,
            bytes_total=s.bytes_total,
            files_done=s.files_done(),
            files_total=s.files_total,
            rate_bps=round(rate, 1),
        )


def execute(job: Job, creds: Credentials, emitter: Emitter, verify_only: bool = False) -> dict:
    started = time.monotonic()
    runner = Runner(job, creds, emitter)
    observer = SdkRetryObserver(emitter)
    scrub = _ScrubFilter(emitter)
    sdk_loggers = [logging.getLogger(n) for n in ("huggingface_hub", "modelscope_hub")]
    for lg in sdk_loggers:
        lg.addFilter(scrub)
    sampler = DiskSampler([runner.workdir])
    sampler.start()
    stop = threading.Event()
    ticker = threading.Thread(target=_progress_ticker, args=(runner, stop), daemon=True)
    ticker.start()
    error: str | None = None
    try:
        with observer.installed():
            runner.run_verify_only() if verify_only else runner.run()
    except (JobFailed, JobError) as exc:
        error = emitter.scrub(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported in the result event, never swallowed
        error = emitter.scrub(f"{type(exc).__name__}: {exc}")[:2000]
    finally:
        stop.set()
        ticker.join(timeout=2)
        measured = sampler.stop()
        runner.cleanup()
        for lg in sdk_loggers:
            lg.removeFilter(scrub)
    s = runner.stats
    emitter.emit(
        "progress",
        bytes_done=s.progress_bytes(),
        bytes_total=s.bytes_total,
        files_done=s.files_done(),
        files_total=s.files_total,
        rate_bps=0.0,
        force=True,
    )
    emitter.log(
        f"staging peak {runner.staging.peak_reserved} bytes of budget {runner.staging.budget}"
        f" (measured on disk: {measured} bytes)"
    )
    emitter.log(f"peak RSS {peak_rss_bytes()} bytes")
    if error is None and s.files_failed:
        failed = ", ".join(f"{p} ({r})" for p, r in sorted(s.failures.items())[:5])
        more = f" and {s.files_failed - 5} more" if s.files_failed > 5 else ""
        error = f"{s.files_failed} file(s) failed: {failed}{more}"
        error += "\nhint: run the job again to retry them"
    if error is None and runner.verify_ok is False:
        error = runner.verify_note or (
            f"verification of {job.dest} failed: the destination does not match the source manifest"
            "\nhint: see the verify event; run the job again to re-copy mismatched files"
        )
    if error is None:
        status = "ok"
    elif s.files_failed and runner.verify_ok is not None and (s.files_moved + s.files_skipped):
        # Everything but the failed files landed; verification lists the failed ones as missing.
        status = "partial"
    else:
        status = "failed"
    result = result_fields(
        status,
        error,
        stats=s,
        duration_s=round(time.monotonic() - started, 3),
        dest_url=runner.dest_url,
        verified=runner.verified,
        fallback_used=runner.fallback_used,
    )
    emitter.emit("result", **result)
    result["staging_peak_bytes"] = runner.staging.peak_reserved
    result["staging_measured_bytes"] = measured
    return result


# The counts of a `result` event (the orchestrator's `Totals`, src/totals.rs).
TOTALS = (
    "files_moved",
    "bytes_moved",
    "files_skipped",
    "bytes_skipped",
    "files_failed",
    "files_deleted",
)


def result_fields(
    status: str,
    error: str | None,
    *,
    stats: object | None = None,
    duration_s: float = 0.0,
    dest_url: str | None = None,
    verified: bool = False,
    fallback_used: bool = False,
) -> dict:
    """The fields of a `result` event, the one place they are put together: the totals are
    `stats`' (a pipeline `Stats`), or zero for a job that never got to count anything."""
    totals = {name: getattr(stats, name) if stats is not None else 0 for name in TOTALS}
    return dict(
        status=status,
        **totals,
        duration_s=duration_s,
        dest_url=dest_url,
        verified=verified,
        fallback_used=fallback_used,
        error=error,
    )


def emit_failed_result(job_id: str, error: BaseException, env: dict | None = None) -> dict:
    """Emits (on stdout) and returns the `result` event of a job whose container failed without
    reporting one: failed, nothing counted, the exception as its error (scrubbed of the tokens
    in `env`, like every event, and with its `seq`)."""
    emitter = Emitter(job_id, secrets=Credentials.from_env(env).secrets())
    message = f"container failed: {type(error).__name__}: {error}"[:2000]
    return emitter.emit("result", **result_fields("failed", message))


def run_job(job: dict | Job, env: dict | None = None, verify_only: bool = False) -> dict:
    """Runs one job, printing events on stdout; returns the result event's fields (plus the
    staging figures `staging_peak_bytes` and `staging_measured_bytes`). A job given as a dict has
    its `files` list emptied as it is parsed (`parse_job(consume_files=True)`).

    verify_only: copy nothing; list both sides and emit `verify` and `result`."""
    quiet_sdks()
    creds = Credentials.from_env(env)
    parsed = job if isinstance(job, Job) else parse_job(job, consume_files=True)
    emitter = Emitter(parsed.job, secrets=creds.secrets())
    return execute(parsed, creds, emitter, verify_only)
