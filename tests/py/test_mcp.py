"""`hubferry mcp` through the official MCP Python SDK: tools, plan → migrate with progress on both
backends, a detached run followed to its verified end, refusals that run nothing, and no token
in any MCP message (the harness scans both directions and the server's stderr)."""

from __future__ import annotations

import asyncio

import mcp_harness as h
import pytest
import world
from huggingface_hub import HfApi
from mcp.shared.exceptions import MCPError

TOOLS = {
    "doctor",
    "plan",
    "migrate",
    "batch",
    "runs",
    "run_status",
    "run_logs",
    "stop_run",
    "verify",
    "inventory",
    "sync_plan",
    "sync",
    "retire",
}


modal_sim = pytest.fixture(scope="module")(h.start_modal_sim)


@pytest.fixture
def env(sandbox, modal_sim, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    return h.hubferry_env(sandbox, modal_sim, state)


@pytest.fixture
def org_env(env):
    """`env` with the ModelScope organization alice may write to (ModelScope lists none)."""
    return {**env, "HUBFERRY_MS_ORGS": "acme-ms"}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=240))


def test_lists_every_tool_with_an_input_schema_from_the_rust_types(env, tmp_path):
    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            return (await s.list_tools()).tools

    tools = {t.name: t for t in run(go())}
    assert set(tools) == TOOLS
    migrate = tools["migrate"].input_schema
    assert migrate["type"] == "object"
    assert {"source", "dest", "detach", "backend", "confirm", "delete"} <= set(
        migrate["properties"]
    )
    assert migrate["required"] == ["source"]
    batch = tools["batch"].input_schema
    assert batch["required"] == ["repos"]
    assert {"repos", "dest_namespace", "jobs", "public", "delete", "backend"} <= set(
        batch["properties"]
    )
    assert tools["retire"].annotations.destructive_hint is True
    assert tools["plan"].annotations.read_only_hint is True
    for t in tools.values():
        assert not [p for p in t.input_schema.get("properties", {}) if "token" in p], t.name


@pytest.mark.parametrize("backend", ["local", "modal"])
def test_plan_then_migrate_reports_progress_and_a_verified_report(env, tmp_path, backend):
    repo = f"alice/mcp-{backend}"
    h.seed(env, "hf", repo, "--lfs-mb", "1")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done, total, message):
        progress.append((done, total, message))

    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            plan = await s.call_tool("plan", {"source": f"hf:{repo}", "backend": backend})
            migrated = await s.call_tool(
                "migrate",
                {"source": f"hf:{repo}", "backend": backend},
                progress_callback=on_progress,
            )
            return plan, migrated

    plan, migrated = run(go())
    assert not plan.is_error, plan
    p = h.structured(plan)
    assert (p["exit_code"], p["result"]["type"]) == (0, "plan")
    assert p["result"]["files_to_move"] > 0 and p["result"]["bytes_to_move"] > 1_000_000
    assert p["result"]["dest"]["id"] == repo
    assert not migrated.is_error, migrated
    r = h.structured(migrated)
    report = r["result"]
    assert (r["exit_code"], report["type"], report["status"], report["verified"]) == (
        0,
        "report",
        "ok",
        True,
    )
    assert report["backend"] == backend
    assert report["files_moved"] == p["result"]["files_to_move"]
    assert progress, "no progress notification arrived"
    done = [d for d, _, _ in progress]
    assert done == sorted(done) and len(set(done)) == len(done), "progress must increase"
    assert progress[-1][0] == progress[-1][1], progress[-1]
    assert progress[-1][2] and "files" in progress[-1][2]


