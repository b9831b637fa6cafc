"""`python -m hubferry_worker --job-file JOB.json`: exit 0 ok, 1 failed or not verified,
2 unreadable job file, 4 partial."""

from __future__ import annotations

import argparse
import os
import sys

from .job import JobError, load_job_file

EXIT = {"ok": 0, "failed": 1, "partial": 4}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubferry_worker", description=__doc__)
    parser.add_argument("--job-file", required=True, help="job JSON (docs/job-file.md)")
    parser.add_argument(
        "--verify-only",
        action="store_true",
        help="copy nothing: compare the destination with the source and report",
    )
    args = parser.parse_args(argv)
    try:
        job = load_job_file(args.job_file)
    except JobError as exc:
        print(f"hubferry worker: error: {exc}", file=sys.stderr)
        return 2
    from .job_driver import run_job

    result = run_job(job, verify_only=args.verify_only)
    if result["status"] == "ok" and not result["verified"] and job.options.verify:
        return 1
    return EXIT[result["status"]]


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is committed, reported and flushed; skip the interpreter teardown of both SDKs
    # (their connection pools and thread pools), which takes most of a second on a busy machine.
    os._exit(code)
