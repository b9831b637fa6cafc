"""The git path for a source repo: a shallow clone with LFS smudging off, then one
`git lfs pull --include` per file this job needs, so only the job's large files are fetched.

The token never appears in a URL or argv: it travels as an `http.extraHeader` (Basic, with the user
name each hub documents: any name on Hugging Face, `oauth2` on ModelScope) set through
`GIT_CONFIG_*` environment variables (git-lfs reads the same config), and everything git prints is
scrubbed before it is logged or put into an error.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
from pathlib import Path

from .job import Endpoint
from .manifest import Entry

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
GIT_TIMEOUT_S = 3600
# How git-lfs reports an object whose content does not hash to its oid (tq/transfer.go).
LFS_OID_MISMATCH = "expected OID"
GIT_USERS = {"hf": "hf_user", "ms": "oauth2"}
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MODELSCOPE_API_TOKEN", "MODELSCOPE_TOKEN")


class GitError(RuntimeError):
    """A git command failed; the message is already scrubbed of secrets. `retryable`: another
    attempt may succeed (an LFS object refused by its oid, a dropped transfer), as the API
    path retries a corrupt or cut-off download."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.integrity = retryable and LFS_OID_MISMATCH in message


class GitSource:
    def __init__(self, url: str, ep: Endpoint, token: str | None, workdir: Path, scrub):
        self.url = url
        self.ep = ep
        self.dir = workdir / "git-checkout"
        user = GIT_USERS[ep.platform]
        basic = base64.b64encode(f"{user}:{token}".encode()).decode() if token else None
        self.basic = basic
        # The header value is a secret too, in its base64 form.
        self.scrub = (lambda text: scrub(text).replace(basic, "***")) if basic else scrub
        self._lock = threading.Lock()
        self._ready = False
        self.sha: str | None = None

    def _env(self) -> dict:
        # No inherited config or tracing switches: GIT_TRACE_CURL / GIT_CURL_VERBOSE would print
        # the Authorization header.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_CONFIG_", "GIT_TRACE", "GIT_CURL")) and k not in TOKEN_VARS
        }
        env.update(GIT_TERMINAL_PROMPT="0", GIT_LFS_SKIP_SMUDGE="1", GIT_ASKPASS="/bin/false")
        config = [("credential.helper", ""), ("lfs.locksverify", "false")]
        if self.basic:
            config.append(("http.extraHeader", f"Authorization: Basic {self.basic}"))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd or self.dir,
            env=self._env(),
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
        )
        out = proc.stdout.decode(errors="replace")
        if proc.returncode != 0:
            err = self.scrub(proc.stderr.decode(errors="replace").strip())[-800:]
            raise GitError(f"git {args[0]} failed for {self.ep} (exit {proc.returncode}): {err}")
        return out

    def prepare(self) -> None:
        """Shallow-fetches the revision (pointer files only); idempotent and thread-safe."""
        with self._lock:
            if self._ready:
                return
            if self.dir.exists():
                shutil.rmtree(self.dir)
            self.dir.mkdir(parents=True)
            self._git("init", "-q")
            # The LFS filters in the checkout's own config: `git lfs pull` only writes real files
            # where they are configured, and a fresh container (or user) has no global setup.
            self._git("lfs", "install", "--local")
            self._git("remote", "add", "origin", self.url)
            self._git("fetch", "-q", "--depth", "1", "origin", self.ep.revision)
            self._git("checkout", "-q", "FETCH_HEAD")
            self.sha = self._git("rev-parse", "HEAD").strip()
            self._ready = True

    def list_files(self) -> list[Entry]:
        self.prepare()
        out = []
        listing = self._git("ls-tree", "-r", "-l", "-z", "--full-tree", "HEAD")
        for record in listing.split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            _mode, kind, oid, size = meta.split()
            if kind != "blob":
                continue
            entry = Entry(path, int(size), None, oid)
            if int(size) < 1024:
                pointer = self._pointer(self.dir / path)
                if pointer:
                    entry = Entry(path, pointer[1], pointer[0], None)
            out.append(entry)
        return out

    @staticmethod
    def _pointer(path: Path) -> tuple[str, int] | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(LFS_POINTER_PREFIX):
            return None
        fields = dict(
            line.split(" ", 1) for line in data.decode(errors="replace").splitlines() if " " in line
        )
        oid = fields.get("oid", "")
        if not oid.startswith("sha256:") or not fields.get("size", "").isdigit():
            return None
        return oid.split(":", 1)[1], int(fields["size"])

    def fetch(self, path: str, dest: Path) -> Path:
        """Materialises one file of the checkout at `dest` (LFS content pulled on demand)."""
        self.prepare()
        src = self.dir / path
        with self._lock:
            if not src.exists():  # moved out by an earlier attempt: restore its pointer
                self._git("checkout", "-q", "HEAD", "--", path)
            pointer = self._pointer(src)
            if pointer:
                try:
                    self._git("lfs", "pull", "--include", _lfs_pattern(path), "--exclude", "")
                except GitError as exc:
                    # git-lfs checks each object against its oid and keeps none that fails.
                    raise GitError(f"{path}: {exc}", retryable=True) from None
                if self._pointer(src):
                    raise GitError(
                        f"git lfs pull did not materialise {path} for {self.ep}", retryable=True
                    )
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            if pointer:
                # The LFS object store holds a second copy; drop it so that twice the file size
                # (reserved by the caller) bounds this fetch's disk use.
                obj = self.dir / ".git" / "lfs" / "objects" / pointer[0][:2] / pointer[0][2:4]
                (obj / pointer[0]).unlink(missing_ok=True)
        return dest


def _lfs_pattern(path: str) -> str:
    # git-lfs include patterns are gitignore-style; escape the glob characters of a literal path.
    out = []
    for ch in path:
        out.append("\\" + ch if ch in "*?[]!\\" else ch)
    return "/" + "".join(out) if "/" not in path else "".join(out)
