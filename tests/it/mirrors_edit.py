"""Changes one repository on the hub sandbox through the official client, for the mirror tests
(tests/it/mirrors.rs): put files (new content for a path) and delete files, in one commit.

Usage: mirrors_edit.py --platform hf|ms --repo-id NS/NAME [--repo-type model|dataset]
                       [--put PATH=TEXT]... [--put-bytes PATH=SIZE:SEED]... [--delete PATH]...
                       [--gated auto|manual]
Endpoints and tokens come from the environment, as for seed.py.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path


def edit_hf(args, puts: dict[str, bytes]) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants

    # Through Xet, as against the Hub; the client reads this switch from its constants module.
    constants.HF_HUB_DISABLE_XET = False
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=data) for p, data in puts.items()]
    ops += [CommitOperationDelete(path_in_repo=p) for p in args.delete]
    if ops:
        api.create_commit(
            args.repo_id, operations=ops, commit_message="test edit", repo_type=args.repo_type
        )
    if args.gated:
        api.update_repo_settings(args.repo_id, gated=args.gated, repo_type=args.repo_type)


def edit_ms(args, puts: dict[str, bytes]) -> None:
    from modelscope_hub.api import HubApi

    api = HubApi(
        endpoint=os.environ["MODELSCOPE_ENDPOINT"], token=os.environ["MODELSCOPE_API_TOKEN"]
    )
    with tempfile.TemporaryDirectory(prefix="hubferry-edit-") as tmp:
        for rel, data in puts.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            api.upload_file(
                path_or_fileobj=str(path),
                path_in_repo=rel,
                repo_id=args.repo_id,
                repo_type=args.repo_type,
                disable_tqdm=True,
            )
    for rel in args.delete:
        api.delete_files(args.repo_id, args.repo_type, [rel])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=["hf", "ms"], required=True)
    parser.add_argument("--repo-id", required=True)
    parser.add_argument("--repo-type", default="model", choices=["model", "dataset"])
    parser.add_argument("--put", action="append", default=[])
    parser.add_argument("--put-bytes", action="append", default=[])
    parser.add_argument("--delete", action="append", default=[])
    parser.add_argument("--gated", choices=["auto", "manual"], help="HF only: gate the repo")
    args = parser.parse_args()
    puts = {}
    for item in args.put:
        path, text = item.split("=", 1)
        puts[path] = text.encode()
    for item in args.put_bytes:
        path, spec = item.split("=", 1)
        size, seed = spec.split(":")
        puts[path] = random.Random(int(seed)).randbytes(int(size))
    (edit_hf if args.platform == "hf" else edit_ms)(args, puts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
