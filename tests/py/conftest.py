"""Shared fixtures: a hub sandbox per test module, isolated HOME per test."""

from __future__ import annotations

import pytest
import world


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One running hub sandbox for the whole module (state in a fresh temp dir)."""
    svc = world.start_sandbox(tmp_path_factory.mktemp("sandbox") / "state")
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Keeps client caches, credentials and git config of tests out of the real HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(home / ".cache" / "modelscope"))
    monkeypatch.setenv("MODELSCOPE_HOME", str(home / ".modelscope"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "MODELSCOPE_API_TOKEN",
        "MODELSCOPE_TOKEN",
        "MODAL_TOKEN_ID",
        "MODAL_TOKEN_SECRET",
        "HF_ENDPOINT",
        "MODELSCOPE_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = hubferry tests\n\temail = tests@hubferry.invalid\n"
        '[filter "lfs"]\n\tclean = git-lfs clean -- %f\n\tsmudge = git-lfs smudge -- %f\n'
        "\tprocess = git-lfs filter-process\n\trequired = true\n"
    )
    return home
