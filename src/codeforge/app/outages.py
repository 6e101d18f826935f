"""The database or Redis out of reach: which errors say so, and when each answers again.

The adapters report an outage (the API answers 503 with ``Retry-After`` and logs
one line per outage, ``codeforge.api.outage``); this module knows the
dependencies. For the database, "answers again" is the first statement, begun
after the outage was met, that completes (an engine event); for Redis, the first
command that succeeds after a failure (``codeforge.cache.connection``). Names and
messages are redacted: no password reaches a log line. ``is_transient`` says which
failures a job retries (a dependency out of reach, git networking).
"""

from __future__ import annotations

import errno
import re
import time
import weakref
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from codeforge.app.context import AppContext
from codeforge.errors import GitError, RedisUnavailable, StoreError

# SQLite raises OperationalError for wrong statements too ("no such table"): only
# these say the database file cannot be used right now.
_SQLITE_OUTAGES: Final = ("locked", "busy", "unable to open", "disk i/o", "disk is full")


# What the database layer raises when a statement fails (an outage or a wrong statement):
# the API turns the outages among them into 503s.
DATABASE_ERRORS: Final[tuple[type[Exception], ...]] = (DBAPIError, PoolTimeout)


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached (not that a statement is wrong)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__ == "sqlite3":
        text = str(exc.orig).lower()
        return any(marker in text for marker in _SQLITE_OUTAGES)
    return True


def database_answers(ctx: AppContext) -> bool:
    """True when the database answers a ``SELECT 1`` now."""
    from sqlalchemy import text

    try:
        with ctx.read() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


_NETWORK_GIT: Final = re.compile(
    r"could not resolve|unable to access|connection|timed out|timeout|early eof|"
    r"reset by peer|network|temporarily|HTTP 5\d\d|returned error: 5\d\d",
    re.IGNORECASE,
)
_NETWORK_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EPIPE,
    }
)


def is_transient(exc: BaseException) -> bool:
    """True for failures that may well not happen again: the database, Redis or the
    network out of reach, git networking (a job that met one is retried)."""
    if isinstance(exc, StoreError | RedisUnavailable):
        return True
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, GitError):
        return bool(_NETWORK_GIT.search(str(exc)))
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    try:
        from redis import RedisError

        return isinstance(exc, RedisError)
    except ImportError:  # pragma: no cover - redis is optional
        return False


def redacted_url(url: str) -> str:
    """``url`` (a database or Redis URL) with any ``user:password@`` part hidden."""
    from codeforge.db.engine import redact_url

    return redact_url(url)


def database_failure(url: str, exc: BaseException) -> str:
    """What reaching the database at ``url`` met: the driver's first line, redacted."""
    from codeforge.db.engine import store_error

    return store_error("reaching the database", url, exc).message


# -- recovery ---------------------------------------------------------------------------------

Answered = Callable[[float | None], None]

_ASKED_AT: Final = "codeforge_asked_at"
_engine_watchers: weakref.WeakKeyDictionary[Engine, Answered] = weakref.WeakKeyDictionary()


def watch_database(url: str, answered: Answered) -> None:
    """Call ``answered(asked_at)`` whenever a statement on the database at ``url`` completes
    (``asked_at``: when it began, monotonic), so a reporter can end an outage."""
    from codeforge.db.engine import engine_for

    engine = engine_for(url)
    _engine_watchers[engine] = answered
    if not event.contains(engine, "after_cursor_execute", _executed):
        event.listen(engine, "before_cursor_execute", _executing)
        event.listen(engine, "after_cursor_execute", _executed)


def _executing(conn: Any, *_args: Any) -> None:
    conn.info[_ASKED_AT] = time.monotonic()  # one thread per connection at a time


def _executed(conn: Any, *_args: Any) -> None:
    answered = _engine_watchers.get(conn.engine)
    if answered is not None:
        answered(conn.info.pop(_ASKED_AT, None))


def watch_redis(recovered: Callable[[str], None]) -> None:
    """Call ``recovered(url)`` when Redis at ``url`` answers again after a failure."""
    from codeforge.cache.connection import watch_recovery

    watch_recovery(recovered)
