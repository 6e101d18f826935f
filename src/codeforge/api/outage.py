"""The database or Redis out of reach: 503 with ``Retry-After``, and one log line per outage.

While a dependency a route needs is unreachable, the route answers 503 with the
usual JSON error body and ``Retry-After`` (never 500 and a traceback per request).
Each server process logs one ``error`` line when it first meets the outage and
one ``info`` line, with how long it lasted and how many requests it refused, when
the dependency answers again. For the database, "answers again" is the first
statement that completes (an engine event); for Redis, the first command that
succeeds after a failure (``codeforge.cache.connection``).
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from codeforge.api.logs import get_logger

RETRY_AFTER: Final = 5  # seconds: about one pool reconnect, or two Redis breaker pauses


class Outage:
    """One dependency's state in this process: up, or down since a moment."""

    def __init__(self, what: str, where: str) -> None:
        self.what = what
        self.where = where  # redacted URL, for the log
        self._lock = threading.Lock()
        self._since: float | None = None
        self._refused = 0

    def failed(self, detail: str) -> None:
        """A request met the outage: the first one of an outage logs it."""
        with self._lock:
            self._refused += 1
            if self._since is not None:
                return
            self._since = time.monotonic()
        get_logger().error(
            f"{self.what} unreachable", where=self.where, detail=detail, retry_after=RETRY_AFTER
        )

    def recovered(self, asked_at: float | None = None) -> None:
        """The dependency answered: log the end of the outage, once.

        ``asked_at`` (monotonic) is when the answered call began: a call already in
        flight when the outage was first met proves nothing about now.
        """
        if self._since is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._since is None or (asked_at is not None and asked_at <= self._since):
                return
            lasted, refused = time.monotonic() - self._since, self._refused
            self._since, self._refused = None, 0
        get_logger().info(
            f"{self.what} reachable again",
            where=self.where,
            outage_seconds=round(lasted, 1),
            refused_requests=refused,
        )


_lock = threading.Lock()
_outages: dict[tuple[str, str], Outage] = {}


def outage(what: str, url: str) -> Outage:
    """The process's outage state for ``what`` (``database`` or ``redis``) at ``url``."""
    from codeforge.db.engine import redact_url

    key = (what, url)
    with _lock:
        found = _outages.get(key)
        if found is None:
            found = _outages[key] = Outage(what, redact_url(url))
        return found


# SQLite raises OperationalError for wrong statements too ("no such table"): only
# these say the database file cannot be used right now.
_SQLITE_OUTAGES: Final = ("locked", "busy", "unable to open", "disk i/o", "disk is full")


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


def watch_database(engine: Engine, url: str) -> None:
    """End the database outage at the first statement, begun after it, that completes."""
    _engine_outages[engine] = outage("database", url)
    if not event.contains(engine, "after_cursor_execute", _executed):
        event.listen(engine, "before_cursor_execute", _executing)
        event.listen(engine, "after_cursor_execute", _executed)


_ASKED_AT: Final = "codeforge_asked_at"


def _executing(conn: Any, *_args: Any) -> None:
    conn.info[_ASKED_AT] = time.monotonic()  # one thread per connection at a time


def _executed(conn: Any, *_args: Any) -> None:
    state = _engine_outages.get(conn.engine)
    if state is not None:
        state.recovered(conn.info.pop(_ASKED_AT, None))


_engine_outages: weakref.WeakKeyDictionary[Engine, Outage] = weakref.WeakKeyDictionary()


def watch_redis() -> None:
    """End a Redis outage at the first command that succeeds after a failure."""
    from codeforge.cache.connection import watch_recovery

    watch_recovery(_redis_recovered)


def _redis_recovered(url: str) -> None:
    with _lock:
        state = _outages.get(("redis", url))
    if state is not None:
        state.recovered()
