"""Shell conventions of the release binary: completions, man page, help examples, exit codes,
`--color`. All generated from the clap definitions, so these check the binary's own output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import world

BINARY = world.ROOT / "target" / "release" / "hubferry"
COMMANDS = [
    "migrate",
    "batch",
    "doctor",
    "runs",
    "logs",
    "status",
    "stop",
    "verify",
    "sync",
    "retire",
    "download",
    "inventory",
    "completions",
    "man",
]


def hubferry(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BINARY), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        # clap wraps help at the terminal's width: fix it so the check does not depend on the host.
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )


def bash_complete(words: list[str]) -> list[str]:
    """Sources `hubferry completions bash` in a real bash and completes the last word."""
    script = (
        'source <("$HUBFERRY" completions bash)\n'
        "COMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
        f"COMP_CWORD={len(words) - 1}\n"
        'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
        "complete -p hubferry >/dev/null || exit 9\n"
        'fn=$(complete -p hubferry | sed -E "s/.*-F ([^ ]+).*/\\1/")\n'
        '"$fn" hubferry "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "HUBFERRY": str(BINARY)},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_bash_completion_completes_flags_of_each_command():
    assert bash_complete(["hubferry", "migrate", "--dry"]) == ["--dry-run"]
    assert "--summary" in bash_complete(["hubferry", "sync", "--s"])
    batch = bash_complete(["hubferry", "batch", "--de"])
    assert "--dest-namespace" in batch and "--delete" in batch, batch
    assert "--detach" not in batch, batch
    assert "completions" in bash_complete(["hubferry", "comp"])


@pytest.mark.parametrize(
    "shell,marker",
    [("zsh", "#compdef hubferry"), ("fish", "complete -c hubferry"), ("powershell", "hubferry")],
)
def test_other_shells_get_their_scripts(shell, marker):
    out = hubferry("completions", shell)
    assert out.returncode == 0, out.stderr
    assert marker in out.stdout and "dry-run" in out.stdout, out.stdout[:500]


def test_unknown_shell_is_bad_input():
    out = hubferry("completions", "tcsh")
    assert out.returncode == 2
    assert "bash" in out.stderr and "zsh" in out.stderr, out.stderr


def test_man_page_documents_every_command_and_renders():
    out = hubferry("man")
    assert out.returncode == 0, out.stderr
    page = out.stdout
    assert page.startswith(".ie") or page.startswith(".TH"), page[:200]
    assert ".TH hubferry 1" in page, page[:300]
    for cmd in COMMANDS:
        assert f'.SH "HUBFERRY {cmd.upper()}"' in page, cmd
    assert r"\-\-dry\-run" in page
    if shutil.which("man"):
        shown = subprocess.run(
            ["man", "-l", "-"], input=page, capture_output=True, text=True, timeout=30
        )
        if shown.returncode == 0:  # a man without groff cannot render; the source checks stand
            assert "hubferry" in shown.stdout


def test_every_command_help_ends_with_real_examples():
    for cmd in COMMANDS:
        out = hubferry(cmd, "--help")
        assert out.returncode == 0, (cmd, out.stderr)
        tail = out.stdout.rstrip().split("\nExamples:\n")
        assert len(tail) == 2, (cmd, out.stdout)
        examples = tail[1].splitlines()
        assert 2 <= len(examples) <= 3, (cmd, examples)
        for line in examples:
            assert line.startswith(f"  hubferry {cmd}") or (
                cmd in ("stop",) and line.startswith("  hubferry ")
            ), (cmd, line)


def test_top_level_help_lists_the_exit_codes():
    out = hubferry("--help")
    assert out.returncode == 0
    codes = out.stdout.split("\nExit codes:\n")[1]
    for code in ("0", "1", "2", "3", "4", "130"):
        assert re.search(rf"^  {code} +\S", codes, re.M), (code, codes)


def test_color_flag_beside_no_color():
    """An error line's `error:` is painted red unless colour is off (stderr here is a pipe)."""
    args = ["verify", "nonsense", "also-nonsense"]
    env = {"NO_COLOR": ""}
    assert "\x1b[" not in hubferry(*args, env=env).stderr  # auto: not a terminal
    assert "\x1b[" in hubferry("--color", "always", *args, env=env).stderr
    assert "\x1b[" in hubferry("--color", "always", *args, env={"NO_COLOR": "1"}).stderr
    assert "\x1b[" not in hubferry("--color", "never", *args, env=env).stderr
    out = hubferry("--color", "sometimes", *args)
    assert out.returncode == 2 and "auto" in out.stderr
