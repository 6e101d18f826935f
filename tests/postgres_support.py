"""PostgreSQL helpers shared by the database and API tests.

One database per test session, one schema per test (through ``search_path``), so
tests and concurrent runs never see each other's tables. Without a server the
PostgreSQL cases skip, unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from codeforge.db.engine import dispose_engines, redact_url
from codeforge.db.migrate import forget_checked

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    """The server tests may create databases on."""
    return os.environ.get("CODEFORGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _connect(url: str | URL, **kwargs: Any) -> psycopg.Connection[Any]:
    parsed = make_url(url) if isinstance(url, str) else url
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        connect_timeout=5,
        autocommit=True,
        **kwargs,
    )


def postgres_unreachable_reason(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``; else why not, without credentials."""
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return (
            f"PostgreSQL not reachable at {redact_url(url)} ({redact_url(first)}) "
            "(run by hand without it)"
        )
    return None


def require_postgres(url: str) -> None:
    """Skip the test when PostgreSQL is down; fail instead when ``CI`` is set."""
    reason = postgres_unreachable_reason(url)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(reason)


def create_database(admin_url: str, prefix: str = "codeforge_test") -> str:
    """Create a uniquely named database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _connect(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database or ""
    with _connect(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def temporary_database(prefix: str = "codeforge_test") -> Iterator[str]:
    """A database of its own on the test server (skip or, in CI, fail when it is down)."""
    admin = postgres_admin_url()
    require_postgres(admin)
    url = create_database(admin, prefix=prefix)
    try:
        yield url
    finally:
        reset_engines()
        drop_database(admin, url)


def create_schema(database_url: str) -> tuple[str, str]:
    """A fresh schema in ``database_url``; returns (schema, URL whose search_path is it)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _connect(database_url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(database_url: str, schema: str) -> None:
    with _connect(database_url) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def sqlite_url(directory: Path) -> str:
    """A SQLite file in a folder that does not exist yet (the store must create it)."""
    return f"sqlite:///{directory / 'data' / 'codeforge.db'}"


def reset_engines() -> None:
    """Forget cached engines and schema checks between tests."""
    dispose_engines()
    forget_checked()


class PostgresCluster:
    """A throw-away PostgreSQL cluster of the test's own (initdb + pg_ctl), stopped and
    started at will, on a free loopback port. As root, the server runs as ``postgres``
    (PostgreSQL refuses root) in a folder made for it outside ``tmp_path``, which
    that user cannot reach. Without the binaries the test skips (fails under ``CI``).
    """

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        binary = shutil.which("pg_ctl") or (found[-1] if found else None)
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("pg_ctl is not installed; CI must run the PostgreSQL tests")
            pytest.skip("pg_ctl is not installed (run by hand without it)")
        self.bin = Path(binary).parent
        self.root = Path(tempfile.mkdtemp(prefix="codeforge-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {proc.stderr or proc.stdout}")

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
