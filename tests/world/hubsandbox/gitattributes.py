"""Which paths a repo's .gitattributes sends to LFS (enough of gitattributes matching for hubs)."""

from __future__ import annotations

import fnmatch


def lfs_patterns(repo, sha: str | None) -> list[str]:
    """Patterns marked `filter=lfs` in .gitattributes at sha."""
    if sha is None:
        return []
    entry = repo.listing(sha).get(".gitattributes")
    if entry is None or entry.lfs:
        return []
    return lfs_patterns_of(repo.read_blob(entry.blob_oid).decode("utf-8", "replace"))


GITATTRIBUTES_LINE = "{} filter=lfs diff=lfs merge=lfs -text\n"


def lfs_patterns_of(text: str) -> list[str]:
    """Patterns marked `filter=lfs` in a .gitattributes text."""
    patterns = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def matches_lfs(path: str, patterns: list[str]) -> bool:
    """gitattributes matching, close enough: no '/' = basename glob, else a path glob."""
    base = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.replace("[[:space:]]", " ").lstrip("/")
        target = path if "/" in pattern else base
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False