def test_a_detached_migration_is_followed_to_its_verified_end(env, tmp_path):
    repo = "alice/mcp-detached"
    h.seed(env, "hf", repo, "--lfs-mb", "1")
    progress = []

    async def on_progress(done, total, message):
        progress.append(done)

    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            started = await s.call_tool(
                "migrate", {"source": f"hf:{repo}", "backend": "modal", "detach": True}
            )
            run_id = h.structured(started)["result"]["run_id"]
            listed = await s.call_tool("runs", {})
            followed = await s.call_tool(
                "run_logs", {"run": run_id, "follow": True}, progress_callback=on_progress
            )
            status = await s.call_tool("run_status", {"run": run_id})
            return started, listed, followed, status

    started, listed, followed, status = run(go())
    d = h.structured(started)["result"]
    assert (d["type"], d["status"]) == ("detached", "running"), d
    runs = h.structured(listed)["objects"]
    assert [x["run_id"] for x in runs] == [d["run_id"]]
    assert not followed.is_error, followed
    report = h.structured(followed)["result"]
    assert (report["type"], report["status"], report["verified"]) == ("report", "ok", True)
    assert report["run_id"] == d["run_id"]
    assert progress, "following the run sent no progress notification"
    assert h.structured(status)["result"]["type"] == "run_status"


def test_refusals_run_nothing_and_change_nothing(sandbox, env, tmp_path):
    repo = "alice/mcp-keep"
    h.seed(env, "hf", repo, "--lfs-mb", "0.1")
    hf = HfApi(endpoint=sandbox["hf_endpoint"], token=world.HF_USERS["alice"])

    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            calls = {
                "retire": ("retire", {"source": f"hf:{repo}", "copy": f"ms:{repo}"}),
                "retire_wrong_name": (
                    "retire",
                    {"source": f"hf:{repo}", "copy": f"ms:{repo}", "confirm": "alice/other"},
                ),
                "delete": ("migrate", {"source": f"hf:{repo}", "backend": "local", "delete": True}),
                "flag": ("plan", {"source": "--help"}),
            }
            out = {k: await s.call_tool(name, args) for k, (name, args) in calls.items()}
            out["runs"] = await s.call_tool("runs", {})
            return out

    out = run(go())
    for key in ("retire", "retire_wrong_name", "delete", "flag"):
        assert out[key].is_error, key
        error = h.structured(out[key])["result"]
        assert (error["type"], error["exit_code"]) == ("error", 2), (key, error)
        assert error["hint"], key
    assert "confirm" in h.structured(out["retire"])["result"]["message"]
    assert "nothing was run" in h.structured(out["delete"])["result"]["message"]
    assert "may not start with '-'" in h.structured(out["flag"])["result"]["message"]
    assert hf.repo_exists(repo), "a refused retire deleted the source"
    assert not hf.repo_exists(repo.replace("alice/", "alice/x-")), "sanity: lookups are real"
    assert h.structured(out["runs"])["objects"] == [], "a refused migrate started a run"


@pytest.mark.parametrize("tool", ["migrate", "batch"])
def test_a_cancelled_migration_stops_its_child_as_ctrl_c_does(sandbox, env, tmp_path, tool):
    repo = f"alice/mcp-cancel-{tool}"
    h.seed(env, "hf", repo, "--lfs-mb", "1")
    # The big file's download hangs, so the migration is still running when the call is cancelled.
    world.admin(
        sandbox,
        "/faults",
        {
            "kind": "latency",
            "ms": 60000,
            "platform": "hf",
            "method": "GET",
            "path": f"mcp-cancel-{tool}/resolve/.*model\\.safetensors",
        },
    )
    capture = tmp_path / "mcp"

    async def go():
        async with h.session(env, capture) as s:
            started = asyncio.Event()

            async def on_progress(done, total, message):
                started.set()

            args = {"source": f"hf:{repo}", "backend": "local"}
            if tool == "batch":
                args = {"repos": [{"source": f"hf:{repo}"}], "backend": "local"}
            call = asyncio.create_task(s.call_tool(tool, args, progress_callback=on_progress))
            await asyncio.wait_for(started.wait(), timeout=60)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            log = capture / "stderr"
            for _ in range(600):  # bounded: the child's own Ctrl-C handling ends it
                if "ended with exit code" in log.read_text():
                    break
                await asyncio.sleep(0.1)
            # The server still serves after a cancelled call.
            return log.read_text(), await s.call_tool("runs", {})

    log, runs = run(go())
    assert f"sent SIGINT to `hubferry {tool}`, which ended with exit code 130" in log, log
    assert not runs.is_error


