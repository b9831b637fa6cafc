"""hubferry reads the token `modelscope login` saved, as the SDK does, when no variable names one.

The login is made by the pinned `modelscope` CLI against the hub sandbox (it checks the token with
`POST /api/v1/login` and keeps the session cookie the answer sets); hubferry then runs with
`MODELSCOPE_API_TOKEN` unset. The token value is a canary: it must not appear in any output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import world

BINARY = world.ROOT / "target" / "release" / "hubferry"
MODELSCOPE = world.ROOT / ".venv" / "bin" / "modelscope"
TOKEN = world.MS_USERS["alice"]


def base_env(sandbox, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox, token=None),
        "MODELSCOPE_HOME": str(tmp_path / "msconfig"),
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "HUBFERRY_PYTHON": str(world.PYTHON),
        "NO_COLOR": "1",
    }
    for var in ("MODELSCOPE_API_TOKEN", "MODELSCOPE_TOKEN"):
        env.pop(var, None)
    return env


def modelscope_login(env: dict) -> None:
    out = subprocess.run(
        [str(MODELSCOPE), "login", "--token", TOKEN],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (Path(env["MODELSCOPE_HOME"]) / "credentials" / "cookies").is_file()


def hubferry(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(BINARY), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert TOKEN not in out.stdout + out.stderr, "the saved token leaked into hubferry's output"
    return out


def doctor_check(out: subprocess.CompletedProcess) -> dict:
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    return next(c for c in lines if c.get("type") == "check" and c["name"] == "modelscope token")


def test_doctor_and_a_migration_use_the_saved_login(sandbox, tmp_path):
    env = base_env(sandbox, tmp_path)
    modelscope_login(env)
    check = doctor_check(hubferry(env, "doctor", "--no-modal", "--json"))
    assert check["ok"], check
    assert "alice" in check["detail"] and "`modelscope login`" in check["detail"], check

    subprocess.run(
        [str(world.PYTHON), str(world.ROOT / "tests/it/support/seed.py"), "--platform", "hf"]
        + ["--repo-id", "alice/saved-login", "--lfs-mb", "0.05"],
        env={**env, "HF_TOKEN": world.HF_USERS["alice"]},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    out = hubferry(env, "migrate", "hf:alice/saved-login", "--backend", "local", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["type"] == "report" and report["verified"], report
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


def test_an_empty_variable_turns_the_saved_login_off_and_an_expired_one_is_named(sandbox, tmp_path):
    env = base_env(sandbox, tmp_path)
    modelscope_login(env)
    check = doctor_check(
        hubferry({**env, "MODELSCOPE_API_TOKEN": ""}, "doctor", "--no-modal", "--json")
    )
    assert not check["ok"] and "no ModelScope token" in check["detail"], check

    # The SDK's own config object rewrites the jar with the cookie already expired.
    expire = (
        "import time\n"
        "from modelscope_hub.config import HubConfig\n"
        "c = HubConfig()\n"
        "jar = c.load_cookies()\n"
        "for cookie in jar:\n"
        "    cookie.expires = int(time.time()) - 60\n"
        "c.save_cookies(jar)\n"
        "assert HubConfig().token is None\n"
    )
    subprocess.run([str(world.PYTHON), "-c", expire], env=env, check=True)
    check = doctor_check(hubferry(env, "doctor", "--no-modal", "--json"))
    assert not check["ok"] and "has expired" in check["detail"], check
