"""`hubferry apply` on a real terminal (a pty): one `apply` bar across the repositories (bytes of
the planned total, `N/M repos`) instead of the stderr lines a log gets (tests/it/org.rs checks
those and the NDJSON of `--json`)."""

from __future__ import annotations

import os
import subprocess
import termios

import world
from test_cli_terminal import BINARY, read_until, seeded_terminal_env


def test_apply_draws_one_bar_across_repositories_on_a_terminal(sandbox, tmp_path):
    env = seeded_terminal_env(sandbox, tmp_path, "alice/tty-apply-a", "--lfs-mb", "1")
    subprocess.run(
        [str(world.PYTHON), str(world.ROOT / "tests/it/support/seed.py"), "--platform", "hf"]
        + ["--repo-id", "alice/tty-apply-b", "--lfs-mb", "1", "--seed", "2"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    plan = subprocess.run(
        [str(BINARY), "plan", "hf:alice", "--to", "ms", "--match", "tty-apply-*"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    plan_file = tmp_path / "plan.jsonl"
    plan_file.write_text(plan.stdout)
    assert len(plan.stdout.splitlines()) == 2, plan.stdout + plan.stderr

    argv = [str(BINARY), "apply", str(plan_file), "--backend", "local", "--jobs", "2"]
    terminal, side = os.openpty()
    termios.tcsetwinsize(side, (24, 120))
    child = subprocess.Popen(argv, env=env, stdin=side, stdout=side, stderr=side)
    os.close(side)
    out = bytearray()
    try:
        read_until(terminal, out, None, timeout=120)
        code = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(terminal)
    text = bytes(out).decode("utf-8", "replace")
    assert code == 0, text
    assert "apply [" in text, text
    assert "/2 repos" in text, text
    # The bar replaces the lines a log gets.
    assert "repositories done" not in text, text
