"""Engines and session factories: SQLite by default, PostgreSQL in production.

Callers own transactions (``with session_factory(url).begin() as session:``);
repositories never commit.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from codeforge.errors import StoreError

# Defined in core, which the CLI's hot path imports without SQLAlchemy; kept importable here.
from codeforge.settings import DATABASE_FILENAME as DATABASE_FILENAME
from codeforge.settings import default_database_url as default_database_url

SQLITE_TIMEOUT_SECONDS: Final = 30.0
# Execution options for a connection that only reads: on SQLite it then starts a
# plain (deferred) transaction instead of taking the write lock.
READ_ONLY: Final = {"codeforge_read_only": True}

_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@")


def redact_url(url: str | URL) -> str:
    """The URL with any ``user:password@`` part replaced by ``***@``."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def parse_url(url: str) -> URL:
    """Parse a database URL; ``postgresql://``/``postgres://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"invalid database URL {redact_url(url)!r}",
            hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; a SQLite file gets its parent folder created."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the database folder {path.parent}: {exc.strerror}"
                ) from exc
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS})
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        # Enough connections for the API's worker threads without churning overflow ones.
        return create_engine(parsed, pool_pre_ping=True, pool_size=20, max_overflow=20)
    raise StoreError(
        f"unsupported database {redact_url(url)!r}",
        hint="CodeForge supports SQLite and PostgreSQL",
    )


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT, so take
    # it over. BEGIN IMMEDIATE takes the write lock up front: two processes that both
    # read then write would otherwise fail with "database is locked" instead of
    # waiting for the busy timeout.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get("codeforge_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url)
        return engine


def session_factory(url: str) -> sessionmaker[Session]:
    """The cached session factory for ``url`` (objects stay usable after commit)."""
    with _LOCK:
        factory = _FACTORIES.get(url)
    if factory is None:
        factory = sessionmaker(bind=engine_for(url), expire_on_commit=False)
        with _LOCK:
            factory = _FACTORIES.setdefault(url, factory)
    return factory


def dispose_engines() -> None:
    """Close and forget every cached engine (tests, and after ``fork``)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
        _FACTORIES.clear()
    for engine in engines:
        engine.dispose()


_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}
_FACTORIES: dict[str, sessionmaker[Session]] = {}


def store_error(action: str, url: str, exc: BaseException) -> StoreError:
    """A StoreError for ``exc`` that names the (redacted) database, never a password."""
    detail = _describe(exc)
    password = None
    with contextlib.suppress(StoreError):
        password = parse_url(url).password
    if password:
        detail = detail.replace(str(password), "***")
    return StoreError(
        f"{action} failed: {detail}",
        where=f"database {redact_url(url)}",
        hint="check CODEFORGE_DATABASE_URL and that the database server is running",
    )


def _describe(exc: BaseException) -> str:
    # SQLAlchemy's own message embeds the statement and its parameters (which can
    # hold hashes or answers): show only the driver's first line.
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    elif isinstance(exc, SQLAlchemyError):
        text = type(exc).__name__
    else:
        text = str(exc) or type(exc).__name__
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return redact_url(first)
