"""Hub adapters: one per platform, same shape, each a thin layer over that platform's official SDK.

An adapter lists (raising `ListingIncomplete` when the hub shows only part of a repo), downloads
and creates repos, uploads one staged file ahead of a commit (`stage_upload`), and lands batched
commits of at most `commit_max_actions` operations (None: no hub cap); `git_url` names its git
remote, and `download_probe(root, path)` measures a running download's partial file for progress
events.
Everything above this package is platform-neutral.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..job import Credentials, Endpoint
from ..manifest import Entry


@dataclass
class RepoState:
    exists: bool
    private: bool = False
    gated: bool = False
    sha: str | None = None


@dataclass(slots=True)
class PendingOp:
    """A file uploaded ahead of its commit: the SDK operation, and the staged bytes that must
    stay on disk until the commit lands. Dropped when its commit lands (with the content an inline
    operation holds): nothing of it is needed after that."""

    path: str
    size: int
    op: Any
    keep_local: bool  # the commit still reads the staged copy (inline content of a large file)


class ListingIncomplete(Exception):
    """A listing the hub could give only in part: `entries` is what it showed, `dirs` the
    directories below which files may exist unseen ("/": anywhere), `reason` says why."""

    def __init__(self, entries: list[Entry], dirs: list[str], reason: str):
        super().__init__(reason)
        self.entries = entries
        self.dirs = dirs
        self.reason = reason

    def hides(self, path: str) -> bool:
        """Whether `path` may exist although the listing does not show it."""
        return any(d == "/" or path.startswith(d.rstrip("/") + "/") for d in self.dirs)


def make_hub(platform: str, creds: Credentials, uploads: bool = True):
    """The adapter for `platform`, importing only that platform's SDK; `uploads=False` for a
    source, which leaves out what only uploads need."""
    if platform == "hf":
        from .hf import HfHub

        return HfHub(creds, uploads=uploads)
    from .ms import MsHub

    return MsHub(creds)


__all__ = ["Endpoint", "ListingIncomplete", "PendingOp", "RepoState", "make_hub"]
