"""Xet storage behind the HF side, served by Hugging Face's own reference CAS.

The CAS is `local_cas_server` from the `xet-client` crate (feature `simulation`, same release line
as the pinned `hf_xet` 1.8.0), installed by `scripts/setup` and run here as a child process that
lives and dies with the sandbox. Clients talk to it directly (xorbs, shards, reconstructions), as
they talk to cas-server.xethub.hf.co, through the relay in xet_proxy.py that puts their traffic
on the HF link (shaping, request faults, stats); the HF side hands out the tokens that name it.

What the Hub itself adds on top of the CAS is here:
- `XetIndex` maps a file's sha256 to its Xet file hash and size, read from the file-info section
  of the shards the CAS keeps in its data directory (each file entry of a shard uploaded by
  `hf_xet` carries the sha256 in its metadata extension). A commit naming an `lfsFile` oid that
  arrived through Xet is accepted through this map.
- the bridge both ways: a file uploaded through Xet streams from the CAS (reconstructed as it is
  read) when classic LFS or git-lfs asks for it (`open_stream`), and a file uploaded over LFS is
  uploaded into the CAS with `hf_xet` the first time it is resolved (`ensure`).

The CAS checks no tokens (the reference server has no auth); access control is the HF side's,
when it issues `xet-read-token` / `xet-write-token`.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import pwd
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .store import StoreError

CAS_VERSION = "1.8.0"
CAS_BINARY_ENV = "HUBSANDBOX_CAS_SERVER"
# The server logs this line (tracing, on stdout) once its listener is bound.
READY_MARK = "Local CAS server listening on"
READY_LOG_FILTER = "warn,xet_client::cas_client::simulation::local_server::server=info"
START_TIMEOUT_S = 30.0
# Reconstruction through the CAS happens in ranges so neither process holds a whole file.
FETCH_RANGE = 64 * 1024 * 1024
TOKEN_TTL_S = 3600

# Shard layout (xet-core-structures metadata_shard): a 48-byte header (32-byte tag, version,
# footer size), then the file-info section: per file a 48-byte header (file hash, flags,
# entry count, unused), that many 48-byte segment entries (xorb hash, flags, unpacked bytes,
# chunk range), as many verification entries when flagged, one metadata-extension entry
# (sha256) when flagged; an all-0xFF file hash ends the section.
SHARD_HEADER_SIZE = 48
ENTRY_SIZE = 48
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA_EXT = 1 << 30
BOOKEND = b"\xff" * 32


class CasError(Exception):
    pass


def merkle_hex(raw: bytes) -> str:
    """A 32-byte hash as Xet writes it in hex: four little-endian u64 words, each printed
    most significant digit first (MerkleHash::hex)."""
    return "".join(raw[i : i + 8][::-1].hex() for i in range(0, 32, 8))


def merkle_raw(hex_hash: str) -> bytes:
    raw = bytes.fromhex(hex_hash)
    return b"".join(raw[i : i + 8][::-1] for i in range(0, 32, 8))


@dataclass(frozen=True)
class Grant:
    """What a CAS token was issued for: the Hub scopes each token to one repo (and revision)."""

    repo_type: str
    repo_id: str
    revision: str


@dataclass(frozen=True)
class XetFile:
    xet_hash: str
    size: int


def shard_files(data: bytes) -> list[tuple[str, str | None, int]]:
    """(xet file hash, sha256 or None, size) of every file in a shard's file-info section."""
    out = []
    pos = SHARD_HEADER_SIZE
    while pos + ENTRY_SIZE <= len(data):
        file_hash = data[pos : pos + 32]
        if file_hash == BOOKEND:
            break
        flags, count = struct.unpack_from("<II", data, pos + 32)
        pos += ENTRY_SIZE
        size = sum(
            struct.unpack_from("<I", data, pos + i * ENTRY_SIZE + 36)[0] for i in range(count)
        )
        pos += ENTRY_SIZE * count
        if flags & FLAG_VERIFICATION:
            pos += ENTRY_SIZE * count
        sha256 = None
        if flags & FLAG_METADATA_EXT:
            sha256 = merkle_hex(data[pos : pos + 32])
            pos += ENTRY_SIZE
        out.append((merkle_hex(file_hash), sha256, size))
    return out