def test_a_batch_moves_each_repo_to_its_own_destination_with_progress(org_env, tmp_path):
    env = org_env
    h.seed(env, "hf", "alice/mcp-batch-a", "--lfs-mb", "0.3")
    h.seed(env, "hf", "alice/mcp-batch-b", "--lfs-mb", "0.3", "--seed", "2")
    dests = ["alice/mcp-batch-a-copy", "acme-ms/mcp-batch-b"]
    repos = [
        {"source": "hf:alice/mcp-batch-a", "dest": dests[0]},
        {"source": "hf:alice/mcp-batch-b", "dest": dests[1]},
    ]
    progress: list[float] = []

    async def on_progress(done, total, message):
        progress.append(done)

    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            return await s.call_tool(
                "batch", {"repos": repos, "backend": "local"}, progress_callback=on_progress
            )

    result = run(go())
    assert not result.is_error, result
    out = h.structured(result)
    summary = out["result"]
    assert (summary["type"], summary["status"], summary["repos_ok"]) == ("batch_report", "ok", 2)
    assert [r["dest"].split(":")[-1].split("@")[0] for r in summary["repos"]] == dests, summary
    assert all(r["verified"] and r["files_moved"] > 0 for r in summary["repos"]), summary
    reports = [o for o in out["objects"] if o["type"] == "report"]
    assert [r["verified"] for r in reports] == [True, True], reports
    assert progress and progress == sorted(progress), progress
    sources = h.listing(env, "hf", "alice/mcp-batch-a", "alice/mcp-batch-b")
    copies = h.listing(env, "ms", *dests)
    paths = [None if files is None else set(files) - {".gitattributes"} for files in copies]
    assert paths == [set(files) - {".gitattributes"} for files in sources], (copies, sources)


def test_a_widening_batch_is_refused_before_anything_moves_until_each_repo_confirms(env, tmp_path):
    h.seed(env, "hf", "alice/mcp-wide-open", "--lfs-mb", "0.1")
    h.seed(env, "hf", "alice/mcp-wide-private", "--lfs-mb", "0.1", "--private")
    dests = ["alice/mcp-wide-open", "alice/mcp-wide-private"]

    def repos(confirm=None, key="confirm"):
        private = {"source": "hf:alice/mcp-wide-private"}
        if confirm:
            private[key] = confirm
        return [{"source": "hf:alice/mcp-wide-open", "dest": dests[0]}, private]

    async def go():
        async with h.session(env, tmp_path / "mcp") as s:
            common = {"public": True, "backend": "local"}
            out = {
                "missing": await s.call_tool("batch", {"repos": repos(), **common}),
                "wrong": await s.call_tool("batch", {"repos": repos("alice/other"), **common}),
            }
            with pytest.raises(MCPError, match="confim"):
                await s.call_tool("batch", {"repos": repos(dests[1], "confim"), **common})
            out["before"] = h.listing(env, "ms", *dests)
            out["confirmed"] = await s.call_tool("batch", {"repos": repos(dests[1]), **common})
            out["after"] = h.listing(env, "ms", *dests)
            return out

    out = run(go())
    for key in ("missing", "wrong"):
        refusal = h.structured(out[key])
        assert out[key].is_error, key
        assert [o["type"] for o in refusal["objects"]] == ["plan", "plan", "error"], refusal
        error = refusal["result"]
        assert (error["exit_code"], refusal["exit_code"]) == (2, 2), error
        assert "batch refused, nothing was run: 1 of 2 repositories" in error["message"], error
        assert "hf:alice/mcp-wide-private" in error["message"], error
        assert "makes a private source public" in error["message"], error
        assert "mcp-wide-open" not in error["message"], "a public source needs no confirmation"
        assert 'hf:alice/mcp-wide-private: confirm "alice/mcp-wide-private"' in error["hint"]
    assert out["before"] == [None, None], "a refused batch created a destination"
    assert not out["confirmed"].is_error, out["confirmed"]
    summary = h.structured(out["confirmed"])["result"]
    assert (summary["type"], summary["repos_ok"]) == ("batch_report", 2), summary
    assert all(r["verified"] for r in summary["repos"]), summary
    assert None not in out["after"], "sanity: the listing sees the copies once they exist"
