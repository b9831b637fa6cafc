"""The job file (docs/job-file.md): parsing, defaults and validation into typed objects.

A job holds no secrets; `Credentials` reads tokens and endpoints from the environment only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manifest import Entry, lower_hex

PLATFORMS = ("hf", "ms")
REPO_TYPES = ("model", "dataset", "space")
METHODS = ("api", "git", "auto")
DEFAULT_REVISION = {"hf": "main", "ms": "master"}
PLATFORM_NAMES = {"hf": "Hugging Face", "ms": "ModelScope"}


class JobError(ValueError):
    """The job file is unreadable or invalid (exit code 2)."""


@dataclass(frozen=True)
class Endpoint:
    platform: str
    repo_id: str
    repo_type: str
    revision: str

    def as_event(self) -> dict:
        return {
            "platform": self.platform,
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "revision": self.revision,
        }

    def __str__(self) -> str:
        kind = "" if self.repo_type == "model" else f" ({self.repo_type})"
        return f"{self.platform}:{self.repo_id}{kind}@{self.revision}"


@dataclass
class Options:
    visibility: str = "source"
    allow_public_gated: bool = False
    # Exact destination paths to delete, decided by the orchestrator's plan (never matched here).
    delete_paths: list[str] = field(default_factory=list)
    staging_budget_bytes: int = 10_000_000_000
    download_workers: int = 4
    upload_workers: int = 4
    commit_max_files: int = 200
    verify: bool = True
    # The README the orchestrator mapped for the destination hub ({"path", "text"}; empty: none).
    card: dict = field(default_factory=dict)
    # Stream each blob's download straight into its upload where the destination allows it.
    stream: bool = True


@dataclass
class Job:
    job: str
    source: Endpoint
    dest: Endpoint
    # The orchestrator's file list, as the manifest entries the run uses (not copied again).
    files: list[Entry] | None
    chunk_index: int = 0
    chunk_count: int = 1
    method: str = "auto"
    options: Options = field(default_factory=Options)


def _require(obj: dict, key: str, kind: type | tuple, where: str) -> Any:
    if key not in obj:
        raise JobError(f"job file: missing {where}{key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise JobError(f"job file: {where}{key!r} has an invalid value {value!r}")
    return value


def _check_keys(obj: dict, allowed: set[str], where: str) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise JobError(
            f"job file: unknown field(s) {sorted(unknown)} in {where or 'the top level'}"
            "\nhint: see docs/job-file.md for the format"
        )


def _endpoint(raw: Any, where: str) -> Endpoint:
    if not isinstance(raw, dict):
        raise JobError(f"job file: {where!r} must be an object")
    _check_keys(raw, {"platform", "repo_id", "repo_type", "revision"}, where)
    platform = _require(raw, "platform", str, f"{where}.")
    if platform not in PLATFORMS:
        raise JobError(f"job file: {where}.platform must be one of {PLATFORMS}, got {platform!r}")
    repo_id = _require(raw, "repo_id", str, f"{where}.")
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise JobError(f"job file: {where}.repo_id must be 'namespace/name', got {repo_id!r}")
    repo_type = raw.get("repo_type") or "model"
    if repo_type not in REPO_TYPES:
        raise JobError(f"job file: {where}.repo_type must be in {REPO_TYPES}, got {repo_type!r}")
    revision = raw.get("revision") or DEFAULT_REVISION[platform]
    if not isinstance(revision, str):
        raise JobError(f"job file: {where}.revision must be a string")
    return Endpoint(platform, repo_id, repo_type, revision)


def _files(raw: Any, consume: bool) -> list[Entry] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise JobError("job file: 'files' must be null or a list")
    out = []
    for i, item in enumerate(raw):
        if consume:
            raw[i] = None
        where = f"files[{i}]."
        if not isinstance(item, dict):
            raise JobError(f"job file: files[{i}] must be an object")
        _check_keys(item, {"path", "size", "sha256", "git_oid"}, f"files[{i}]")
        path = _require(item, "path", str, where)
        size = _require(item, "size", int, where)
        sha = item.get("sha256")
        oid = item.get("git_oid")
        if sha is not None and not isinstance(sha, str):
            raise JobError(f"job file: {where}sha256 must be a string or null")
        if oid is not None and not isinstance(oid, str):
            raise JobError(f"job file: {where}git_oid must be a string or null")
        out.append(Entry(path.lstrip("/"), size, lower_hex(sha), lower_hex(oid)))
    if consume:
        raw.clear()
    return out


def parse_job(raw: Any, consume_files: bool = False) -> Job:
    """Validates a decoded job file and fills in defaults; raises JobError with a hint.

    consume_files: empty `raw["files"]` while it is read, each object freed once it is an
    `Entry`, for a caller whose `raw` outlives the job (a Modal call's argument): the decoded
    objects of a long file list would otherwise stay beside the entries for the whole run."""
    if not isinstance(raw, dict):
        raise JobError("job file must hold a JSON object")
    _check_keys(
        raw,
        {"hubferry_job", "job", "source", "dest", "files", "chunk", "method", "options"},
        "",
    )
    if raw.get("hubferry_job") != 1:
        raise JobError(
            f"job file: unsupported hubferry_job {raw.get('hubferry_job')!r} (this worker reads 1)"
            "\nhint: the orchestrator and the worker come from different hubferry versions"
        )
    job_id = _require(raw, "job", str, "")
    if not job_id:
        raise JobError("job file: 'job' must be a non-empty string")
    chunk = raw.get("chunk") or {"index": 0, "count": 1}
    if not isinstance(chunk, dict):
        raise JobError("job file: 'chunk' must be an object")
    index = _require(chunk, "index", int, "chunk.")
    count = _require(chunk, "count", int, "chunk.")
    if not 0 <= index < count:
        raise JobError(f"job file: chunk index {index} is outside 0..{count - 1}")
    method = raw.get("method") or "auto"
    if method not in METHODS:
        raise JobError(f"job file: method must be one of {METHODS}, got {method!r}")
    opts_raw = raw.get("options") or {}
    if not isinstance(opts_raw, dict):
        raise JobError("job file: 'options' must be an object")
    defaults = Options()
    _check_keys(opts_raw, set(vars(defaults)), "options")
    opts = Options()
    for name, default in vars(defaults).items():
        if name not in opts_raw:
            continue
        value = opts_raw[name]
        ok = (
            isinstance(value, type(default))
            and not (isinstance(value, bool) and not isinstance(default, bool))
            and (not isinstance(value, list) or all(isinstance(v, str) for v in value))
        )
        if not ok:
            raise JobError(f"job file: options.{name} has an invalid value {value!r}")
        setattr(opts, name, value)
    if opts.visibility not in ("source", "private", "public"):
        raise JobError(
            f"job file: options.visibility must be source|private|public, got {opts.visibility!r}"
        )
    if opts.card and (
        set(opts.card) != {"path", "text"}
        or not all(isinstance(opts.card[k], str) for k in ("path", "text"))
    ):
        raise JobError('job file: options.card must be {"path": str, "text": str}')
    for name in ("staging_budget_bytes", "download_workers", "upload_workers", "commit_max_files"):
        if getattr(opts, name) < 1:
            raise JobError(f"job file: options.{name} must be at least 1")
    return Job(
        job=job_id,
        source=_endpoint(raw.get("source"), "source"),
        dest=_endpoint(raw.get("dest"), "dest"),
        files=_files(raw.get("files"), consume_files),
        chunk_index=index,
        chunk_count=count,
        method=method,
        options=opts,
    )


def load_job_file(path: str | Path) -> Job:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise JobError(f"cannot read job file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise JobError(f"job file {path} is not valid JSON: {exc}") from None
    return parse_job(raw)


def _ms_endpoint(env) -> str | None:
    """`MODELSCOPE_ENDPOINT`, else the deprecated `MODELSCOPE_DOMAIN` (a bare host means
    https://host), as modelscope_hub's config and hubferry's own preflight resolve them."""
    endpoint = (env.get("MODELSCOPE_ENDPOINT") or "").strip()
    if not endpoint:
        endpoint = (env.get("MODELSCOPE_DOMAIN") or "").strip()
        if endpoint and "://" not in endpoint:
            endpoint = f"https://{endpoint}"
    return endpoint.rstrip("/") or None


@dataclass(frozen=True)
class Credentials:
    """Tokens and endpoints, from the environment only (never from the job file)."""

    hf_token: str | None
    hf_endpoint: str | None
    ms_token: str | None
    ms_endpoint: str | None

    @classmethod
    def from_env(cls, env: dict | None = None) -> Credentials:
        env = os.environ if env is None else env
        return cls(
            hf_token=env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or None,
            hf_endpoint=(env.get("HF_ENDPOINT") or "").rstrip("/") or None,
            ms_token=env.get("MODELSCOPE_API_TOKEN") or env.get("MODELSCOPE_TOKEN") or None,
            ms_endpoint=_ms_endpoint(env),
        )

    def secrets(self) -> list[str]:
        return [t for t in (self.hf_token, self.ms_token) if t]
