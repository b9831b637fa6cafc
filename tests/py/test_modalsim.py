"""The Modal stand-in, driven only through the real pinned `modal` CLI (no mocks, no canned output).

One stand-in serves the whole module; independent `modal run`s go concurrently to stay inside the
time budget. Concurrency limits are proven from the recorded container start/end times in the
state directory (`tasks.jsonl`), never from wall-clock measurements.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import world

APPS = Path(__file__).parent / "modal_apps"
MODAL = world.ROOT / ".venv" / "bin" / "modal"
APP_ID = re.compile(r"ap-[A-Za-z0-9]{22}")
SECRET_VALUE = "sim-secret-value-0123456789"
RUN_TIMEOUT = 90


@pytest.fixture(scope="module")
def modal_sim(tmp_path_factory):
    state = tmp_path_factory.mktemp("modalsim") / "state"
    svc = world.start_modal_sim(state)
    svc.extra["state"] = state
    yield svc
    svc.stop()


def modal_env(sim, **extra) -> dict:
    """The client environment: the real CLI pointed at the stand-in, nothing else of Modal's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env.update(
        MODAL_SERVER_URL=sim["modal_server_url"],
        MODAL_TOKEN_ID="ak-test",
        MODAL_TOKEN_SECRET="as-test",
        COLUMNS="10000",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
        PYTHONUTF8="1",
        # basic_app.py's Secret.from_local_environ needs it whenever the app is loaded.
        SIM_SECRET=SECRET_VALUE,
    )
    env.update(extra)
    return env


