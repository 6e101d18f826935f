"""API fixtures: an app on SQLite and on PostgreSQL, with two members, a maintainer and an admin.

The PostgreSQL helpers follow tests/db/conftest.py: one database per session, one
schema per test (through ``search_path``); without a server the PostgreSQL cases
skip, unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url

from codeforge.db.engine import dispose_engines
from codeforge.db.migrate import forget_checked

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("CODEFORGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _connect(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        connect_timeout=5,
        autocommit=True,
    )


def require_postgres(url: str) -> None:
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(reason)


def reset_engines() -> None:
    dispose_engines()
    forget_checked()


@pytest.fixture(scope="session")
def api_postgres_database() -> Iterator[str]:
    admin = postgres_admin_url()
    require_postgres(admin)
    name = f"codeforge_api_{uuid.uuid4().hex[:12]}"
    with _connect(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        reset_engines()
        with _connect(admin) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


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
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _connect(database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = (
        make_url(database)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        reset_engines()
        with _connect(database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


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
    from codeforge.core.settings import load_settings

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
    """Run ``codeforge ARGS`` in-process with the CLI's exit-code mapping."""
    from click.testing import CliRunner

    from codeforge.cli.main import run

    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        output = streams[0].getvalue().decode()
    return code, output
