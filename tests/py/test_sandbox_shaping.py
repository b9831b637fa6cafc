"""Per-connection caps on top of the link totals (`--hf-conn-bandwidth`), driven by the official
client: two downloads that run at once each get one connection's rate, while the total would allow
more. Asserted from the sandbox's own per-connection accounting (`GET /connections`): which bucket
held each connection back, and for how long. The only rate figure checked is an upper bound the
shaper guarantees (a slow machine lowers rates, never raises them)."""

from __future__ import annotations

import os

import pytest
import world
from hf_client import run_hf, sha256

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
        ],
    )
    yield svc
    svc.stop()


def hf_connections(sandbox) -> dict:
    return world.admin(sandbox, "/connections", method="GET")["hf"]


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
        assert down["waited_connection_s"] > 0.5, down
        assert down["waited_total_s"] < down["waited_connection_s"] / 4, down
        assert down["bytes"] / down["active_s"] <= CONN_MB_S * 1e6 * 1.25, down
    first, second = sorted(carried, key=lambda d: d["first"])
    assert second["first"] < first["last"], "the two downloads ran at the same time"


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
