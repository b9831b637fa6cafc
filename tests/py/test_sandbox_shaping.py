"""Per-connection caps on top of the link totals (`--hf-conn-bandwidth`, `--ms-conn-bandwidth`),
driven by the official clients: two downloads that run at once each get one connection's rate,
while the total would allow more; ModelScope's one PUT per blob gets one connection's rate, and its
parallel range download gets one per part. Asserted from the sandbox's own per-connection
accounting (`GET /connections`): which bucket held each connection back, and for how long. The
only rate figure checked is an upper bound the shaper guarantees (a slow machine lowers rates,
never raises them)."""

from __future__ import annotations

import os

import pytest
import world
from hf_client import run_hf, sha256
from test_sandbox_ms import run_client as run_ms

CONN_MB_S = 2.0
TOTAL_MB_S = 40.0
SIZE = 3_000_000


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    svc = world.start_sandbox(
        tmp_path_factory.mktemp("conn-shaped") / "state",
        extra=[
            "--hf-bandwidth",
            str(TOTAL_MB_S),
            "--hf-conn-bandwidth",
            str(CONN_MB_S),
            "--ms-bandwidth",
            str(TOTAL_MB_S),
            "--ms-conn-bandwidth",
            str(CONN_MB_S),
        ],
    )
    yield svc
    svc.stop()


def hf_connections(sandbox) -> dict:
    return world.admin(sandbox, "/connections", method="GET")["hf"]


def new_connections(sandbox, platform: str, before: set, direction: str, min_bytes: int):
    conns = world.admin(sandbox, "/connections", method="GET")[platform]["connections"]
    return [
        c[direction] for c in conns if c["id"] not in before and c[direction]["bytes"] >= min_bytes
    ]


def connection_ids(sandbox, platform: str) -> set:
    conns = world.admin(sandbox, "/connections", method="GET")[platform]["connections"]
    return {c["id"] for c in conns}


def assert_held_by_its_own_cap(record: dict) -> None:
    assert record["waited_connection_s"] > 0.3, record
    assert record["waited_total_s"] < record["waited_connection_s"] / 4, record
    assert record["bytes"] / record["active_s"] <= CONN_MB_S * 1e6 * 1.25, record


def test_parallel_downloads_each_get_one_connections_rate(shaped, tmp_path):
    files = {"a.bin": os.urandom(SIZE), "b.bin": os.urandom(SIZE)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    run_hf(
        shaped,
        """
        api.create_repo("alice/conn-shaped")
        api.upload_folder(repo_id="alice/conn-shaped", folder_path=A["src"])
        out(True)
        """,
        {"src": str(tmp_path)},
    )
    before = {c["id"] for c in hf_connections(shaped)["connections"]}

    got = run_hf(
        shaped,
        """
        import hashlib
        from concurrent.futures import ThreadPoolExecutor
        from huggingface_hub import hf_hub_download

        def fetch(name):
            path = hf_hub_download("alice/conn-shaped", name, local_dir=A["dest"])
            return name, hashlib.sha256(open(path, "rb").read()).hexdigest()

        with ThreadPoolExecutor(2) as pool:
            out(dict(pool.map(fetch, ["a.bin", "b.bin"])))
        """,
        {"dest": str(tmp_path / "dest")},
    )
    assert got == {name: sha256(data) for name, data in files.items()}

    accounting = hf_connections(shaped)
    assert accounting["connection_mb_per_s"] == CONN_MB_S
    assert accounting["total_mb_per_s"] == TOTAL_MB_S
    carried = [
        c["down"]
        for c in accounting["connections"]
        if c["id"] not in before and c["down"]["bytes"] >= SIZE
    ]
    assert len(carried) == 2, accounting
    for down in carried:
        # Held back by its own bucket for most of the 1.5 s a file takes at 2 MB/s, hardly by the
        # total (40 MB/s leaves room for both).
        assert_held_by_its_own_cap(down)
    first, second = sorted(carried, key=lambda d: d["first"])
    assert second["first"] < first["last"], "the two downloads ran at the same time"


def test_modelscope_blob_put_and_ranged_download_are_capped_per_connection(shaped, tmp_path):
    data = os.urandom(SIZE)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big.bin").write_bytes(data)
    before = connection_ids(shaped, "ms")
    got = run_ms(
        shaped,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.create_model("alice/conn-shaped", visibility=5)
        api.upload_folder(repo_id="alice/conn-shaped", folder_path=A["src"], repo_type="model")
        out(True)
        """,
        {"src": str(tmp_path / "src")},
    )
    assert got is True
    (put,) = new_connections(shaped, "ms", before, "up", SIZE)
    assert_held_by_its_own_cap(put)

    before = connection_ids(shaped, "ms")
    path = run_ms(
        shaped,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        p = api.download_file("alice/conn-shaped", "model", "big.bin", local_dir=A["dst"],
                              file_size=A["size"])
        out(str(p))
        """,
        {"dst": str(tmp_path / "dst"), "size": SIZE},
        env={
            # 1 MiB parts: three ranges of the 3 MB file, fetched at once.
            "MODELSCOPE_DOWNLOAD_PARALLEL_THRESHOLD_MB": "1",
            "MODELSCOPE_DOWNLOAD_PART_SIZE_MB": "1",
            "MODELSCOPE_DOWNLOAD_PARALLEL_WORKERS": "3",
        },
    )
    assert sha256(open(path, "rb").read()) == sha256(data)
    parts = new_connections(shaped, "ms", before, "down", SIZE // 10)
    assert len(parts) == 3, parts
    assert sum(p["bytes"] for p in parts) >= SIZE
    for part in parts:
        assert part["waited_connection_s"] > 0, part
        assert part["bytes"] / part["active_s"] <= CONN_MB_S * 1e6 * 1.25, part


def test_without_a_connection_cap_only_the_total_holds_back(tmp_path_factory, tmp_path):
    svc = world.start_sandbox(
        tmp_path_factory.mktemp("total-only") / "state", extra=["--hf-bandwidth", "4"]
    )
    try:
        (tmp_path / "c.bin").write_bytes(os.urandom(SIZE))
        run_hf(
            svc,
            """
            from huggingface_hub import hf_hub_download
            api.create_repo("alice/total-only")
            api.upload_file(path_or_fileobj=A["file"], path_in_repo="c.bin",
                            repo_id="alice/total-only")
            hf_hub_download("alice/total-only", "c.bin", local_dir=A["dest"])
            out(True)
            """,
            {"file": str(tmp_path / "c.bin"), "dest": str(tmp_path / "dest")},
        )
        accounting = hf_connections(svc)
        assert accounting["connection_mb_per_s"] is None
        down = [c["down"] for c in accounting["connections"] if c["down"]["bytes"] >= SIZE]
        assert down and all(d["waited_connection_s"] == 0 for d in down), accounting
        assert any(d["waited_total_s"] > 0.3 for d in down), accounting
    finally:
        svc.stop()
