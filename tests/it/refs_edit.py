"""Builds branch and tag history on the hub sandbox through the official clients, for the
`--revisions` tests (tests/it/revisions.rs).

Usage: refs_edit.py --platform hf|ms --repo-id NS/NAME < STEPS.json
STEPS: [{"commit": {"branch": B, "files": {PATH: TEXT}, "delete"?: [PATH], "message"?: M}},
        {"branch": {"name": B, "from": REV}},     (HF only: ModelScope's API has no such call)
        {"tag": {"name": T, "at": REV}},
        {"untag": T}]                             (HF only, likewise; "delete" too)
The repository is created (public) when missing. Prints one JSON line: {BRANCH_OR_TAG: commit}.
Endpoints and tokens come from the environment, as for seed.py.
"""

from __future__ import annotations

import json
import os
import sys


def hf_steps(repo_id: str, steps: list) -> dict:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants

    constants.HF_HUB_DISABLE_XET = False
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
    api.create_repo(repo_id, exist_ok=True)
    for step in steps:
        if "commit" in step:
            c = step["commit"]
            ops = [
                CommitOperationAdd(path_in_repo=p, path_or_fileobj=t.encode())
                for p, t in c["files"].items()
            ] + [CommitOperationDelete(path_in_repo=p) for p in c.get("delete", [])]
            api.create_commit(
                repo_id,
                operations=ops,
                commit_message=c.get("message", "edit"),
                revision=c["branch"],
            )
        elif "branch" in step:
            branch = step["branch"]
            api.create_branch(repo_id, branch=branch["name"], revision=branch["from"])
        elif "tag" in step:
            api.create_tag(repo_id, tag=step["tag"]["name"], revision=step["tag"]["at"])
        elif "untag" in step:
            api.delete_tag(repo_id, tag=step["untag"])
    refs = api.list_repo_refs(repo_id)
    return {r.name: r.target_commit for r in [*refs.branches, *refs.tags]}


def ms_steps(repo_id: str, steps: list) -> dict:
    from modelscope_hub.api import HubApi

    api = HubApi(
        endpoint=os.environ["MODELSCOPE_ENDPOINT"], token=os.environ["MODELSCOPE_API_TOKEN"]
    )
    if not api.repo_exists(repo_id, "model"):
        api.create_repo(repo_id, "model", visibility=5)
    for step in steps:
        if "commit" in step and not step["commit"].get("delete"):
            c = step["commit"]
            for path, text in c["files"].items():
                api.upload_file(
                    repo_id,
                    "model",
                    text.encode(),
                    path,
                    commit_message=c.get("message", "edit"),
                    revision=c["branch"],
                    disable_tqdm=True,
                )
        elif "tag" in step:
            api.create_repo_tag(repo_id, "model", step["tag"]["name"], revision=step["tag"]["at"])
        else:
            raise SystemExit(f"not through ModelScope's client: {step}")
    return {r["Revision"]: r.get("CommitId") for r in api.list_repo_revisions(repo_id, "model")}


def main() -> int:
    args = sys.argv[1:]
    platform = args[args.index("--platform") + 1]
    repo_id = args[args.index("--repo-id") + 1]
    steps = json.load(sys.stdin)
    refs = (hf_steps if platform == "hf" else ms_steps)(repo_id, steps)
    print(json.dumps(refs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
