"""Persistent state of the hub sandbox: accounts, repositories (real bare git repos), LFS objects.

Shared by both hubs (`platform` is "hf" or "ms"). Everything lives under the state directory, so a
restart on the same directory keeps every repo:

    DIR/accounts.json                      users (token hashes, never tokens) and orgs per platform
    DIR/repos/{platform}/{type}/{ns}/{name}.git   bare git repo + hubsandbox.json (visibility, meta)
    DIR/objects/{hf,ms}/ab/cd/abcd...      LFS contents per hub, content-addressed by sha256
    DIR/cache/{commit}.json                file listing per immutable commit (sha256 of every file)
    DIR/tmp/                               uploads being streamed in

Large files are stored in git as LFS pointers; their contents live in the object store. Blobs are
written as loose git objects directly (no subprocess per file); trees and commits go through git
plumbing with a private index file. Per-repo locks serialise commits, and every commit applies on
top of the current branch head, so concurrent committers never lose each other's files.

Interface used by the HTTP sides (`hf.py`, `ms.py`):
  Store(state_dir); store.add_user / add_org; user_for_token(platform, token) -> name | None;
  can_write(platform, user, namespace); can_read(platform, user, repo); has_gated_access(...);
  create_repo(platform, repo_type, repo_id, private, gated=False, initial_files=None, **meta)
  -> Repo (raises RepoExists); get_repo(...) -> Repo | None; delete_repo; list_repos;
  store.objects_for(platform).put_stream(fileobj, size, expected_sha256=None) -> sha256, has(sha),
  path(sha).
  Repo: resolve(rev), files(rev), entry(rev, path), open(rev, path), commit(ops, message, ...),
  refs(), log(rev), create_branch/create_tag, attributes (private, gated, meta, number, ...).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

PLATFORMS = ("hf", "ms")
REPO_TYPES = ("model", "dataset", "space")
DEFAULT_BRANCH = {"hf": "main", "ms": "master"}
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1\n"
# Hub names: letters, digits, '-', '_', '.'; never '..' (also keeps paths inside the state dir).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COPY_CHUNK = 1 << 20
# Commits adding more blobs than this write one pack instead of loose objects.
PACK_THRESHOLD = 16

# What a new Hugging Face repo starts with (the Hub's default .gitattributes, abridged).
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z",
        "*.arrow",
        "*.bin",
        "*.bz2",
        "*.ckpt",
        "*.ftz",
        "*.gz",
        "*.h5",
        "*.joblib",
        "*.lfs.*",
        "*.mlmodel",
        "*.model",
        "*.msgpack",
        "*.npy",
        "*.npz",
        "*.onnx",
        "*.ot",
        "*.parquet",
        "*.pb",
        "*.pickle",
        "*.pkl",
        "*.pt",
        "*.pth",
        "*.rar",
        "*.safetensors",
        "saved_model/**/*",
        "*.tar.*",
        "*.tar",
        "*.tflite",
        "*.tgz",
        "*.wasm",
        "*.xz",
        "*.zip",
        "*.zst",
        "*tfevents*",
    )
)


def _pack_of(blobs: list[bytes]) -> bytes:
    """A git pack (v2, undeltified) holding these blobs, for `git index-pack --stdin`."""
    parts = [b"PACK", struct.pack(">II", 2, len(blobs))]
    for data in blobs:
        size = len(data)
        byte = (3 << 4) | (size & 0x0F)  # object type 3 = blob
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        parts += [bytes(header), zlib.compress(data, 1)]
    body = b"".join(parts)
    return body + hashlib.sha1(body).digest()


class StoreError(Exception):
    """Base of the errors the HTTP sides turn into hub-style answers."""


class RepoExists(StoreError):
    pass


class RepoNotFound(StoreError):
    pass


class RevisionNotFound(StoreError):
    pass


class EntryNotFound(StoreError):
    pass


class InvalidName(StoreError):
    pass


class MissingObject(StoreError):
    """A commit references an LFS object that was never uploaded (or sizes disagree)."""


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return LFS_POINTER_PREFIX + f"oid sha256:{sha256}\nsize {size}\n".encode()


def parse_lfs_pointer(data: bytes) -> tuple[str, int] | None:
    if not data.startswith(LFS_POINTER_PREFIX) or len(data) > 1024:
        return None
    fields = dict(
        line.split(" ", 1) for line in data.decode("ascii", "replace").splitlines() if " " in line
    )
    oid, size = fields.get("oid", ""), fields.get("size", "")
    if not oid.startswith("sha256:") or not size.isdigit():
        return None
    return oid[len("sha256:") :], int(size)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_path(path: str) -> str:
    """Repo-relative file path as hubs accept it (no absolute, no '..', no empty parts)."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidName(f"invalid path in repo: {path!r}")
    if "\0" in path or path == ".git" or parts[0] == ".git":
        raise InvalidName(f"invalid path in repo: {path!r}")
    return path


