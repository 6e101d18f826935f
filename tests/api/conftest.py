"""API fixtures: an app on SQLite and on PostgreSQL, with two members, a maintainer and an admin.

PostgreSQL through tests/postgres_support.py: one database per session, one schema
per test (through ``search_path``); without a server the PostgreSQL cases skip,
unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from fastapi.testclient import TestClient
from postgres_support import (
    create_schema,
    drop_schema,
    reset_engines,
    temporary_database,
)


@pytest.fixture(scope="session")
def api_postgres_database() -> Iterator[str]:
    with temporary_database("codeforge_api") as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def api_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on the backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api' / 'codeforge.db'}"
        reset_engines()
        return
    database = request.getfixturevalue("api_postgres_database")
    schema, url = create_schema(database)
    try:
        yield url
    finally:
        reset_engines()
        drop_schema(database, schema)


@dataclasses.dataclass
class Caller:
    name: str
    role: str
    id: int
    key: str
    key_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclasses.dataclass
class Api:
    client: TestClient
    url: str
    logs: io.StringIO
    alice: Caller  # member
    bob: Caller  # member
    maya: Caller  # maintainer
    root: Caller  # admin

    def as_(self, caller: Caller, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**caller.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def make_caller(url: str, name: str, role: str) -> Caller:
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import create_api_key, create_user

    with session_factory(url).begin() as session:
        user = create_user(session, name, role)
        row, key = create_api_key(session, user, f"{name}-test")
        return Caller(name, role, user.id, key, row.id)


@pytest.fixture
def api(api_db_url: str) -> Iterator[Api]:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    settings = load_settings(overrides={"database_url": api_db_url})
    logs = io.StringIO()
    app = create_app(settings, log_stream=logs)
    callers = {
        name: make_caller(api_db_url, name, role)
        for name, role in (
            ("alice", "member"),
            ("bob", "member"),
            ("maya", "maintainer"),
            ("root", "admin"),
        )
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, url=api_db_url, logs=logs, **callers)


def run_cli(*args: str) -> tuple[int, str]:
    """Exit code and stdout of ``codeforge ARGS`` run in-process."""
    code, out, _ = invoke(*args)
    return code, out
