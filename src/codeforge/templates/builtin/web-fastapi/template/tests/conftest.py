"""Shared test fixtures."""

{% if database != "none" -%}
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from {{ package_name }}.db import get_engine
from {{ package_name }}.main import app


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client for the app on a fresh SQLite database (set through DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'test.db'}")
    with TestClient(app) as test_client:
        yield test_client
    get_engine().dispose()
{% else -%}
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from {{ package_name }}.main import app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A client for the app (runs its start-up and shut-down)."""
    with TestClient(app) as test_client:
        yield test_client
{% endif -%}
