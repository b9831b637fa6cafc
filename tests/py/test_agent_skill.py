"""The agent plugin (agent/): the skill's front matter against the Agent Skills rules, the
manifests, and every command line of the skill's `bash` blocks run against the offline world, so
the skill cannot drift from the CLI."""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import mcp_harness as h
import pytest
import schema_check
import world
import yaml
from huggingface_hub import HfApi

AGENT = world.ROOT / "agent"
SKILL = AGENT / "skills" / "migrate" / "SKILL.md"
# Agent Skills: 1–64 of a-z, 0-9 and single hyphens inside; the optional keys the format defines.
NAME_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SKILL_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}

modal_sim = pytest.fixture(scope="module")(h.start_modal_sim)


def front_matter(text: str) -> dict:
    assert text.startswith("---\n"), "SKILL.md must open with YAML front matter"
    block = text[4:].split("\n---\n", 1)[0]
    return yaml.safe_load(block)


def bash_commands(text: str) -> list[str]:
    """Every command line of the fenced bash blocks (comments and blank lines aside)."""
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_front_matter_follows_the_agent_skills_rules():
    fm = front_matter(SKILL.read_text())
    assert set(fm) <= SKILL_KEYS, set(fm) - SKILL_KEYS
    name, description = fm["name"], fm["description"]
    assert isinstance(name, str) and 1 <= len(name) <= 64 and NAME_RULE.match(name), name
    assert name == SKILL.parent.name, "the name must equal the skill's folder name"
    assert isinstance(description, str) and 1 <= len(description) <= 1024, len(description)
    for phrase in (
        "move this model to ModelScope",
        "migrate in background",
        "batch migrate",
        "mirror all my datasets",
        "nightly sync",
        "clean up my org",
    ):
        assert phrase in description, phrase


def test_the_manifests_name_the_plugin_and_register_the_mcp_server():
    claude = json.loads((AGENT / ".claude-plugin" / "plugin.json").read_text())
    codex = json.loads((AGENT / ".codex-plugin" / "plugin.json").read_text())
    for manifest in (claude, codex):
        assert NAME_RULE.match(manifest["name"]) and manifest["description"]
    assert (AGENT / codex["skills"] / "migrate" / "SKILL.md").is_file()
    mcp = json.loads((AGENT / codex["mcpServers"]).read_text())
    assert mcp == json.loads((AGENT / ".mcp.json").read_text())
    assert mcp["mcpServers"]["hubferry"] == {"command": "hubferry", "args": ["mcp"]}
    assert sorted(p.name for p in (AGENT / ".codex-plugin").iterdir()) == ["plugin.json"]


