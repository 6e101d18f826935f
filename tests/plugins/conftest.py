"""The sample plugin distribution (tests/fixtures/sample_hooks_plugin), pip-installed once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_support import console
from plugin_support import pip_install_fixture


@pytest.fixture(scope="session")
def hooks_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = pip_install_fixture("sample_hooks_plugin", tmp_path_factory.mktemp("sample-hooks"))
    assert list(site.glob("codeforge_sample_hooks-1.2.0.dist-info"))
    return site


def with_plugin(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real ``codeforge`` console script with the plugin's folder on ``PYTHONPATH``."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return console(*args, env={"PYTHONPATH": path, **env})
