"""Helper for tests/it (selection.rs, kill.rs, race.rs), through the official clients only.

  selection.py seed PLATFORM REPO_ID          file names on stdin (JSON list); small contents
  selection.py list PLATFORM REPO_ID…         each repo's file paths, sorted, or null for a repo
                                              that does not exist (JSON list)
  selection.py create-public hf REPO_ID       create an empty public HF model repo
  selection.py expect PLATFORM REPO_ID        stdin [{"include": [...], "exclude": [...]}, …]: what
                                              huggingface_hub's filter_repo_objects keeps of the
                                              repo's listing for each spec (braces expanded
                                              first, the one extension hubferry adds), minus
                                              .gitattributes (JSON list of lists)

Endpoints and tokens come from the environment, as for support/seed.py.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

from seed import seed_hf, seed_ms, write_tree  # noqa: E402


def expand_braces(pattern: str) -> list[str]:
    """`a{b,c}d` → [abd, acd]; nested groups; no braces inside `[...]` in the test table."""
    depth, start = 0, None
    commas: list[int] = []
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start, commas = i, []
            depth += 1
        elif ch == "," and depth == 1:
            commas.append(i)
        elif ch == "}":
            depth -= 1
            if depth == 0:
                bounds = [start, *commas, i]
                head, tail = pattern[:start], pattern[i + 1 :]
                out = []
                for a, b in zip(bounds, bounds[1:], strict=False):
                    out.extend(expand_braces(head + pattern[a + 1 : b] + tail))
                return out
    return [pattern]


def listing(platform: str, repo_id: str) -> list[str]:
    if platform == "hf":
        from huggingface_hub import HfApi

        api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
        return sorted(api.list_repo_files(repo_id))
    from modelscope_hub.api import HubApi

    api = HubApi(
        endpoint=os.environ["MODELSCOPE_ENDPOINT"], token=os.environ["MODELSCOPE_API_TOKEN"]
    )
    return sorted(f.path for f in api.list_repo_files(repo_id, "model") if f.type != "tree")


def listing_or_none(platform: str, repo_id: str) -> list[str] | None:
    """None when the repo does not exist (a run killed before it created the destination)."""
    try:
        return listing(platform, repo_id)
    except Exception as exc:  # noqa: BLE001 - each SDK has its own not-found error
        if "404" in str(exc) or "not found" in str(exc).lower() or "NotFound" in type(exc).__name__:
            return None
        raise


def main() -> int:
    command, platform, repo_id = sys.argv[1], sys.argv[2], sys.argv[3]
    if command == "seed":
        names = json.load(sys.stdin)
        with tempfile.TemporaryDirectory(prefix="hubferry-selection-") as tmp:
            write_tree(Path(tmp), {n: f"content of {n}\n".encode() for n in names})
            (seed_hf if platform == "hf" else seed_ms)(repo_id, "model", False, Path(tmp))
        return 0
    if command == "create-public":
        from huggingface_hub import HfApi

        HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"]).create_repo(
            repo_id, private=False
        )
        return 0
    if command == "list":
        print(json.dumps([listing_or_none(platform, r) for r in sys.argv[3:]]))
        return 0
    from huggingface_hub.utils import filter_repo_objects

    files = listing(platform, repo_id)
    expand = lambda ps: [e for p in ps for e in expand_braces(p)]  # noqa: E731
    out = []
    for spec in json.load(sys.stdin):
        kept = filter_repo_objects(
            files,
            allow_patterns=expand(spec["include"]) or None,
            ignore_patterns=expand(spec["exclude"]) or None,
        )
        out.append(sorted(p for p in kept if p != ".gitattributes"))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
