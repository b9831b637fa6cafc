"""hubferry transfer worker: moves one repository (or one chunk of one) between the Hugging Face Hub
and ModelScope, pipelined and verified, reporting through protocol-v1 event lines on stdout.

Public surface: `run_job(job) -> dict` (the result event's fields) and
`python -m hubferry_worker --job-file JOB.json`.
"""

from __future__ import annotations

__all__ = ["run_job"]


def run_job(job: dict, verify_only: bool = False) -> dict:
    """Runs one job (see docs/job-file.md), emitting events on stdout; returns the result fields.
    With verify_only, copies nothing and only compares the destination with the source.
    `job["files"]` is emptied as it is read: the run keeps its files as compact entries."""
    from .job_driver import run_job as _run_job

    return _run_job(job, verify_only=verify_only)
