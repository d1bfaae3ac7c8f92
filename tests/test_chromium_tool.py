"""tools/chromium.py: `make test` installs headless Chromium where it may, and says why not elsewhere."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tool(monkeypatch, tmp_path):
    """The module, on a PATH with nothing but what a test puts in ``tmp_path``."""
    spec = importlib.util.spec_from_file_location("chromium_tool", ROOT / "tools" / "chromium.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in ("CHROME_BIN", "CHROMEDRIVER", "INSTALL_CHROMIUM"):
        monkeypatch.delenv(name, raising=False)
    return module


def put(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)


def test_found_on_the_path_or_by_the_environment(tool, tmp_path, monkeypatch):
    assert tool.missing() == ["chromium", "chromedriver"]
    put(tmp_path, "chromium-browser", "chromedriver")
    assert tool.find_browser() == (str(tmp_path / "chromium-browser"), str(tmp_path / "chromedriver"))
    assert tool.status().startswith("browser test: run in headless Chromium")
    monkeypatch.setenv("CHROME_BIN", "/opt/chrome")
    assert tool.find_browser()[0] == "/opt/chrome"


@pytest.mark.parametrize("case", ["no apt-get", "not root", "INSTALL_CHROMIUM=no"])
def test_without_chromium_nothing_is_installed_and_the_status_line_says_why(tool, tmp_path, monkeypatch,
                                                                              case, capsys):
    if case != "no apt-get":
        put(tmp_path, "apt-get")
    monkeypatch.setattr(tool.os, "geteuid", lambda: 1000 if case == "not root" else 0)
    if case == "INSTALL_CHROMIUM=no":
        monkeypatch.setenv("INSTALL_CHROMIUM", "no")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("nothing may be run"))
    assert tool.install() == 0
    assert "not installed" in capsys.readouterr().out
    line = tool.status()
    assert line.startswith("browser test SKIPPED: chromium and chromedriver not found")
    assert case.lower() in line.lower()
    assert "apt-get install chromium chromium-driver" in line and "\n" not in line


def test_as_root_with_apt_get_it_installs_non_interactively(tool, tmp_path, monkeypatch, capsys):
    put(tmp_path, "apt-get")
    monkeypatch.setattr(tool.os, "geteuid", lambda: 0)
    calls = []

    def run(cmd, env, **kwargs):
        calls.append(cmd)
        assert env["DEBIAN_FRONTEND"] == "noninteractive"
        if cmd[1] == "install":
            put(tmp_path, "chromium", "chromedriver")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", run)
    assert tool.install() == 0
    assert calls == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]]
    assert tool.status().startswith("browser test: run in headless Chromium")


def test_a_failed_install_is_reported_not_raised(tool, tmp_path, monkeypatch, capsys):
    put(tmp_path, "apt-get")
    monkeypatch.setattr(tool.os, "geteuid", lambda: 0)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(cmd, 100))
    assert tool.install() == 0
    assert "apt-get update -qq failed (exit 100)" in capsys.readouterr().out
    assert "did not make them available" in tool.status()
