"""How the Hugging Face Hub describes repos and files in JSON (repo info, listings, tree entries).

Pure functions of a `store.Repo` at a commit; the routes in hf.py decide who may see what.
"""

from __future__ import annotations

import hashlib
import threading

import yaml


def hex_id(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def iso_z(iso: str) -> str:
    """git's '2026-11-23T11:33:15+00:00' as the Hub writes dates ('...Z')."""
    return iso.replace("+00:00", ".000Z") if iso.endswith("+00:00") else iso


_card_cache: dict[str, dict | None] = {}
_card_lock = threading.Lock()


def card_data(repo, sha: str | None) -> dict | None:
    """README.md YAML front matter at sha (what the Hub shows as cardData)."""
    if sha is None:
        return None
    entry = repo.listing(sha).get("README.md")
    if entry is None or entry.lfs:
        return None
    with _card_lock:
        if entry.blob_oid in _card_cache:
            return _card_cache[entry.blob_oid]
    text = repo.read_blob(entry.blob_oid).decode("utf-8", "replace")
    data = None
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end > 0:
            try:
                loaded = yaml.safe_load(text[3:end])
                data = loaded if isinstance(loaded, dict) else None
            except yaml.YAMLError:
                data = None
    with _card_lock:
        _card_cache[entry.blob_oid] = data
    return data


def repo_json(repo, sha: str | None, *, siblings: bool, blobs: bool, card: bool) -> dict:
    """A repo as the Hub's info/listing endpoints describe it."""
    info = {
        "_id": hex_id(f"{repo.repo_type}:{repo.repo_id}"),
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": sha,
        "private": repo.private,
        "gated": repo.gated,
        "disabled": False,
        "createdAt": repo.created,
        "lastModified": repo.modified,
        "usedStorage": sum(e.size for e in repo.files(sha)) if sha else 0,
        "downloads": 0,
        "likes": 0,
        "tags": [],
    }
    if repo.repo_type == "model":
        info["modelId"] = repo.repo_id
    if repo.repo_type == "space":
        info["sdk"] = repo.meta.get("sdk", "static")
        info["runtime"] = {"stage": "RUNNING", "hardware": {"current": None, "requested": None}}
    if card:
        data = card_data(repo, sha)
        if data is not None:
            info["cardData"] = data
            if isinstance(data.get("license"), str):
                info["tags"] = [f"license:{data['license']}"]
    if siblings:
        info["siblings"] = []
        for e in repo.files(sha) if sha else []:
            sib = {"rfilename": e.path}
            if blobs:
                sib.update(size=e.size, blobId=e.blob_oid)
                if e.lfs:
                    sib["lfs"] = {
                        "sha256": e.sha256,
                        "size": e.size,
                        "pointerSize": e.lfs["pointer_size"],
                    }
            info["siblings"].append(sib)
    return info


def file_json(e, xet_hash_of=None) -> dict:
    """A file as tree and paths-info list it; `xet_hash_of(sha256)` names an LFS file's Xet
    hash (`xetHash`) when the CAS holds it."""
    item = {"type": "file", "path": e.path, "size": e.size, "oid": e.blob_oid}
    if e.lfs:
        item["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": e.lfs["pointer_size"]}
        xet_hash = xet_hash_of(e.sha256) if xet_hash_of else None
        if xet_hash:
            item["xetHash"] = xet_hash
    return item


def directory_oids(repo, sha: str) -> dict[str, str]:
    return repo.tree_oids(sha)


def tree_entries(repo, sha: str, path: str, recursive: bool, xet_hash_of=None) -> list[dict] | None:
    """Tree listing under `path` ("" = root); None when `path` is not a directory."""
    dirs = directory_oids(repo, sha)
    if path and path not in dirs:
        return None
    prefix = f"{path}/" if path else ""
    out = []
    for d, oid in dirs.items():
        if d.startswith(prefix) and (recursive or "/" not in d[len(prefix) :]):
            out.append({"type": "directory", "path": d, "oid": oid})
    for e in repo.files(sha):
        if e.path.startswith(prefix) and (recursive or "/" not in e.path[len(prefix) :]):
            out.append(file_json(e, xet_hash_of))
    out.sort(key=lambda item: item["path"])
    return out
