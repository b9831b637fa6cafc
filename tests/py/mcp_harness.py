"""Drives `hubferry mcp` with the official MCP Python SDK against the offline world.

The server is started as `tee IN | hubferry mcp | tee OUT` so that every byte of every MCP message,
both ways, lands in files the tests scan for the canary tokens; its stderr goes to a file too.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import schema_check
import world
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp import ClientSession

BINARY = world.ROOT / "target" / "release" / "hubferry"
CANARIES = [*world.HF_USERS.values(), *world.MS_USERS.values()]


def hubferry_env(sandbox, modal_sim, state: Path) -> dict[str, str]:
    """The server's environment: tokens and endpoints of the world, as a user would export them."""
    venv_bin = world.ROOT / ".venv" / "bin"
    return {
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "HOME": os.environ["HOME"],
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "LANG": "C.UTF-8",
        "MODAL_SERVER_URL": modal_sim["modal_server_url"],
        "MODAL_TOKEN_ID": "ak-hubferrytests",
        "MODAL_TOKEN_SECRET": "as-hubferrytests",
        "HUBFERRY_STATE_DIR": str(state),
        "HUBFERRY_MODAL": str(venv_bin / "modal"),
        "HUBFERRY_PYTHON": str(venv_bin / "python"),
        "TMPDIR": str(state.parent),
    }


def start_modal_sim(tmp_path_factory):
    """The Modal stand-in for one test module (use as a module-scoped fixture)."""
    svc = world.start_modal_sim(tmp_path_factory.mktemp("modal-sim") / "state")
    yield svc
    svc.stop()


def seed(env: dict[str, str], platform: str, repo_id: str, *extra: str) -> dict:
    out = subprocess.run(
        [str(world.PYTHON), str(world.ROOT / "tests/it/support/seed.py")]
        + ["--platform", platform, "--repo-id", repo_id, *extra],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def listing(env: dict[str, str], platform: str, *repo_ids: str) -> list[list[str] | None]:
    """Each repo's file paths through the official client, or None for one that does not exist."""
    out = subprocess.run(
        [str(world.PYTHON), str(world.ROOT / "tests/it/selection.py"), "list", platform, *repo_ids],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


@contextlib.asynccontextmanager
async def session(env: dict[str, str], capture: Path):
    """An initialized ClientSession on `hubferry mcp`; on exit, asserts no canary in any message."""
    capture.mkdir(parents=True, exist_ok=True)
    sent, received, errlog = capture / "to-server", capture / "from-server", capture / "stderr"
    params = StdioServerParameters(
        command="sh",
        args=["-c", 'tee "$1" | "$0" mcp | tee "$2"', str(BINARY), str(sent), str(received)],
        env=env,
        cwd=str(world.ROOT),
    )
    with open(errlog, "w") as err:
        async with stdio_client(params, errlog=err) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s
    assert_no_canaries(capture)


def assert_no_canaries(capture: Path) -> None:
    files = [p for p in capture.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"to-server", "from-server", "stderr"}
    assert (capture / "from-server").stat().st_size > 0
    for path in files:
        text = path.read_text(errors="replace")
        for canary in CANARIES:
            assert canary not in text, f"canary token in {path}"


def structured(result) -> dict:
    """A tool result's structured content: {exit_code, result, objects}, each object validated
    against its schema, and each text block the same object as printed."""
    content = result.structured_content
    assert content is not None, result
    assert set(content) == {"exit_code", "result", "objects"}, content
    assert isinstance(content["exit_code"], int), content
    objects = content["objects"]
    assert content["result"] == (objects[-1] if objects else None), content
    for obj in objects:
        schema_check.validate(obj)
    texts = [block.text for block in result.content]
    if objects:
        assert [json.loads(text) for text in texts] == objects, texts
    else:
        assert texts == [f"exit code {content['exit_code']}"], texts
    assert result.is_error == (content["exit_code"] != 0), content
    return content
