"""The hubferry binary on a real terminal (a pty): Ctrl-C typed over live progress bars.

The terminal echoes `^C` where the cursor is; over a bar padded to the full width that wraps a line
and leaves a stale bar on screen. hubferry turns that echo off while bars are drawn and must give
the terminal back exactly as it found it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import termios
import time

import world

BINARY = world.ROOT / "target" / "release" / "hubferry"


def read_until(fd: int, buf: bytearray, needle: bytes | None, timeout: float) -> bool:
    """Reads the pty into buf until needle shows (True) or the child side closes (False)."""
    deadline = time.monotonic() + timeout
    while needle is None or needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {needle!r}; output so far:\n{bytes(buf)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every slave fd is closed
            return False
        if not chunk:
            return False
        buf += chunk
    return True


def test_ctrl_c_over_progress_bars_echoes_nothing_and_restores_the_terminal(sandbox, tmp_path):
    env = {
        **os.environ,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "HUBFERRY_STATE_DIR": str(tmp_path / "state"),
        "PATH": f"{world.ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "TERM": "xterm",
    }
    env.pop("NO_COLOR", None)
    subprocess.run(
        [str(world.PYTHON), str(world.ROOT / "tests/it/support/seed.py"), "--platform", "hf"]
        + ["--repo-id", "alice/tty-model", "--lfs-mb", "1"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # The big file's download hangs, so the bars are up when Ctrl-C comes.
    world.admin(
        sandbox,
        "/faults",
        {
            "kind": "latency",
            "ms": 60000,
            "platform": "hf",
            "method": "GET",
            "path": "tty-model/resolve/.*model\\.safetensors",
        },
    )
    argv = [str(BINARY), "migrate", "hf:alice/tty-model", "--backend", "local", "--yes"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin/stdout/stderr are the pty's slave side
        os.execve(argv[0], argv, env)
    try:
        termios.tcsetwinsize(fd, (24, 80))
        before = termios.tcgetattr(fd)
        assert before[3] & termios.ECHOCTL, "a fresh pty echoes control characters"
        out = bytearray()
        read_until(fd, out, b"total [", timeout=60)
        during = termios.tcgetattr(fd)
        os.write(fd, b"\x03")
        read_until(fd, out, None, timeout=60)
        _, status = os.waitpid(pid, 0)
        pid = 0
        after = termios.tcgetattr(fd)
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    text = bytes(out).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert "interrupted" in text, text
    assert not during[3] & termios.ECHOCTL, "control echo stays on while bars are drawn"
    assert "^C" not in text, text
    assert after == before, "the terminal settings were not restored"