def default_cas_binary() -> Path:
    """Where scripts/setup installs the CAS server. The account's home, not $HOME: tests run
    clients under a throwaway HOME."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        pwd.getpwuid(os.getuid()).pw_dir, ".cache"
    )
    return Path(cache) / "hubferry" / f"xet-client-{CAS_VERSION}" / "bin" / "local_cas_server"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: a SIGKILLed sandbox must not leave its CAS behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class CasServer:
    """The `local_cas_server` child: started on a free port, ready once its listener is bound."""

    def __init__(self, binary: Path, data_dir: Path, host: str, log_path: Path):
        self.binary, self.data_dir, self.host, self.log_path = binary, data_dir, host, log_path
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        if not os.access(self.binary, os.X_OK):
            raise CasError(
                f"the Xet CAS server {self.binary} is missing. "
                "hint: run scripts/setup (it installs local_cas_server), "
                f"or point {CAS_BINARY_ENV} at one"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(3):  # another process may take the free port before the CAS binds it
            port = _free_port(self.host)
            last = self._spawn(port)
            if not last:
                self.url = f"http://{self.host}:{port}"
                return self.url
        raise CasError(f"the Xet CAS server did not start: {last}")

    def _spawn(self, port: int) -> str:
        """Starts the child on `port`; "" once ready, else what it said before it exited."""
        env = {**os.environ, "RUST_LOG": READY_LOG_FILTER, "NO_COLOR": "1"}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--data-directory", str(self.data_dir)]
            + ["--host", self.host, "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
        ready = threading.Event()
        said: list[str] = []

        def pump(out=self.proc.stdout):
            for raw in iter(out.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace")
                if READY_MARK in line:
                    ready.set()
                elif not ready.is_set():
                    said.append(line.strip())
            ready.set()  # EOF: the child exited
            log.close()

        threading.Thread(target=pump, name="cas-log", daemon=True).start()
        ready.wait(START_TIMEOUT_S)
        if self.proc.poll() is None and ready.is_set():
            return ""
        self.stop()
        tail = (Path(self.log_path).read_text(errors="replace").strip().splitlines() or [""])[-1]
        return tail or "; ".join(said[-3:]) or f"no ready line within {START_TIMEOUT_S:.0f} s"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class XetIndex:
    """sha256 → Xet file of everything the CAS holds, read from its shards directory. Shards are
    immutable and named by their hash, so each is parsed once; the directory is listed again only
    when its mtime moved (a new shard landed)."""

    def __init__(self, shards_dir: Path):
        self.shards_dir = shards_dir
        self._lock = threading.Lock()
        self._by_sha: dict[str, XetFile] = {}
        self._by_hash: dict[str, XetFile] = {}
        self._sha_of: dict[str, str] = {}
        self._seen: set[str] = set()
        self._mtime = -1

    def _scan(self) -> None:
        try:
            mtime = self.shards_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        for shard in self.shards_dir.glob("*.mdb"):
            if shard.name in self._seen:
                continue
            try:
                files = shard_files(shard.read_bytes())
            except (OSError, struct.error):
                continue  # being written: the next scan reads it
            self._seen.add(shard.name)
            for xet_hash, sha256, size in files:
                found = XetFile(xet_hash, size)
                self._by_hash[xet_hash] = found
                if sha256:
                    self._by_sha[sha256] = found
                    self._sha_of[xet_hash] = sha256

    def by_sha256(self, sha256: str) -> XetFile | None:
        with self._lock:
            found = self._by_sha.get(sha256)
            if found is None:
                self._scan()
                found = self._by_sha.get(sha256)
            return found

    def by_xet_hash(self, xet_hash: str) -> XetFile | None:
        with self._lock:
            if xet_hash not in self._by_hash:
                self._scan()
            return self._by_hash.get(xet_hash)

    def sha256_of(self, xet_hash: str) -> str | None:
        with self._lock:
            if xet_hash not in self._sha_of:
                self._scan()
            return self._sha_of.get(xet_hash)


class _RangedReader:
    """A CAS file read in FETCH_RANGE pieces through the reference server's file-data route,
    from any offset (`seek`), so the first bytes go out while the rest is reconstructed."""

    def __init__(self, cas_url: str, xet_hash: str, size: int):
        parts = urlsplit(cas_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.path = f"/simulation/files/{xet_hash}/data"
        self.size, self.pos = size, 0
        self.resp = None

    def read(self, n: int) -> bytes:
        while True:
            if self.resp is None:
                if self.pos >= self.size:
                    return b""
                end = min(self.size, self.pos + FETCH_RANGE) - 1
                self.conn.request("GET", self.path, headers={"Range": f"bytes={self.pos}-{end}"})
                self.resp = self.conn.getresponse()
                if self.resp.status not in (200, 206):
                    body = self.resp.read(500).decode("utf-8", "replace")
                    raise CasError(f"CAS answered {self.resp.status} for {self.path}: {body}")
            data = self.resp.read(n)
            if data:
                self.pos += len(data)
                return data
            self.resp = None

    def seek(self, pos: int) -> None:
        if pos != self.pos:
            self.conn.close()  # drops a half-read answer; the next read reconnects
            self.pos, self.resp = pos, None

    def close(self) -> None:
        self.conn.close()


class XetStore:
    """The Hub's half of Xet: the CAS it names, the sha256 map, and the LFS ⇄ Xet bridge."""

    def __init__(self, cas: CasServer, client_cache: Path):
        self.cas = cas
        # What clients are told to use (xet_proxy.py, on the HF link); the bridge here talks to
        # the CAS itself, as the Hub's own services do.
        self.public_url = cas.url
        self.index = XetIndex(cas.data_dir / "shards")
        self.client_cache = client_cache
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._session = None
        self._grants: dict[str, Grant] = {}

    def token(self, grant: Grant) -> dict:
        """The CAS token the Hub hands out for `grant` (the reference CAS checks none): as JSON
        and as the X-Xet-* headers the clients read. The grant is remembered so the relay can
        tell which repo a CAS request reads (file-addressed faults, xet_proxy.py)."""
        exp = int(time.time()) + TOKEN_TTL_S
        token = f"xet_sandbox_{os.urandom(12).hex()}"
        with self._locks_lock:
            self._grants[token] = grant
        return {
            "body": {"accessToken": token, "exp": exp, "casUrl": self.public_url},
            "headers": {
                "X-Xet-Cas-Url": self.public_url,
                "X-Xet-Access-Token": token,
                "X-Xet-Token-Expiration": str(exp),
            },
        }

    def grant_of(self, token: str | None) -> Grant | None:
        with self._locks_lock:
            return self._grants.get(token or "")

    def paths_of(self, store, grant: Grant, xet_hash: str) -> list[str]:
        """The paths of the granted repo, at the granted revision, whose content is the Xet file
        `xet_hash` (usually one; none when the token was not for a read of that repo)."""
        sha256 = self.index.sha256_of(xet_hash)
        repo = store.get_repo("hf", grant.repo_type, grant.repo_id)
        if sha256 is None or repo is None:
            return []
        try:
            files = repo.files(grant.revision)
        except StoreError:  # a revision deleted since the token was issued
            return []
        return sorted(e.path for e in files if e.lfs and e.sha256 == sha256)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    # -- ObjectStore.remote: objects known through Xet count as stored --------------------------
    def size_of(self, sha256: str) -> int | None:
        found = self.index.by_sha256(sha256)
        return found.size if found else None

    def open_stream(self, sha256: str) -> _RangedReader | None:
        """The bytes of a Xet-uploaded file, reconstructed by the CAS as they are read (the
        Hub's bridge for classic LFS and git-lfs downloads); None when the CAS does not know it."""
        found = self.index.by_sha256(sha256)
        return _RangedReader(self.cas.url, found.xet_hash, found.size) if found else None

    # -- LFS → Xet ---------------------------------------------------------------------------
    def ensure(self, sha256: str, objects) -> XetFile | None:
        """The Xet file of an LFS object, uploading it into the CAS first if it only arrived
        over LFS (as the Hub serves every LFS file through Xet). None if the object is absent."""
        found = self.index.by_sha256(sha256)
        if found is not None:
            return found
        with self._lock_for(sha256):
            found = self.index.by_sha256(sha256)
            if found is not None or not objects.has_local(sha256):
                return found
            self._upload(objects.path(sha256), sha256)
        return self.index.by_sha256(sha256)

    def _upload(self, path: Path, sha256: str) -> None:
        session = self._client()
        expiry = int(time.time()) + TOKEN_TTL_S
        with session.new_upload_commit(
            endpoint=self.cas.url, token="xet_sandbox_bridge", token_expiry_unix_secs=expiry
        ) as commit:
            handle = commit.start_upload_file(str(path), sha256=sha256)
        handle.result()

    def _client(self):
        with self._locks_lock:
            if self._session is None:
                # hf_xet keeps its own caches; they belong to this sandbox's state, not ~/.cache.
                os.environ.setdefault("HF_XET_CACHE", str(self.client_cache))
                from hf_xet import XetSession

                self._session = XetSession()
            return self._session

    def stop(self) -> None:
        self.cas.stop()
