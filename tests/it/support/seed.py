"""Seeds a repository on the hub sandbox through the official client (huggingface_hub or the
modelscope hub client), for the Rust integration tests and scripts/demo.

Usage: seed.py --platform hf|ms --repo-id NS/NAME [--repo-type model|dataset] [--private]
               [--lfs-mb MB] [--seed N] [--extra-files N]
       seed.py --spec < SPEC.json
Endpoints and tokens come from the environment (HF_ENDPOINT/HF_TOKEN, MODELSCOPE_ENDPOINT/
MODELSCOPE_API_TOKEN). The first form seeds a deterministic sample and prints one JSON line:
{"files": {path: size}, "bytes": total}. The second reads a list of repos with exact contents:
[{"platform": "hf"|"ms", "id": "ns/name", "type": "model"|"dataset"|"space", "private": bool,
  "files": {"path": "text"}, "many": N}] (`many` adds N small generated files).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

MB = 1024 * 1024


def sample_files(seed: int, lfs_mb: float, extra: int) -> dict[str, bytes]:
    """Nested, unicode, empty and LFS-size files, deterministic per seed."""
    rnd = random.Random(seed)
    files = {
        "README.md": b"---\nlicense: apache-2.0\n---\n# hubferry sample %d\n" % seed,
        "config.json": b'{"hidden_size": %d}' % (64 + seed),
        "empty.txt": b"",
        "nested/deeper/notes.txt": b"nested file\n" * 10,
        "数据/训练 集.jsonl": '{"text": "你好"}\n'.encode() * 5,
        "weights/model.safetensors": rnd.randbytes(int(lfs_mb * MB)),
    }
    for i in range(extra):
        files[f"shards/part-{i:03d}.bin"] = rnd.randbytes(int(lfs_mb * MB / 4) + i)
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def seed_hf(repo_id: str, repo_type: str, private: bool, folder: Path) -> None:
    from huggingface_hub import HfApi, constants

    # Through Xet, as against the Hub; the client reads this switch from its constants module.
    constants.HF_HUB_DISABLE_XET = False
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"])
    sdk = "static" if repo_type == "space" else None
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=sdk)
    if any(folder.iterdir()):
        api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=folder)


def seed_ms(repo_id: str, repo_type: str, private: bool, folder: Path) -> None:
    from modelscope_hub.api import HubApi

    api = HubApi(
        endpoint=os.environ["MODELSCOPE_ENDPOINT"], token=os.environ["MODELSCOPE_API_TOKEN"]
    )
    if not api.repo_exists(repo_id, repo_type):
        api.create_repo(repo_id, repo_type, visibility="private" if private else "public")
    if any(folder.iterdir()):
        api.upload_folder(repo_id, repo_type, folder, disable_tqdm=True)


def seed_spec(spec: list[dict]) -> None:
    for repo in spec:
        files = {p: c.encode() for p, c in (repo.get("files") or {}).items()}
        for i in range(repo.get("many", 0)):
            files[f"many/d{i % 7}/f{i:05d}.txt"] = f"{i}\n".encode()
        with tempfile.TemporaryDirectory(prefix="hubferry-seed-") as tmp:
            write_tree(Path(tmp), files)
            seed = seed_hf if repo["platform"] == "hf" else seed_ms
            seed(repo["id"], repo.get("type", "model"), repo.get("private", False), Path(tmp))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", action="store_true", help="read a JSON list on stdin")
    parser.add_argument("--platform", choices=["hf", "ms"])
    parser.add_argument("--repo-id")
    parser.add_argument("--repo-type", default="model", choices=["model", "dataset"])
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--lfs-mb", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--extra-files", type=int, default=0)
    args = parser.parse_args()
    if args.spec:
        seed_spec(json.load(sys.stdin))
        return 0
    if not (args.platform and args.repo_id):
        parser.error("--platform and --repo-id are required without --spec")
    files = sample_files(args.seed, args.lfs_mb, args.extra_files)
    with tempfile.TemporaryDirectory(prefix="hubferry-seed-") as tmp:
        write_tree(Path(tmp), files)
        seed = seed_hf if args.platform == "hf" else seed_ms
        seed(args.repo_id, args.repo_type, args.private, Path(tmp))
    sizes = {path: len(data) for path, data in files.items()}
    print(json.dumps({"files": sizes, "bytes": sum(sizes.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
