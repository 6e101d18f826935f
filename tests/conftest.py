"""Shared test set-up: every test gets its own config, data and cache folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker_support import auth_registry, base_image, dockerd, registry
from s3_support import seaweedfs

# Session servers for every test folder: SeaweedFS (tests/s3_support.py), and a Docker
# engine, its base image and a registry (tests/docker_support.py).
__all__ = ["auth_registry", "base_image", "dockerd", "registry", "seaweedfs"]


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """Point CODEFORGE_*_DIR at fresh folders and drop settings that leak from the host."""
    base = tmp_path_factory.mktemp("codeforge-home")
    dirs = {kind: base / kind for kind in ("config", "data", "cache")}
    for kind, path in dirs.items():
        monkeypatch.setenv(f"CODEFORGE_{kind.upper()}_DIR", str(path))
    for name in (
        "CODEFORGE_DATABASE_URL",
        "CODEFORGE_REDIS_URL",
        "CODEFORGE_ARTIFACTS_URL",
        "CODEFORGE_S3_ENDPOINT_URL",
        "CODEFORGE_AUTHOR_NAME",
        "CODEFORGE_AUTHOR_EMAIL",
        "CODEFORGE_DEBUG",
        "CODEFORGE_SECRET_KEY",
        "CODEFORGE_PREVIOUS_SECRET_KEY",
        "CODEFORGE_CREDENTIAL_STORE",
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    # Never the developer's own keyring: tests that want one install their own backend.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return dirs
