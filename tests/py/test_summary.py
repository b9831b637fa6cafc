"""The GitHub Action (action.yml) run the way the runner runs a composite action: each step's
`run:` script in bash with its `env:` (inputs substituted), the variables GitHub sets
(GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, GITHUB_PATH, RUNNER_TEMP) and GITHUB_PATH's entries put
in front of PATH for the next step. Then the job summary and the annotations are checked.

The runner is offline here, as after a restored cache: the action's virtualenv already holds
hubferry from the wheel built from this checkout, so its `pip install` finds the version
installed (pip is told to use no index and the wheel's directory only).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import world
import yaml
from wheel_install import CRATE_VERSION, build_wheel, install, run

ACTION = world.ROOT / "action.yml"
SEED = world.ROOT / "tests" / "it" / "support" / "seed.py"


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """RUNNER_TEMP with the action's virtualenv already in place, and the wheel's directory."""
    temp = tmp_path_factory.mktemp("runner-temp")
    wheel = build_wheel()
    install(temp / "hubferry-venv", wheel, with_pip=True)
    return temp, wheel.parent


def run_action(inputs: dict, env: dict, workdir) -> tuple[list[subprocess.CompletedProcess], dict]:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    values = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | inputs
    results = []
    for step in action["runs"]["steps"]:
        step_env = {}
        for key, value in step.get("env", {}).items():
            step_env[key] = re.sub(
                r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], str(value)
            )
        assert "${{" not in step["run"], "inputs reach scripts through env only"
        added = (workdir / "github_path").read_text().split() if env.get("GITHUB_PATH") else []
        path = ":".join([*reversed(added), env["PATH"]])
        out = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=workdir,
            env={**env, **step_env, "PATH": path},
            stdin=subprocess.DEVNULL,
        )
        results.append(out)
        if out.returncode != 0:
            break
    return results, values


def test_action_installs_hubferry_runs_sync_and_writes_the_summary(
    sandbox, runner, isolated_home, tmp_path
):
    temp, dist = runner
    work = tmp_path / "workspace"
    work.mkdir()
    seed_env = {**os.environ, **world.hf_env(sandbox)}
    seeded = subprocess.run(
        [str(world.PYTHON), str(SEED), "--platform", "hf", "--repo-id", "alice/action-model"]
        + ["--lfs-mb", "0.05"],
        env=seed_env,
        capture_output=True,
        text=True,
        check=True,
    )
    files = len(json.loads(seeded.stdout)["files"])
    (work / "mirrors.toml").write_text(
        '[[mirror]]\nname = "good"\nsource = "hf:alice/action-model"\n'
        'dest = "ms:alice/action-model"\nbackend = "local"\n\n'
        '[[mirror]]\nname = "gone"\nsource = "hf:alice/no-such-model"\n'
        'dest = "ms:alice/no-such-model"\nbackend = "local"\n'
    )
    summary = work / "step_summary.md"
    summary.write_text("earlier step's text\n")
    (work / "github_path").write_text("")
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("git", "git-lfs"):
        real = run(["sh", "-c", f"command -v {name}"]).stdout.strip()
        (tools / name).symlink_to(real)
    (tools / "python3").symlink_to(sys._base_executable)  # the runner image's Python
    env = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(isolated_home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_PATH": str(work / "github_path"),
        "GITHUB_WORKSPACE": str(work),
        "RUNNER_TEMP": str(temp),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(dist),
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
    }
    (install_step, sync_step), _ = run_action(
        {"version": CRATE_VERSION, "extras": "local"}, env, work
    )
    assert install_step.returncode == 0, install_step.stdout + install_step.stderr
    assert install_step.stdout.strip().endswith(f"hubferry {CRATE_VERSION}")
    assert (work / "github_path").read_text().strip() == str(temp / "hubferry-venv" / "bin")
    assert sync_step.returncode == 4, sync_step.stdout + sync_step.stderr

    text = summary.read_text()
    assert text.startswith("earlier step's text\n### hubferry sync: 2 mirrors, 1 failed\n"), text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| mirror | status | moved | skipped | verified | duration | link")
    good = next(r for r in rows if r.startswith("| good |"))
    cells = [c.strip() for c in good.strip("|").split("|")]
    assert cells[1] == "ok" and cells[2].startswith(f"{files} (") and cells[4] == "✅ yes", good
    assert "](" in cells[6] and "alice/action-model" in cells[6], good
    gone = next(r for r in rows if r.startswith("| gone |"))
    assert "| error |" in gone and "❌ no" in gone, gone
    assert "- **gone**: " in text and "no-such-model" in text.split("- **gone**: ")[1], text

    errors = [line for line in sync_step.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and errors[0].startswith(
        "::error title=hubferry%3A gone::gone: error"
    ), sync_step.stdout
    assert not any(line.startswith("::warning") for line in sync_step.stdout.splitlines())
    all_text = "\n".join(o.stdout + o.stderr for o in (install_step, sync_step)) + text
    secrets = [*world.HF_USERS.values(), *world.MS_USERS.values()]
    assert not [s for s in secrets if s in all_text]


def test_json_output_stays_ndjson_with_annotations_on_stderr(sandbox, runner, tmp_path):
    temp, _ = runner
    config = tmp_path / "mirrors.toml"
    config.write_text(
        '[[mirror]]\nname = "gone"\nsource = "hf:alice/nothing-here"\n'
        'dest = "ms:alice/nothing-here"\nbackend = "local"\n'
    )
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "GITHUB_ACTIONS": "true",
        "NO_COLOR": "1",
    }
    binary = temp / "hubferry-venv" / "bin" / "hubferry"
    out = run([binary, "sync", "--config", config, "--json", "--summary", summary], env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    for line in out.stdout.splitlines():
        json.loads(line)
    assert "::error title=hubferry%3A gone::" in out.stderr, out.stderr
    assert "| gone | error |" in summary.read_text()


def test_parallel_migrate_summary_has_a_gantt_of_its_chunks(sandbox, isolated_home, tmp_path):
    env = {
        **os.environ,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "HOME": str(isolated_home),
        "HUBFERRY_PYTHON": str(world.PYTHON),
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "NO_COLOR": "1",
    }
    seeded = subprocess.run(
        [str(world.PYTHON), str(SEED), "--platform", "hf", "--repo-id", "alice/gantt-model"]
        + ["--lfs-mb", "0.05", "--extra-files", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert seeded.returncode == 0
    summary = tmp_path / "summary.md"
    binary = world.ROOT / "target" / "release" / "hubferry"
    argv = [binary, "migrate", "hf:alice/gantt-model", "--backend", "local", "--parallel"]
    argv += ["--chunk-size", "0.0000001", "--json", "--summary", summary]
    out = run(argv, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["chunks"] >= 3, report
    text = summary.read_text()
    assert "| hf:model:alice/gantt-model@main | ok |" in text, text
    gantt = text.split("```mermaid\n")[1].split("```")[0]
    assert gantt.startswith("gantt\n") and "dateFormat x" in gantt, gantt
    bars = re.findall(r"^  chunk (\d+) :done, c\d+, (\d+), (\d+)$", gantt, re.M)
    assert [int(b[0]) for b in bars] == list(range(1, report["chunks"] + 1)), gantt
    assert all(int(start) < int(end) for _, start, end in bars), gantt
