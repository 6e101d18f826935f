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
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from ci_support import skip_unless_ci
from process_support import die_with_parent, free_port
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
    if reason is not None:
        skip_unless_ci(reason)


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
    """A throw-away PostgreSQL cluster of the test's own (initdb + postgres), stopped and
    started at will, on a free loopback port. As root, the server runs as ``postgres``
    (PostgreSQL refuses root) in a folder made for it outside ``tmp_path``, which
    that user cannot reach. Without the binaries the test skips (fails under ``CI``).

    The server is this process's child, not a ``pg_ctl`` daemon, and is killed with it:
    a test run that dies leaves no PostgreSQL behind.
    """

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        binary = shutil.which("pg_ctl") or (found[-1] if found else None)
        if binary is None:
            skip_unless_ci("pg_ctl is not installed (PostgreSQL tests run by hand without it)")
        self.bin = Path(binary).parent
        self.root = Path(tempfile.mkdtemp(prefix="codeforge-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._owner = (owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _become_owner_and_die_with_parent(self) -> None:
        # Runs in the child before exec. The death signal is set after the user
        # change, which would clear it.
        if self._owner is not None:
            uid, gid = self._owner
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        die_with_parent()

    def init(self) -> None:
        proc = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "--no-sync", "-E", "UTF8"],
            capture_output=True, text=True, timeout=120, check=False,
            preexec_fn=self._become_owner_and_die_with_parent,
        )  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(f"initdb failed: {proc.stderr or proc.stdout}")

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once it accepts connections."""
        with (self.root / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", str(self.root), "-c", "fsync=off"],
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=self._become_owner_and_die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while postgres_unreachable_reason(self.url) is not None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                log_text = (self.root / "server.log").read_text(errors="replace")[-1500:]
                raise AssertionError(f"PostgreSQL did not start: {log_text}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, the data are kept."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.process = None

    def destroy(self) -> None:
        if self.process is not None:
            self.process.kill()  # immediate: the data are thrown away
            self.process.wait(timeout=30)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)
