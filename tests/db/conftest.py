"""Database fixtures: every test taking ``db_url`` runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``CODEFORGE_TEST_POSTGRES_URL`` (default: the local server,
trust auth). One database is created per test session and dropped at the end; each
test gets a schema of its own in it (through ``search_path``), so tests and
concurrent runs never see each other's tables.

The helpers live in ``tests/postgres_support.py``, shared with the API tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_support import (
    create_schema,
    drop_schema,
    reset_engines,
    sqlite_url,
    temporary_database,
)

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test session's own, dropped at the end."""
    with temporary_database() as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param(b, marks=[pytest.mark.postgres] if b == "postgresql" else []) for b in BACKENDS
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database (never migrated) on the backend under test."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path)
        reset_engines()
        return
    database = request.getfixturevalue("postgres_database")
    schema, url = create_schema(database)
    try:
        yield url
    finally:
        reset_engines()
        drop_schema(database, schema)