def test_every_command_line_of_the_skill_runs_against_the_sandbox(sandbox, modal_sim, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    env = {**h.hubferry_env(sandbox, modal_sim, state), "HUBFERRY_MS_ORGS": "acme-ms"}
    h.seed(env, "hf", "alice/skill-model", "--lfs-mb", "0.2")
    h.seed(env, "hf", "alice/skill-batch", "--lfs-mb", "0.1", "--seed", "2")
    repos = tmp_path / "repos.txt"
    repos.write_text("# source, then its own destination\nhf:alice/skill-batch acme-ms/skill-b\n")
    mirrors = tmp_path / "mirrors.toml"
    mirrors.write_text(
        '[[mirror]]\nname = "skill"\nsource = "hf:alice/skill-model"\n'
        'dest = "ms:alice/skill-model"\nbackend = "local"\n'
    )
    values = {
        "ns": "alice",
        "name": "skill-model",
        "dest_ns": "acme-ms",
        "repos_file": str(repos),
        "mirrors_file": str(mirrors),
        "plan_file": str(tmp_path / "plan.jsonl"),
        "local_dir": str(tmp_path / "copy"),
    }
    commands = bash_commands(SKILL.read_text())
    assert len(commands) >= 15, commands
    finals: list[tuple[str, dict]] = []
    validated: set[str] = set()
    for command in commands:
        assert command.startswith("hubferry "), command
        unknown = set(re.findall(r"\{([a-z_]+)\}", command)) - set(values) - {"run_id"}
        assert not unknown, f"placeholder the test cannot fill: {unknown} in {command}"
        argv = shlex.split(re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)], command))
        # `… > FILE`: the one shell construct the skill uses, stdout kept for a later command.
        redirect = None
        if ">" in argv:
            at = argv.index(">")
            assert at == len(argv) - 2, f"only a final `> FILE` is supported: {command}"
            argv, redirect = argv[:at], argv[at + 1]
        # An attached migration would move data: preview it (the detached one runs on the stand-in).
        if argv[1] == "migrate" and not {"--dry-run", "--detach"} & set(argv):
            argv.append("--dry-run")
        out = subprocess.run(
            [str(h.BINARY), *argv[1:]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 0, f"{command}\n{out.stdout}\n{out.stderr}"
        objects = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        assert objects, f"{command}: no JSON on stdout"
        if redirect:
            with open(redirect, "w") as f:
                f.write(out.stdout)
        validated.update(map(schema_check.validate, objects))
        for canary in h.CANARIES:
            assert canary not in out.stdout + out.stderr, command
        if "--detach" in argv:
            values["run_id"] = objects[-1]["run_id"]
        finals.append((command, objects[-1]))

    assert {
        "plan",
        "report",
        "event",
        "check",
        "doctor",
        "revisions",
        "org-plan-line",
        "batch_report",
        "download",
    } <= validated, validated
    kinds = {command: final.get("type") for command, final in finals}
    doctor = dict(finals)["hubferry doctor --json"]
    assert doctor["type"] == "doctor" and doctor["ok"] is True
    assert (doctor["hf"]["user"], doctor["hf"]["endpoint"]) == ("alice", sandbox["hf_endpoint"])
    assert "acme" in doctor["hf"]["organizations"]
    assert doctor["modelscope"]["user"] == "alice"
    assert doctor["modelscope"]["organizations"] == ["acme-ms"]
    # As `modal token info` prints them: the name, then the id in parentheses.
    assert doctor["modal"]["workspace"].startswith("modal-sim ("), doctor["modal"]
    assert doctor["modal"]["user"].startswith("modal-sim-user ("), doctor["modal"]
    assert set(doctor["tools"]) == {"modal", "git", "git-lfs", "python"}
    assert doctor["tools"]["git"]["version"].startswith("git version"), doctor["tools"]
    assert doctor["tools"]["python"]["version"].startswith("Python 3"), doctor["tools"]
    assert kinds["hubferry migrate hf:{ns}/{name} --json"] == "plan"
    assert kinds["hubferry migrate hf:{ns}/{name} --detach --json"] == "detached"
    followed = dict(finals)["hubferry logs {run_id} -f --json"]
    assert (followed["type"], followed["verified"]) == ("report", True), followed
    batch = dict(finals)["hubferry batch --from-file {repos_file} --json"]
    assert batch["type"] == "batch_report" and "acme-ms/skill-b" in batch["repos"][0]["dest"]
    assert batch["repos"][0]["verified"] is True, batch
    within = next(final for command, final in finals if "--within" in command)
    assert within["estimate"]["within_s"] == 1800 and within["estimate"]["chunk_choice"], within
    refs = dict(finals)["hubferry migrate hf:{ns}/{name} --revisions all --dry-run --json"]
    assert refs["type"] == "revisions" and refs["refs"][0]["dest_name"] == "master", refs
    planned = next(final for command, final in finals if command.startswith("hubferry plan "))
    assert (planned["source"], planned["dest"], planned["action"]) == (
        "hf:alice/skill-model",
        "ms:acme-ms/skill-model",
        "create",
    ), planned
    applied = dict(finals)["hubferry apply {plan_file} --json"]
    assert (applied["type"], applied["repos_ok"], applied["repos"][0]["verified"]) == (
        "apply_report",
        1,
        True,
    ), applied
    assert dict(finals)["hubferry verify hf:{ns}/{name} ms:{ns}/{name} --json"]["ok"] is True
    local = dict(finals)["hubferry download ms:{ns}/{name} --local-dir {local_dir} --json"]
    assert (local["status"], local["verified"]) == ("done", True), local
    assert (tmp_path / "copy" / "README.md").is_file(), sorted((tmp_path / "copy").iterdir())
    retired = finals[-1][1]
    assert (retired["type"], retired["deleted"], retired["verified"]) == ("retire", True, True)
    hf = HfApi(endpoint=sandbox["hf_endpoint"], token=world.HF_USERS["alice"])
    assert not hf.repo_exists("alice/skill-model"), "the retire with --confirm deleted the source"
