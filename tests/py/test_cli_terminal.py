"""The hubferry binary on a real terminal (a pty): Ctrl-C typed over live progress bars, and a
`--parallel` run of many chunks on an 80×24 screen.

The terminal echoes `^C` where the cursor is; over a bar padded to the full width that wraps a line
and leaves a stale bar on screen. hubferry turns that echo off while bars are drawn and must give
the terminal back exactly as it found it.
"""

from __future__ import annotations

import os
import pty
import re
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


def seeded_terminal_env(sandbox, tmp_path, repo_id: str, *seed_args: str) -> dict:
    """The environment of hubferry on a colour terminal, with `repo_id` seeded on HF."""
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
        + ["--repo-id", repo_id, *seed_args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def test_ctrl_c_over_progress_bars_echoes_nothing_and_restores_the_terminal(sandbox, tmp_path):
    env = seeded_terminal_env(sandbox, tmp_path, "alice/tty-model", "--lfs-mb", "1")
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


class Screen:
    """The visible rows of an 80×24 terminal fed the bytes hubferry writes: enough of VT100 for
    indicatif and console (cursor up/down/column, erase line/screen, SGR ignored, scrolling at the
    bottom, wrapping at the right margin)."""

    CSI = re.compile(rb"\x1b\[([?0-9;]*)([A-Za-z])")

    def __init__(self, rows: int = 24, cols: int = 80):
        self.rows, self.cols = rows, cols
        self.lines = [[] for _ in range(rows)]
        self.row = self.col = 0

    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]

    def _newline(self) -> None:
        if self.row == self.rows - 1:
            self.lines = self.lines[1:] + [[]]
        else:
            self.row += 1

    def _put(self, ch: str) -> None:
        if self.col >= self.cols:
            self.col = 0
            self._newline()
        line = self.lines[self.row]
        line.extend(" " * (self.col + 1 - len(line)))
        line[self.col] = ch
        self.col += 1

    def _csi(self, params: bytes, op: bytes) -> None:
        if params.startswith(b"?") or op == b"m":
            return
        n = int(params.split(b";")[0] or b"0")
        line = self.lines[self.row]
        if op == b"A":
            self.row = max(0, self.row - max(n, 1))
        elif op == b"B":
            self.row = min(self.rows - 1, self.row + max(n, 1))
        elif op == b"C":
            self.col = min(self.cols - 1, self.col + max(n, 1))
        elif op == b"D":
            self.col = max(0, self.col - max(n, 1))
        elif op == b"G":
            self.col = max(n, 1) - 1
        elif op == b"K":
            if n == 0:
                del line[self.col :]
            elif n == 1:
                line[: self.col] = [" "] * min(self.col, len(line))
            else:
                line.clear()
        elif op == b"J":
            del line[self.col :]
            for below in self.lines[self.row + 1 :]:
                below.clear()
        else:
            raise AssertionError(f"the screen model does not know CSI {params!r}{op!r}")

    def feed(self, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            if data[pos] == 0x1B:
                m = self.CSI.match(data, pos)
                assert m, f"unknown escape at {data[pos : pos + 8]!r}"
                self._csi(m.group(1), m.group(2))
                pos = m.end()
                continue
            end = data.find(b"\x1b", pos)
            end = len(data) if end < 0 else end
            for ch in data[pos:end].decode("utf-8", "replace"):
                if ch == "\r":
                    self.col = 0
                elif ch == "\n":
                    self._newline()
                elif ch == "\b":
                    self.col = max(0, self.col - 1)
                elif ch >= " ":
                    self._put(ch)
            pos = end


def test_finished_chunks_fold_into_one_line_so_running_bars_fit_80x24(sandbox, tmp_path):
    """61 chunks on an 80×24 pty: the total bar, one summary line for the finished chunks, and a
    bar per running chunk stay on screen together; no finished chunk keeps a bar."""
    seed = ("--lfs-mb", "0.01", "--extra-files", "55")
    env = seeded_terminal_env(sandbox, tmp_path, "alice/many-chunks", *seed)
    argv = [str(BINARY), "migrate", "hf:alice/many-chunks", "--backend", "local", "--yes"]
    argv += ["--parallel", "--chunk-size", "0.000000001", "--concurrency", "4"]
    screen = Screen()
    frames = []
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    try:
        termios.tcsetwinsize(fd, (24, 80))
        deadline = time.monotonic() + 240
        while True:
            assert time.monotonic() < deadline, "\n".join(screen.text())
            ready, _, _ = select.select([fd], [], [], 5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen.feed(chunk)
            frames.append(screen.text())
        _, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    final = "\n".join(frames[-1])
    assert os.waitstatus_to_exitcode(status) == 0, final
    summary_re = re.compile(r"^\s+chunks (\d+)/(\d+) done, (\d+) running, (\d+) failed, ")
    bar_re = re.compile(r"^\s+chunk (\d+) \[")
    late = None
    for rows in frames:
        summary = [(i, summary_re.match(r)) for i, r in enumerate(rows) if summary_re.match(r)]
        bars = [int(m.group(1)) for r in rows if (m := bar_re.match(r))]
        assert len(summary) <= 1, "\n".join(rows)
        assert len(bars) == len(set(bars)), "a chunk bar drawn twice:\n" + "\n".join(rows)
        if not summary:
            assert not bars, "chunk bars without the summary line:\n" + "\n".join(rows)
            continue
        i, m = summary[0]
        done, total, running = int(m.group(1)), int(m.group(2)), int(m.group(3))
        assert total >= 60, rows[i]
        assert rows[i - 1].lstrip().startswith("total ["), "\n".join(rows)
        assert len(bars) <= running <= 4, "\n".join(rows)
        if done >= 40 and bars:
            late = rows
    assert late is not None, "never saw running chunks after 40 had finished:\n" + final
    # The chunks' bars are gone at the end, the report is there.
    assert not any(bar_re.match(r) or summary_re.match(r) for r in frames[-1]), final
    assert "done, verified hf:model:alice/many-chunks" in final, final
