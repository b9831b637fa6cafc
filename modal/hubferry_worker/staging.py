"""The staging area: a byte budget on local disk shared by the download and upload pools.

A download reserves its file's size before it starts and the reservation is released when the
staged copy is deleted, so reserved bytes bound what the job keeps on disk. `peak_reserved` records
the high-water mark; `DiskSampler` independently measures the staging directory while the job runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path


class Staging:
    def __init__(self, budget: int, base: int = 0):
        self.budget = budget
        # One-time files the SDKs create in the staging root (.gitignore, CACHEDIR.TAG).
        self.base = base
        self.reserved = base
        self.peak_reserved = base
        self.waiting = 0
        self.oversized = False
        self._cond = threading.Condition()

    def reserve(self, n: int) -> None:
        """Blocks until n bytes fit in the budget. A file larger than the whole budget is let
        in alone (the area must be empty) so any file can move; `oversized` records it."""
        with self._cond:
            self.waiting += 1
            try:
                while self.reserved > self.base and self.reserved + n > self.budget:
                    self._cond.wait()
            finally:
                self.waiting -= 1
            if n > self.budget:
                self.oversized = True
            self.reserved += n
            self.peak_reserved = max(self.peak_reserved, self.reserved)

    def release(self, n: int) -> None:
        with self._cond:
            self.reserved -= n
            self._cond.notify_all()


def bytes_of(paths: Iterable[Path]) -> int:
    """Total size of those of `paths` that exist: partial downloads come and go as they run."""
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            continue
    return total


def tree_bytes(root: Path) -> int:
    """Bytes of the files under root, each inode once: a file renamed while the walk runs (an SDK's
    `.incomplete` moved into place) must not be counted at both of its names."""
    seen: dict[tuple[int, int], int] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


class DiskSampler(threading.Thread):
    """Samples the bytes of all files under the staging directories every `interval_s`."""

    def __init__(self, roots: list[Path], interval_s: float = 0.1):
        super().__init__(daemon=True, name="hubferry-disk-sampler")
        self.roots = roots
        self.interval_s = interval_s
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, sum(tree_bytes(r) for r in self.roots if r.exists()))
            self._halt.wait(self.interval_s)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=5)
        return self.peak


def make_workdir(job_id: str) -> Path:
    """A fresh scratch directory for one job, marked with our pid. Directories of earlier runs of
    the same job whose process is gone (killed with -9, so they could not clean up) are removed
    first, so a re-run after a kill gets its disk back."""
    prefix = f"hubferry-{''.join(c if c.isalnum() or c in '-_' else '_' for c in job_id)}-"
    tmp = Path(tempfile.gettempdir())
    for old in tmp.glob(prefix + "*"):
        try:
            pid = int((old / ".pid").read_text())
        except (OSError, ValueError):
            continue  # not ours or still being set up
        if not _alive(pid):
            shutil.rmtree(old, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    (workdir / ".pid").write_text(str(os.getpid()))
    return workdir


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