def start(sim, *args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [str(MODAL), *args],
        cwd=APPS,
        env=modal_env(sim, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def modal(sim, *args, **env) -> tuple[int, str, str]:
    return finish(start(sim, *args, **env))


def read_until(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> list[str]:
    """Reads the client's stdout line by line until a line contains `pattern` (bounded)."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if pattern in line:
            return lines
    raise AssertionError(f"no line with {pattern!r} in client output:\n{''.join(lines)}")


def tasks(sim, app_id: str) -> list[dict]:
    path = sim.extra["state"] / "tasks.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if r["app_id"] == app_id]


def app_record(sim, app_id: str) -> dict:
    return json.loads((sim.extra["state"] / "apps" / f"{app_id}.json").read_text())


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def wait_state(sim, app_id: str, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        record = app_record(sim, app_id)
        if record["state"] == state or time.monotonic() > deadline:
            return record
        time.sleep(0.1)


def check_framing(out: str, functions: list[str]) -> str:
    """Checks the transcript shape of a run; returns the app id."""
    lines = out.splitlines()
    assert lines[0].startswith("✓ Initialized. View run at https://modal.com/apps/"), out
    app_id = APP_ID.search(lines[0]).group(0)
    # Image build logs come while objects are created (here: the stand-in's notes on each step).
    build_logs = 1
    while lines[build_logs].startswith("modal-sim: "):
        build_logs += 1
    assert lines[build_logs] == "✓ Created objects.", out
    for fn in functions:
        assert re.search(rf"^[├└]── ✓ Created Function {fn}\.$", out, re.M), out
    return app_id


def test_function_outcomes(modal_sim):
    """Secret, shipped module, forgotten module, raise, timeout and retries, concurrently."""
    runs = {
        "secret": start(modal_sim, "run", "basic_app.py::secret_check", LEAK_ME="1"),
        "helper": start(modal_sim, "run", "basic_app.py::main", "--n", "3"),
        "forgot": start(modal_sim, "run", "forgot_app.py::uses_helper", "--x", "2"),
        "boom": start(modal_sim, "run", "basic_app.py::boom"),
        "boom_entry": start(modal_sim, "run", "basic_app.py::boom_entry"),
        "timeout": start(modal_sim, "run", "basic_app.py::sleepy"),
        "retries": start(modal_sim, "run", "basic_app.py::always_fails"),
        "usage": start(modal_sim, "run", "basic_app.py::main", "--no-such-flag"),
    }
    results = {name: finish(proc) for name, proc in runs.items()}

    rc, out, err = results["secret"]
    assert rc == 0, err
    app_id = check_framing(out, ["read_secret", "uses_helper", "boom", "sleepy"])
    assert "├── ✓ Uploaded PythonPackage:helper" in out
    # What the stand-in cannot install it checks on the host, and says it skipped.
    assert re.search(
        r"^modal-sim: skipped: RUN apt-get install -y git git-lfs \(installed", out, re.M
    )
    assert re.search(
        r"^modal-sim: skipped: RUN python -m pip install huggingface_hub==2\.4\.0 +\(satisfied",
        out,
        re.M,
    ), out
    assert out.splitlines()[-1] == f"✓ App completed. View run at {app_record_url(app_id)}"
    seen = json_lines(out)[0]["read_secret"]
    assert seen["secret"] == SECRET_VALUE
    assert seen["image_env"] == "from the image"
    assert seen["leaked"] == [], "client variables must not reach the container"
    assert seen["files"] == ["basic_app.py", "helper.py"], "only shipped files in the container"
    assert "container sees SIM_SECRET: True" in out
    # Secret values stay in memory: nothing in the state directory holds them.
    for path in modal_sim.extra["state"].rglob("*"):
        if path.is_file() and "scratch" not in path.parts:
            assert SECRET_VALUE.encode() not in path.read_bytes(), path

    rc, out, err = results["helper"]
    assert rc == 0, err
    assert {"doubled": [0, 2, 4]} in json_lines(out)
    assert [line for line in out.splitlines() if line.startswith("line ")] != []

    rc, out, err = results["forgot"]
    assert rc == 1
    assert "ModuleNotFoundError: No module named 'helper'" in out
    assert err.strip().splitlines()[-1] == "Error: No module named 'helper'"
    assert "App completed" not in out

    rc, out, err = results["boom"]
    assert rc == 1
    assert err.strip() == "Error: boom"
    assert "Traceback (most recent call last):" in out and "ValueError: boom" in out

    rc, out, err = results["boom_entry"]
    assert rc == 1
    assert "Traceback (most recent call last)" in err and "in boom_entry" in err
    assert err.strip().splitlines()[-1] == "ValueError: boom"
    assert "App completed" not in out

    rc, out, err = results["timeout"]
    assert rc == 1
    assert "sleeping" in out
    assert re.search(r"^Error: Task's current input in-\w+ hit its timeout of 2s$", err, re.M), err
    app_id = APP_ID.search(out).group(0)
    assert [t["killed"] for t in tasks(modal_sim, app_id) if t["function"] == "sleepy"] == [
        "timeout"
    ]

    rc, out, err = results["retries"]
    assert rc == 1 and "Error: still broken" in err
    app_id = APP_ID.search(out).group(0)
    attempts = [t["attempt"] for t in tasks(modal_sim, app_id) if t["function"] == "always_fails"]
    assert attempts == [0, 1, 2], "retries=2 means three attempts"

    rc, out, err = results["usage"]
    assert rc == 2 and "No such option" in err


def app_record_url(app_id: str) -> str:
    return f"https://modal.com/apps/modal-sim/main/{app_id}"


def test_recorded_settings(modal_sim):
    rc, out, err = modal(modal_sim, "run", "basic_app.py::main", "--n", "1")
    assert rc == 0, err
    record = app_record(modal_sim, APP_ID.search(out).group(0))
    assert record["description"] == "modalsim-basic"
    assert record["state"] == "stopped"
    fn = record["functions"]["uses_helper"]
    assert fn["cpu"] == 2.0
    assert fn["memory_mb"] == 1024
    assert fn["ephemeral_disk_mb"] == 10240
    assert fn["max_containers"] == 3
    assert fn["timeout"] == 120
    assert fn["retries"]["retries"] == 2
    assert {"git", "git-lfs"} <= set(fn["image"]["apt_packages"])
    assert "huggingface_hub==2.4.0" in fn["image"]["pip_packages"]
    assert fn["image"]["dockerfile_commands"][0].startswith("FROM python:3.11")
    assert fn["shipped_files"] == ["/root/basic_app.py", "/root/helper.py"]
    assert fn["image"]["env"] == {"SIM_IMAGE_ENV": "from the image"}
    assert record["functions"]["read_secret"]["secrets"][0]["keys"] == ["SIM_SECRET"]
    assert record["functions"]["sleepy"]["timeout"] == 2


def test_fanout_respects_max_containers(modal_sim):
    rc, out, err = modal(modal_sim, "run", "fanout_app.py::fanout", "--n", "20")
    assert rc == 0, err
    assert {"results": [x * x for x in range(20)]} in json_lines(out)
    squares = sorted(d["square"] for d in json_lines(out) if "square" in d)
    assert squares == list(range(20)), "every container's output streams back"
    app_id = APP_ID.search(out).group(0)
    # The time-ranged fetch path (AppCountLogs + AppFetchLogs) sees the same whole lines.
    rc, logs, err = modal(modal_sim, "app", "logs", app_id, "--since", "1h")
    assert rc == 0, err
    assert sorted(d["square"] for d in json_lines(logs)) == list(range(20))
    records = [t for t in tasks(modal_sim, app_id) if t["function"] == "square"]
    assert len(records) == 20
    peak = peak_overlap(records)
    assert 1 <= peak <= 3, f"max_containers=3 but {peak} containers overlapped"


def peak_overlap(records: list[dict]) -> int:
    """Most containers alive at once, from recorded [started_at, ended_at] intervals."""
    events = sorted(
        [(r["started_at"], 1) for r in records] + [(r["ended_at"], -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_detached_run_survives_sigkill_and_logs_follow(modal_sim):
    proc = start(modal_sim, "run", "--detach", "fanout_app.py::detached", "--n", "4", "--block")
    head = read_until(proc, '"function_call_id"')
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert head[0].startswith("Note that running a local entrypoint in detached mode")
    app_id = json.loads(next(line for line in head if "modal_app_id" in line))["modal_app_id"]
    killed_at = time.time()

    # `-f` follows from the moment it connects (this stand-in does not replay) until the app is
    # done; the whole history is then read by time range.
    rc, out, err = modal(modal_sim, "app", "logs", app_id, "-f")
    assert rc == 0, err
    record = wait_state(modal_sim, app_id, "stopped")
    assert record["state"] == "stopped"
    rc, out, err = modal(modal_sim, "app", "logs", app_id, "--since", "10m")
    assert rc == 0, err
    events = json_lines(out)
    assert {"orchestrated": [0, 1, 4, 9, "error: negative input -1"]} in events
    assert {"square": 100} in events and {"square": 101} in events  # spawn_map in the container
    assert "ValueError: negative input -1" in out
    assert out.index('"orchestrate"') < out.index('"orchestrated"')
    records = tasks(modal_sim, app_id)
    assert max(t["ended_at"] for t in records) > killed_at
    orchestrator = next(t for t in records if t["function"] == "orchestrate")
    nested = [t for t in records if t["parent_input_id"] == orchestrator["input_id"]]
    assert len(nested) == 7, "map of 5 + spawn_map of 2 from inside the container"

    rc, out, err = modal(modal_sim, "app", "logs", app_id)
    assert rc == 0 and '"orchestrated"' in out


def test_sigint_without_detach_stops_calls(modal_sim):
    proc = start(modal_sim, "run", "fanout_app.py::hold", "--label", "attached")
    head = read_until(proc, '"phase": "started"')
    app_id = APP_ID.search(head[0]).group(0)
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert "Disconnecting from Modal - This will terminate your Modal app in a few seconds." in out
    assert out.splitlines()[-1] == f"✓ App aborted. View run at {app_record_url(app_id)}"
    assert wait_state(modal_sim, app_id, "stopped")["state"] == "stopped"
    assert [t["killed"] for t in tasks(modal_sim, app_id)] == ["stopped"]
    assert '"finished"' not in out


def test_detached_sigint_then_app_stop(modal_sim):
    proc = start(modal_sim, "run", "--detach", "fanout_app.py::hold", "--label", "detached")
    head = read_until(proc, '"phase": "started"')
    app_id = APP_ID.search("".join(head)).group(0)
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert "✓ Shutting down Modal client." in out
    assert (
        f"Stream App logs:\nmodal app logs {app_id}\n\nStop the App:\nmodal app stop {app_id}"
        in out
    )

    rc, out, err = modal(modal_sim, "app", "list", "--json")
    assert rc == 0, err
    listed = {a["app_id"]: a for a in json.loads(out)}
    assert listed[app_id]["state"] == "ephemeral (detached)"
    assert listed[app_id]["tasks"] == "1"
    assert listed[app_id]["stopped_at"] is None

    rc, out, err = modal(modal_sim, "app", "stop", app_id, "-y")
    assert rc == 0, err
    assert wait_state(modal_sim, app_id, "stopped")["state"] == "stopped"
    assert [t["killed"] for t in tasks(modal_sim, app_id)] == ["stopped"]
    rc, out, err = modal(modal_sim, "app", "list", "--json")
    listed = {a["app_id"]: a for a in json.loads(out)}
    assert listed[app_id]["state"] == "stopped" and listed[app_id]["stopped_at"]


def test_sigkill_without_detach_stops_calls(modal_sim):
    """The client vanishing (no disconnect RPC) ends an attached app, as missed heartbeats do."""
    proc = start(modal_sim, "run", "fanout_app.py::hold", "--label", "killed")
    head = read_until(proc, '"phase": "started"')
    app_id = APP_ID.search(head[0]).group(0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert wait_state(modal_sim, app_id, "stopped")["state"] == "stopped"
    assert [t["killed"] for t in tasks(modal_sim, app_id)] == ["stopped"]


def test_payloads_files_and_call_handles(modal_sim, tmp_path):
    """Blob-sized arguments/results/files, add_local_file/dir, starmap, FunctionCall.from_id."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    rc, out, err = modal(modal_sim, "run", "payload_app.py::main", SIM_BIG_FILE=str(big))
    assert rc == 0, err
    assert "├── ✓ Uploaded " + str(APPS / "data_dir") in out
    assert json_lines(out)[0] == {
        "arg_ok": True,
        "big_ok": True,
        "echo_len": 3 * 1024 * 1024,
        "shipped": ["big.bin", "data/note.txt", "data/sub/conf.json", "payload_app.py"],
        "starmap": [3, 7],
        "from_id": 42,
    }


def test_global_container_cap(tmp_path):
    """`--max-containers N` caps running containers across all functions and apps."""
    with world.start_modal_sim(tmp_path / "capped" / "state", ["--max-containers", "2"]) as sim:
        sim.extra["state"] = tmp_path / "capped" / "state"
        rc, out, err = modal(sim, "run", "fanout_app.py::fanout", "--n", "6")
        assert rc == 0, err
        records = tasks(sim, APP_ID.search(out).group(0))
    assert len(records) == 6
    assert peak_overlap(records) <= 2


def test_token_info(modal_sim):
    rc, out, err = modal(modal_sim, "token", "info")
    assert rc == 0, err
    assert "Token: ak-test" in out
    assert "Workspace: modal-sim" in out


def test_credentials_that_are_not_a_token_pair_are_refused(modal_sim):
    for args in (("token", "info"), ("run", "basic_app.py::main", "--n", "1"), ("app", "list")):
        rc, out, err = modal(modal_sim, *args, MODAL_TOKEN_SECRET="not-a-secret")
        assert rc != 0, (args, out)
        assert "Token ID or secret is invalid" in out + err, (args, out, err)


def wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def follows_started(sim, app_id: str) -> int:
    log = (sim.extra["state"] / "rpc.log").read_text()
    return sum(1 for line in log.splitlines() if f"AppGetLogs.start {app_id}" in line)


def log_lines(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(prefix)]


def test_logs_tail_range_and_follow_from_now(modal_sim, tmp_path):
    """The options as the pinned client sends them: the last 100 entries by default, `--tail N`,
    `--since` (a count-then-fetch over time buckets), and `-f` from the moment it connects."""
    gate, ready = tmp_path / "gate", tmp_path / "ready"
    rc, out, err = modal(
        modal_sim,
        "run",
        "--detach",
        "chatty_app.py::main",
        "--per-burst",
        "250",
        "--after",
        "3",
        "--gate",
        str(gate),
        "--ready",
        str(ready),
    )
    assert rc == 0, err
    app_id = json_lines(out)[0]["modal_app_id"]
    wait_for(ready.exists, "the function to print its first lines")
    wait_for(
        lambda: "before 249" in modal(modal_sim, "app", "logs", app_id, "--tail", "1")[1],
        "the stand-in to hold the first lines",
    )

    queries = {
        "default": start(modal_sim, "app", "logs", app_id),
        "tail": start(modal_sim, "app", "logs", app_id, "--tail", "7"),
        "since": start(modal_sim, "app", "logs", app_id, "--since", "10m"),
        "before_app": start(modal_sim, "app", "logs", app_id, "--since", "10m", "--until", "9m"),
        "follow_tail": start(modal_sim, "app", "logs", app_id, "-f", "--tail", "5"),
    }
    got = {name: finish(proc) for name, proc in queries.items()}
    assert got["default"][0] == 0, got["default"][2]
    assert log_lines(got["default"][1], "before") == [f"before {i}" for i in range(150, 250)]
    assert log_lines(got["tail"][1], "before") == [f"before {i}" for i in range(243, 250)]
    assert log_lines(got["since"][1], "before") == [f"before {i}" for i in range(250)]
    assert got["before_app"][0] == 0 and not log_lines(got["before_app"][1], "before")
    assert got["follow_tail"][0] == 2 and "--follow cannot be combined" in got["follow_tail"][2]

    before = follows_started(modal_sim, app_id)  # `modal run` itself followed from its start
    follower = start(modal_sim, "app", "logs", app_id, "-f")
    wait_for(lambda: follows_started(modal_sim, app_id) > before, "`modal app logs -f` to connect")
    gate.write_text("open")
    rc, out, err = finish(follower)
    assert rc == 0, err
    assert not log_lines(out, "before"), "this stand-in's -f does not replay history"
    assert log_lines(out, "after") == ["after 0", "after 1", "after 2"]

    rc, out, err = modal(modal_sim, "app", "logs", app_id, "--since", "10m")
    assert log_lines(out, "before") == [f"before {i}" for i in range(250)]
    assert log_lines(out, "after") == ["after 0", "after 1", "after 2"]


def test_logs_past_one_fetch_limit_by_time_range(modal_sim):
    """30000 entries (more than one AppFetchLogs may return): the client refines its time buckets
    until each interval fits, and gets every line in order."""
    rc, out, err = modal(
        modal_sim, "run", "--detach", "chatty_app.py::main", "--bursts", "3", "--per-burst", "10000"
    )
    assert rc == 0, err
    app_id = json_lines(out)[0]["modal_app_id"]
    assert wait_state(modal_sim, app_id, "stopped", timeout=60)["state"] == "stopped"
    rc, out, err = modal(modal_sim, "app", "logs", app_id, "--since", "10m")
    assert rc == 0, err
    assert log_lines(out, "before") == [f"before {i}" for i in range(30000)]
    rc, out, err = modal(modal_sim, "app", "logs", app_id, "--tail", "20000")
    assert log_lines(out, "before") == [f"before {i}" for i in range(10000, 30000)]


def test_logs_follow_replays_when_the_server_does(tmp_path):
    sim = world.start_modal_sim(tmp_path / "state", ["--logs-follow-replays"])
    sim.extra["state"] = tmp_path / "state"
    try:
        rc, out, err = modal(sim, "run", "--detach", "chatty_app.py::main", "--per-burst", "150")
        assert rc == 0, err
        app_id = json_lines(out)[0]["modal_app_id"]
        assert wait_state(sim, app_id, "stopped")["state"] == "stopped"
        rc, out, err = modal(sim, "app", "logs", app_id, "-f")
        assert rc == 0, err
        assert log_lines(out, "before") == [f"before {i}" for i in range(150)]
    finally:
        sim.stop()


def test_image_build_steps_take_effect_in_every_container(modal_sim, sandbox, tmp_path):
    """`run_commands("git lfs install")` runs once in the image, and its ~/.gitconfig is in each
    container: the pull yields the real weights, where the same image without it yields pointers."""
    from hf_client import clone_url, run_hf, sha256

    weights = os.urandom(300_000)
    (tmp_path / "w.safetensors").write_bytes(weights)
    run_hf(
        sandbox,
        """
        api.create_repo("alice/lfs-in-image")
        api.upload_file(path_or_fileobj=A["file"], path_in_repo="w.safetensors",
                        repo_id="alice/lfs-in-image")
        out(True)
        """,
        {"file": str(tmp_path / "w.safetensors")},
    )
    url = clone_url(sandbox, "alice/lfs-in-image", token=None)
    rc, out, err = modal(modal_sim, "run", "lfs_app.py", "--url", url, "--path", "w.safetensors")
    assert rc == 0, err
    assert "modal-sim: running: RUN git lfs install" in out
    assert re.search(r"modal-sim: skipped: RUN apt-get install -y git git-lfs .*installed", out)
    got = json_lines(out)[-1]
    assert got["with_lfs"]["gitconfig"] and got["with_lfs"]["sha256"] == sha256(weights)
    assert got["with_lfs"]["size"] == len(weights)
    assert not got["bare"]["gitconfig"] and got["bare"]["size"] < 200, "a pointer, not weights"
    assert "Git LFS is not installed" in got["bare"]["pull_output"]

    app_id = APP_ID.search(out).group(0)
    images = [
        json.loads(p.read_text()) for p in (modal_sim.extra["state"] / "images").glob("*.json")
    ]
    ran = [
        s
        for i in images
        if i["app_id"] == app_id
        for s in i.get("steps", [])
        if s["action"] == "ran"
    ]
    assert [s["command"] for s in ran] == [
        "RUN git lfs install",
        "RUN git config --global lfs.locksverify false",
    ], ran
    assert all(s["exit_code"] == 0 for s in ran)


def test_an_image_step_the_stand_in_cannot_take_fails_the_build(modal_sim):
    rc, out, err = modal(modal_sim, "run", "refused_app.py")
    assert rc == 1
    assert "Image build for im-" in err and "failed with the exception" in err, err
    assert "hubferry-no-such-package" in err
    assert "ran without its image" not in out