@dataclass(frozen=True)
class FileEntry:
    """One file at a commit. `size`/`sha256` are of the real content (for LFS files too)."""

    path: str
    size: int
    blob_oid: str
    sha256: str
    lfs: dict | None  # {"oid": sha256, "size": n, "pointer_size": n} for LFS files


@dataclass(frozen=True)
class AddInline:
    path: str
    data: bytes


@dataclass(frozen=True)
class AddLfs:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Delete:
    path: str
    folder: bool = False


class ObjectStore:
    """Content-addressed LFS objects. Uploads stream to disk while hashing; memory stays flat.

    `remote` (the HF side's Xet store, see xet.py) holds objects uploaded another way: they count
    as stored, and `open` streams one from there when its bytes are needed."""

    def __init__(self, root: Path, tmp: Path):
        self.root = root
        self.tmp = tmp
        self.remote = None
        root.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise InvalidName(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has_local(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except InvalidName:
            return False

    def has(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except InvalidName:
            return None
        except OSError:
            return self.remote.size_of(sha256) if self.remote else None

    def open(self, sha256: str):
        """A binary reader of the object (`read`, `seek`, `close`): the local file, else a
        stream from `remote`."""
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            pass
        stream = self.remote.open_stream(sha256) if self.remote else None
        if stream is None:
            raise MissingObject(f"object {sha256} is not stored")
        return stream

    def temp_path(self) -> Path:
        return self.tmp / f"up-{uuid.uuid4().hex}"

    def put_stream(self, fileobj, size: int | None, expected_sha256: str | None = None) -> str:
        """Copies `size` bytes (or to EOF when None) into the store; returns their sha256.

        Raises MissingObject when the stream is short or the hash differs from `expected_sha256`.
        """
        tmp = self.temp_path()
        digest = hashlib.sha256()
        got = 0
        try:
            with open(tmp, "wb") as out:
                while size is None or got < size:
                    want = COPY_CHUNK if size is None else min(COPY_CHUNK, size - got)
                    chunk = fileobj.read(want)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    got += len(chunk)
            if size is not None and got != size:
                raise MissingObject(f"upload ended after {got} of {size} bytes")
            return self.adopt(tmp, digest.hexdigest(), expected_sha256)
        finally:
            tmp.unlink(missing_ok=True)

    def adopt(self, tmp: Path, sha256: str, expected_sha256: str | None = None) -> str:
        """Moves an already-hashed temp file into place (atomic rename; duplicates are dropped)."""
        if expected_sha256 and sha256 != expected_sha256:
            raise MissingObject(f"content sha256 {sha256} does not match the announced oid")
        dest = self.path(sha256)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        return sha256


def _git(gitdir: Path, *args: str, input: bytes | None = None, env: dict | None = None) -> bytes:
    proc = subprocess.run(
        ["git", f"--git-dir={gitdir}", *args],
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        raise StoreError(f"git {args[0]} failed in {gitdir}: {err}")
    return proc.stdout


class _Listings:
    """File listings per commit: memory LRU in front of the on-disk cache (commits never change)."""

    def __init__(self, cache_dir: Path, capacity: int = 64):
        self.dir = cache_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mem: OrderedDict[str, dict[str, FileEntry]] = OrderedDict()
        self.capacity = capacity
        self.lock = threading.Lock()
        # blob oid -> (size, sha256, lfs) for blobs whose content we already hashed.
        self.blobs: dict[str, tuple[int, str, dict | None]] = {}
        self.trees: dict[str, dict[str, str]] = {}

    def get(self, commit: str) -> dict[str, FileEntry] | None:
        with self.lock:
            hit = self.mem.get(commit)
            if hit is not None:
                self.mem.move_to_end(commit)
                return hit
        path = self.dir / f"{commit}.json"
        if not path.exists():
            return None
        entries = {e["path"]: FileEntry(**e) for e in json.loads(path.read_text())}
        self._remember(commit, entries)
        return entries

    def put(self, commit: str, entries: dict[str, FileEntry]) -> None:
        tmp = self.dir / f"{commit}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps([asdict(e) for e in entries.values()]))
        os.replace(tmp, self.dir / f"{commit}.json")
        self._remember(commit, entries)

    def _remember(self, commit: str, entries: dict[str, FileEntry]) -> None:
        with self.lock:
            self.mem[commit] = entries
            self.mem.move_to_end(commit)
            while len(self.mem) > self.capacity:
                self.mem.popitem(last=False)
            for e in entries.values():
                self.blobs[e.blob_oid] = (e.size, e.sha256, e.lfs)


class Repo:
    """One repository: a bare git repo plus its settings file. Get instances from the Store."""

    def __init__(self, store: Store, platform: str, repo_type: str, repo_id: str, gitdir: Path):
        self.store = store
        self.platform = platform
        self.repo_type = repo_type
        self.repo_id = repo_id
        self.gitdir = gitdir
        self.lock = threading.RLock()
        self.default_branch = DEFAULT_BRANCH[platform]
        self._settings_path = gitdir / "hubsandbox.json"
        self._settings = json.loads(self._settings_path.read_text())
        self._refs: dict[str, str] | None = None
        self._known_commits: set[str] = set()
        self._reader: subprocess.Popen | None = None
        self._reader_lock = threading.Lock()

    # -- settings ------------------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo_id.split("/", 1)[1]

    @property
    def private(self) -> bool:
        return bool(self._settings["private"])

    @property
    def gated(self):
        """False, "auto" or "manual" (HF semantics)."""
        return self._settings.get("gated", False)

    @property
    def gated_users(self) -> list[str]:
        """Users granted access to a gated repo besides its owner and org members."""
        return list(self._settings.get("gated_users", []))

    @property
    def created(self) -> str:
        return self._settings["created"]

    @property
    def modified(self) -> str:
        return self._settings["modified"]

    @property
    def number(self) -> int:
        """Stable numeric id (ModelScope datasets are addressed by one)."""
        return self._settings["number"]

    @property
    def meta(self) -> dict:
        """Free-form metadata (license, chinese_name, ...); change it with update()."""
        return dict(self._settings.get("meta", {}))

    def update(self, **changes) -> None:
        """Changes settings: private=, gated=, meta={...} (merged), gated_users=[...]."""
        with self.lock:
            if "meta" in changes:
                changes["meta"] = {**self._settings.get("meta", {}), **changes["meta"]}
            self._settings.update(changes)
            self._save_settings()

    def _save_settings(self) -> None:
        tmp = self._settings_path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(self._settings, indent=1))
        os.replace(tmp, self._settings_path)

    @property
    def used_storage(self) -> int:
        head = self.resolve(self.default_branch)
        return sum(e.size for e in self.files(head)) if head else 0

    # -- refs ----------------------------------------------------------------------------------
    def refs(self) -> dict[str, str]:
        """{"refs/heads/main": sha, "refs/tags/v1": sha, ...} (tags peeled to commits)."""
        with self.lock:
            if self._refs is None:
                out = _git(
                    self.gitdir,
                    "for-each-ref",
                    "--format=%(objectname) %(*objectname) %(refname)",
                )
                refs = {}
                for line in out.decode().splitlines():
                    obj, peeled, name = line.split(" ", 2)
                    refs[name] = peeled or obj
                self._refs = refs
            return dict(self._refs)

    def resolve(self, rev: str | None) -> str | None:
        """Commit sha for a branch, tag, full ref name or full commit sha; None if unknown."""
        rev = rev or self.default_branch
        refs = self.refs()
        for name in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            if name in refs:
                return refs[name]
        if SHA1_RE.match(rev):
            if rev in self._known_commits:
                return rev
            ok = subprocess.run(
                ["git", f"--git-dir={self.gitdir}", "cat-file", "-e", f"{rev}^{{commit}}"],
                capture_output=True,
            )
            if ok.returncode == 0:
                self._known_commits.add(rev)
                return rev
        return None

    def _require(self, rev: str | None) -> str:
        sha = self.resolve(rev)
        if sha is None:
            raise RevisionNotFound(f"revision {rev!r} not found in {self.repo_id}")
        return sha

    # -- reading -------------------------------------------------------------------------------
    def listing(self, rev: str | None) -> dict[str, FileEntry]:
        """{path: FileEntry} at rev (raises RevisionNotFound); cached per commit."""
        commit = self._require(rev)
        cached = self.store.listings.get(commit)
        if cached is not None:
            return cached
        entries = self._compute_listing(commit)
        self.store.listings.put(commit, entries)
        return entries

    def files(self, rev: str | None) -> list[FileEntry]:
        """All files at rev, sorted by path."""
        return sorted(self.listing(rev).values(), key=lambda e: e.path)

    def entry(self, rev: str | None, path: str) -> FileEntry:
        found = self.listing(rev).get(path)
        if found is None:
            raise EntryNotFound(f"{path} not found in {self.repo_id} at {rev}")
        return found

    def open(self, rev: str | None, path: str):
        """(FileEntry, binary file object) of a file's real content (LFS objects resolved)."""
        e = self.entry(rev, path)
        if e.lfs:
            try:
                return e, self.store.objects_for(self.platform).open(e.sha256)
            except MissingObject:
                raise MissingObject(f"LFS object of {path} ({e.sha256}) is missing") from None
        return e, io.BytesIO(self.read_blob(e.blob_oid))

    def read_blob(self, oid: str) -> bytes:
        loose = self.gitdir / "objects" / oid[:2] / oid[2:]
        try:
            raw = zlib.decompress(loose.read_bytes())
            return raw[raw.index(b"\0") + 1 :]
        except FileNotFoundError:
            pass
        # Packed: ask one long-lived `cat-file --batch` (a process per read would be slow).
        with self._reader_lock:
            for attempt in range(2):
                proc = self._reader
                if proc is None or proc.poll() is not None:
                    proc = self._reader = subprocess.Popen(
                        ["git", f"--git-dir={self.gitdir}", "cat-file", "--batch"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                    )
                try:
                    proc.stdin.write(oid.encode() + b"\n")
                    proc.stdin.flush()
                    header = proc.stdout.readline().split()
                    if len(header) == 3 and header[1] == b"blob":
                        data = proc.stdout.read(int(header[2]))
                        proc.stdout.read(1)
                        return data
                    raise EntryNotFound(f"blob {oid} not found in {self.repo_id}")
                except (BrokenPipeError, ValueError):
                    self._reader = None
                    if attempt:
                        raise
        raise EntryNotFound(f"blob {oid} not found in {self.repo_id}")

    def close(self) -> None:
        """Stops the blob reader process (repo deleted or sandbox stopping)."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.stdin.close()
                self._reader.wait()
                self._reader = None

    def _compute_listing(self, commit: str) -> dict[str, FileEntry]:
        out = _git(self.gitdir, "ls-tree", "-r", "-z", "-l", "--full-tree", commit)
        rows = []
        for item in out.split(b"\0"):
            if not item:
                continue
            head, path = item.split(b"\t", 1)
            mode, kind, oid, size = head.decode().split()
            if kind == "blob":
                rows.append((path.decode("utf-8", "surrogateescape"), oid, int(size)))
        known = self.store.listings.blobs
        unknown = sorted({oid for _, oid, _ in rows if oid not in known})
        if unknown:
            self._hash_blobs(unknown)
        entries = {}
        for path, oid, _ in rows:
            size, sha256, lfs = known[oid]
            entries[path] = FileEntry(path, size, oid, sha256, lfs)
        return entries

    def _hash_blobs(self, oids: list[str]) -> None:
        """Computes (size, sha256, lfs) for blobs, streaming them through one cat-file process."""
        proc = subprocess.Popen(
            ["git", f"--git-dir={self.gitdir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        writer = threading.Thread(
            target=lambda: (
                proc.stdin.write("".join(o + "\n" for o in oids).encode()),
                proc.stdin.close(),
            ),
            daemon=True,
        )
        writer.start()
        known = self.store.listings.blobs
        for oid in oids:
            header = proc.stdout.readline().split()
            size = int(header[2])
            digest = hashlib.sha256()
            first = b""
            left = size
            while left:
                chunk = proc.stdout.read(min(COPY_CHUNK, left))
                if not first:
                    first = chunk[:1024]
                digest.update(chunk)
                left -= len(chunk)
            proc.stdout.read(1)  # the newline after each object
            pointer = parse_lfs_pointer(first) if size <= 1024 else None
            if pointer:
                known[oid] = (
                    pointer[1],
                    pointer[0],
                    {"oid": pointer[0], "size": pointer[1], "pointer_size": size},
                )
            else:
                known[oid] = (size, digest.hexdigest(), None)
        writer.join()
        proc.wait()

    def tree_oids(self, rev: str | None) -> dict[str, str]:
        """{directory path: git tree oid} at rev (root excluded); cached per commit."""
        commit = self._require(rev)
        with self.store.listings.lock:
            cached = self.store.listings.trees.get(commit)
        if cached is not None:
            return cached
        out = _git(self.gitdir, "ls-tree", "-r", "-t", "-z", "--full-tree", commit)
        trees = {}
        for item in out.split(b"\0"):
            if item:
                head, path = item.split(b"\t", 1)
                _, kind, oid = head.decode().split()
                if kind == "tree":
                    trees[path.decode("utf-8", "surrogateescape")] = oid
        with self.store.listings.lock:
            self.store.listings.trees[commit] = trees
            while len(self.store.listings.trees) > 256:
                self.store.listings.trees.pop(next(iter(self.store.listings.trees)))
        return trees

    def log(self, rev: str | None, limit: int = 1000) -> list[dict]:
        """[{id, title, message, author, date}] newest first."""
        commit = self._require(rev)
        out = _git(
            self.gitdir,
            "log",
            f"--max-count={limit}",
            "-z",
            "--format=%H%x1f%an%x1f%aI%x1f%s%x1f%B",
            commit,
        )
        result = []
        for rec in out.decode(errors="replace").split("\0"):
            if not rec.strip():
                continue
            sha, author, date, title, body = rec.split("\x1f", 4)
            result.append(
                {
                    "id": sha.strip(),
                    "author": author,
                    "date": date,
                    "title": title,
                    "message": body.strip(),
                }
            )
        return result

    # -- writing -------------------------------------------------------------------------------
    def _write_blobs(self, blobs: dict[str, bytes]) -> None:
        """Stores blobs: loose objects when few, else one pack (file creation is the slow part)."""
        if len(blobs) > PACK_THRESHOLD:
            _git(self.gitdir, "index-pack", "--stdin", input=_pack_of(list(blobs.values())))
            return
        for oid, data in blobs.items():
            loose = self.gitdir / "objects" / oid[:2] / oid[2:]
            if not loose.exists():
                loose.parent.mkdir(exist_ok=True)
                tmp = loose.parent / f"tmp_{uuid.uuid4().hex}"
                tmp.write_bytes(zlib.compress(b"blob %d\0" % len(data) + data, 1))
                os.replace(tmp, loose)

    def commit(
        self,
        ops,
        message: str,
        parent: str | None = None,
        branch: str | None = None,
        author: str = "hubsandbox",
        description: str = "",
    ) -> str:
        """Applies ops on top of the branch head and returns the new commit sha.

        `parent`, when given, must be a commit of this repo (RevisionNotFound otherwise); the ops
        still apply onto the current head, as the Hub merges non-conflicting concurrent commits.
        A commit that changes nothing returns the current head. Raises EntryNotFound for deleting
        a missing path and MissingObject for an LFS op whose object was not uploaded.
        """
        branch = branch or self.default_branch
        with self.lock:
            if parent is not None:
                self._require(parent)
            head = self.refs().get(f"refs/heads/{branch}")
            if head is None and branch != self.default_branch:
                raise RevisionNotFound(f"branch {branch!r} not found in {self.repo_id}")
            current = self.listing(head) if head else {}
            index_lines = []
            new_blobs = {}
            blob_data: dict[str, bytes] = {}
            touched = {}
            for op in ops:
                if isinstance(op, Delete):
                    prefix = op.path.rstrip("/") + "/"
                    gone = [
                        p
                        for p in [*current, *touched]
                        if p == op.path or (op.folder and p.startswith(prefix))
                    ]
                    if not gone:
                        raise EntryNotFound(f"cannot delete {op.path}: not found in {self.repo_id}")
                    for p in set(gone):
                        index_lines.append(b"0 " + b"0" * 40 + b"\t" + p.encode() + b"\0")
                        touched[p] = None
                    continue
                path = check_path(op.path)
                if isinstance(op, AddLfs):
                    have = self.store.objects_for(self.platform).size(op.sha256)
                    if have is None or have != op.size:
                        raise MissingObject(
                            f"LFS object {op.sha256} for {path} was not uploaded (size {op.size})"
                        )
                    pointer = lfs_pointer(op.sha256, op.size)
                    oid = git_blob_oid(pointer)
                    blob_data[oid] = pointer
                    new_blobs[oid] = (
                        op.size,
                        op.sha256,
                        {"oid": op.sha256, "size": op.size, "pointer_size": len(pointer)},
                    )
                else:
                    oid = git_blob_oid(op.data)
                    blob_data[oid] = op.data
                    new_blobs[oid] = (len(op.data), hashlib.sha256(op.data).hexdigest(), None)
                index_lines.append(f"100644 {oid}\t".encode() + path.encode() + b"\0")
                touched[path] = oid
            self._write_blobs(blob_data)
            self.store.listings.blobs.update(new_blobs)
            index = self.store.tmp / f"index-{uuid.uuid4().hex}"
            env = {"GIT_INDEX_FILE": str(index)}
            try:
                if head:
                    _git(self.gitdir, "read-tree", head, env=env)
                else:
                    _git(self.gitdir, "read-tree", "--empty", env=env)
                _git(
                    self.gitdir,
                    "update-index",
                    "-z",
                    "--index-info",
                    input=b"".join(index_lines),
                    env=env,
                )
                tree = _git(self.gitdir, "write-tree", env=env).decode().strip()
            finally:
                index.unlink(missing_ok=True)
            if head and tree == _git(self.gitdir, "rev-parse", f"{head}^{{tree}}").decode().strip():
                return head
            stamp = f"{int(time.time())} +0000"
            ident = {
                "GIT_AUTHOR_NAME": author,
                "GIT_AUTHOR_EMAIL": f"{author}@hubsandbox.invalid",
                "GIT_COMMITTER_NAME": author,
                "GIT_COMMITTER_EMAIL": f"{author}@hubsandbox.invalid",
                "GIT_AUTHOR_DATE": stamp,
                "GIT_COMMITTER_DATE": stamp,
            }
            full_message = message + (f"\n\n{description}" if description else "")
            args = ["commit-tree", tree] + (["-p", head] if head else [])
            sha = _git(self.gitdir, *args, input=full_message.encode(), env=ident).decode().strip()
            _git(self.gitdir, "update-ref", f"refs/heads/{branch}", sha, head or "0" * 40)
            self._refs = None
            self._known_commits.add(sha)
            self._settings["modified"] = now_iso()
            self._save_settings()
            return sha

    def create_branch(self, branch: str, start: str | None = None) -> str:
        with self.lock:
            sha = self._require(start)
            if f"refs/heads/{branch}" in self.refs():
                raise RepoExists(f"branch {branch} already exists in {self.repo_id}")
            _git(self.gitdir, "update-ref", f"refs/heads/{branch}", sha, "0" * 40)
            self._refs = None
            return sha

    def create_tag(self, tag: str, rev: str | None = None) -> str:
        with self.lock:
            sha = self._require(rev)
            if f"refs/tags/{tag}" in self.refs():
                raise RepoExists(f"tag {tag} already exists in {self.repo_id}")
            _git(self.gitdir, "update-ref", f"refs/tags/{tag}", sha, "0" * 40)
            self._refs = None
            return sha

    def delete_ref(self, ref: str) -> None:
        with self.lock:
            if ref not in self.refs():
                raise RevisionNotFound(f"{ref} not found in {self.repo_id}")
            _git(self.gitdir, "update-ref", "-d", ref)
            self._refs = None


class Store:
    """Accounts and repositories of both hubs, persisted under `state_dir`."""

    def __init__(self, state_dir: str | os.PathLike):
        self.root = Path(state_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.repos_root = self.root / "repos"
        self.tmp = self.root / "tmp"
        shutil.rmtree(self.tmp, ignore_errors=True)
        # One object store per hub: the real hubs share no storage, so an object uploaded to one
        # must never count as "already stored" on the other.
        self._objects = {pl: ObjectStore(self.root / "objects" / pl, self.tmp) for pl in PLATFORMS}
        self.listings = _Listings(self.root / "cache")
        self.lock = threading.RLock()
        self._accounts_path = self.root / "accounts.json"
        if self._accounts_path.exists():
            self.accounts = json.loads(self._accounts_path.read_text())
        else:
            self.accounts = {p: {"users": {}, "tokens": {}, "orgs": {}} for p in PLATFORMS}
        self._repos: dict[tuple[str, str, str], Repo] = {}
        for gitdir in sorted(self.repos_root.glob("*/*/*/*.git")):
            platform, repo_type, ns = gitdir.parts[-4:-1]
            key = (platform, repo_type, f"{ns}/{gitdir.name[:-4]}")
            if (gitdir / "hubsandbox.json").exists():
                self._repos[key] = Repo(self, platform, repo_type, key[2], gitdir)

    # -- accounts ------------------------------------------------------------------------------
    def _save_accounts(self) -> None:
        tmp = self._accounts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.accounts, indent=1))
        os.replace(tmp, self._accounts_path)

    def add_user(self, platform: str, name: str, token: str) -> None:
        """Registers a user and one of its tokens (only the token's sha256 is stored)."""
        with self.lock:
            acc = self.accounts[platform]
            acc["users"].setdefault(name, {"created": now_iso()})
            acc["tokens"][hash_token(token)] = name
            self._save_accounts()

    def add_org(self, platform: str, org: str, members: list[str]) -> None:
        with self.lock:
            orgs = self.accounts[platform]["orgs"]
            orgs[org] = sorted(set(orgs.get(org, [])) | set(members))
            self._save_accounts()

    def user_for_token(self, platform: str, token: str | None) -> str | None:
        if not token:
            return None
        return self.accounts[platform]["tokens"].get(hash_token(token))

    def user_exists(self, platform: str, name: str) -> bool:
        return name in self.accounts[platform]["users"]

    def orgs_of(self, platform: str, user: str) -> list[str]:
        return sorted(o for o, m in self.accounts[platform]["orgs"].items() if user in m)

    def namespace_exists(self, platform: str, namespace: str) -> bool:
        acc = self.accounts[platform]
        return namespace in acc["users"] or namespace in acc["orgs"]

    def can_write(self, platform: str, user: str | None, namespace: str) -> bool:
        if not user:
            return False
        return user == namespace or user in self.accounts[platform]["orgs"].get(namespace, [])

    def can_read(self, platform: str, user: str | None, repo: Repo) -> bool:
        """Visibility only (private repos); gating is separate, see has_gated_access."""
        return not repo.private or self.can_write(platform, user, repo.namespace)

    def has_gated_access(self, platform: str, user: str | None, repo: Repo) -> bool:
        """Owner and org members always; others when granted (repo setting `gated_users`)."""
        if not repo.gated:
            return True
        if not user:
            return False
        return self.can_write(platform, user, repo.namespace) or user in repo.gated_users

    # -- repositories --------------------------------------------------------------------------
    def _gitdir(self, platform: str, repo_type: str, repo_id: str) -> Path:
        if platform not in PLATFORMS or repo_type not in REPO_TYPES:
            raise InvalidName(f"unknown platform/type {platform}/{repo_type}")
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(NAME_RE.match(p) and ".." not in p for p in parts):
            raise InvalidName(f"invalid repo id {repo_id!r}")
        return self.repos_root / platform / repo_type / parts[0] / f"{parts[1]}.git"

    def create_repo(
        self,
        platform: str,
        repo_type: str,
        repo_id: str,
        private: bool,
        gated=False,
        initial_files: dict[str, bytes] | None = None,
        **meta,
    ) -> Repo:
        """Creates a repo with one initial commit (`initial_files`, default: a .gitattributes).

        Pass initial_files={} for a repo with no commit at all. Raises RepoExists / InvalidName.
        """
        gitdir = self._gitdir(platform, repo_type, repo_id)
        with self.lock:
            key = (platform, repo_type, repo_id)
            if key in self._repos:
                raise RepoExists(f"{repo_type} {repo_id} already exists")
            gitdir.parent.mkdir(parents=True, exist_ok=True)
            tmpdir = gitdir.parent / f".{gitdir.name}.{uuid.uuid4().hex}.tmp"
            subprocess.run(
                [
                    "git",
                    "init",
                    "-q",
                    "--bare",
                    f"--initial-branch={DEFAULT_BRANCH[platform]}",
                    str(tmpdir),
                ],
                check=True,
                capture_output=True,
            )
            # Served by `git http-backend`: shallow clones and partial fetches must work.
            _git(tmpdir, "config", "uploadpack.allowFilter", "true")
            _git(tmpdir, "config", "uploadpack.allowAnySHA1InWant", "true")
            _git(tmpdir, "config", "http.receivepack", "false")
            number = self._counter_next()
            settings = {
                "platform": platform,
                "repo_type": repo_type,
                "repo_id": repo_id,
                "private": bool(private),
                "gated": gated,
                "created": now_iso(),
                "modified": now_iso(),
                "number": number,
                "meta": meta,
                "gated_users": [],
            }
            (tmpdir / "hubsandbox.json").write_text(json.dumps(settings, indent=1))
            os.replace(tmpdir, gitdir)
            repo = Repo(self, platform, repo_type, repo_id, gitdir)
            self._repos[key] = repo
        if initial_files is None:
            initial_files = {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
        if initial_files:
            repo.commit([AddInline(p, d) for p, d in initial_files.items()], "initial commit")
        return repo

    def _counter_next(self) -> int:
        n = self.accounts.get("next_number", 1)
        self.accounts["next_number"] = n + 1
        self._save_accounts()
        return n

    def objects_for(self, platform: str) -> ObjectStore:
        """The LFS object store of one hub."""
        return self._objects[platform]

    def get_repo(self, platform: str, repo_type: str, repo_id: str) -> Repo | None:
        return self._repos.get((platform, repo_type, repo_id))

    def find_repo(self, platform: str, repo_id: str, types=REPO_TYPES) -> Repo | None:
        for t in types:
            repo = self.get_repo(platform, t, repo_id)
            if repo:
                return repo
        return None

    def repo_by_number(self, platform: str, number: int) -> Repo | None:
        for (p, _, _), repo in list(self._repos.items()):
            if p == platform and repo.number == number:
                return repo
        return None

    def delete_repo(self, platform: str, repo_type: str, repo_id: str) -> None:
        with self.lock:
            repo = self._repos.pop((platform, repo_type, repo_id), None)
            if repo is None:
                raise RepoNotFound(f"{repo_type} {repo_id} not found")
            repo.close()
            trash = self.tmp / f"deleted-{uuid.uuid4().hex}"
            os.replace(repo.gitdir, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def list_repos(self, platform: str, repo_type: str, owner: str | None = None) -> list[Repo]:
        """Repos sorted by id (visibility filtering is the caller's business)."""
        return sorted(
            (
                r
                for (p, t, rid), r in list(self._repos.items())
                if p == platform and t == repo_type and (owner is None or r.namespace == owner)
            ),
            key=lambda r: r.repo_id,
        )
