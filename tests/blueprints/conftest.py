"""Every blueprint test runs with CodeForge's folders in a temporary place."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _codeforge_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path_factory.mktemp("codeforge-home")
    for name in ("CONFIG", "DATA", "CACHE"):
        folder: Path = base / name.lower()
        folder.mkdir()
        monkeypatch.setenv(f"CODEFORGE_{name}_DIR", str(folder))
    monkeypatch.delenv("CODEFORGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CODEFORGE_REDIS_URL", raising=False)
