"""Install a test plugin package (tests/fixtures/...) with pip into a --target folder."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

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
