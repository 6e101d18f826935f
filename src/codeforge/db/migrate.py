"""Schema migrations, configured in code: no alembic.ini is needed at runtime.

``ensure_schema`` is on the path of every store operation, so when the database is
already at head it costs one query and never imports Alembic.

Adding a migration (developers)::

    from alembic import command
    from codeforge.db.migrate import alembic_config
    config = alembic_config("sqlite:///dev.db")   # a database at the current head
    command.revision(config, "add things", autogenerate=True, rev_id="0002")

then review the generated file and set ``HEAD_REVISION`` to the new id (a test
fails until the two agree).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from codeforge.db.engine import READ_ONLY, engine_for, redact_url, store_error
from codeforge.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions; a test keeps the two in step.
HEAD_REVISION: Final = "0008"
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same in every CodeForge process.
_PG_MIGRATION_LOCK: Final = 0x636F6465666F7267  # "codeforg"

_at_head: set[str] = set()
_lock = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped in this package."""
    from alembic.config import Config

    # stdout is read now: Config's default is bound when alembic is first imported.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats % as interpolation; URLs may contain %-escapes.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _read_revision(connection: Connection) -> str | None:
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def current_revision(url: str) -> str | None:
    """The schema revision of the database, or None when it has never been migrated."""
    try:
        with engine_for(url).connect() as connection:
            connection = connection.execution_options(**READ_ONLY)
            try:
                row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
            except DBAPIError as exc:
                if _is_missing_table(exc):
                    return None
                raise
            return None if row is None else str(row[0])
    except SQLAlchemyError as exc:
        raise store_error("reading the schema version", url, exc) from exc


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or "does not exist" in message


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (default: head); returns the revision reached."""
    from alembic import command
    from alembic.util import CommandError

    engine = engine_for(url)
    try:
        # One transaction for the whole upgrade: on SQLite, BEGIN IMMEDIATE (see
        # engine.py) serialises concurrent first runs; on PostgreSQL an advisory lock
        # does, and DDL is transactional, so a failed upgrade leaves nothing behind.
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            reached = _read_revision(connection)
    except CommandError as exc:
        raise StoreError(
            f"cannot migrate the database: {exc}",
            where=f"database {redact_url(url)}",
            hint="the database may have been written by a newer CodeForge; upgrade CodeForge",
        ) from exc
    except SQLAlchemyError as exc:
        raise store_error("migrating the schema", url, exc) from exc
    if reached is None:
        raise StoreError("migration finished without a schema version", where=redact_url(url))
    if reached == HEAD_REVISION:
        with _lock:
            _at_head.add(url)
    return reached


def ensure_schema(url: str) -> str:
    """Make sure the database exists and is at head; cheap when it already is."""
    with _lock:
        if url in _at_head:
            return HEAD_REVISION
    revision = current_revision(url)
    if revision == HEAD_REVISION:
        with _lock:
            _at_head.add(url)
        return revision
    return upgrade(url)


def forget_checked() -> None:
    """Forget which databases were seen at head (tests that rebuild a database)."""
    with _lock:
        _at_head.clear()
