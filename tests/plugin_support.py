"""Install a test plugin package (tests/fixtures/...) with pip into a --target folder."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import console

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pip_install_fixture(name: str, work: Path) -> Path:
    """Build and install ``tests/fixtures/NAME`` into ``work/site``; return that folder."""
    source = work / "src"
    shutil.copytree(FIXTURES / name, source)  # pip builds in place: keep the repository clean
    site = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--target", str(site)]
    if all(importlib.util.find_spec(m) is not None for m in ("setuptools", "wheel")):
        command += ["--no-build-isolation", "--no-index"]  # offline and fast
    # else pip fetches setuptools into an isolated build environment (PyPI)
    proc = subprocess.run([*command, str(source)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return site


@pytest.fixture(scope="session")
def hooks_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fixtures/sample_hooks_plugin (distribution codeforge-sample-hooks 1.2.0), installed."""
    site = pip_install_fixture("sample_hooks_plugin", tmp_path_factory.mktemp("sample-hooks"))
    assert list(site.glob("codeforge_sample_hooks-1.2.0.dist-info"))
    return site


def with_plugin(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real ``codeforge`` console script with the plugin's folder on ``PYTHONPATH``."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return console(*args, env={"PYTHONPATH": path, **env})
