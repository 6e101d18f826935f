"""The database or Redis out of reach: 503 with ``Retry-After``, and one log line per outage.

While a dependency a route needs is unreachable, the route answers 503 with the
usual JSON error body and ``Retry-After`` (never 500 and a traceback per request).
Each server process logs one ``error`` line when it first meets the outage and
one ``info`` line, with how long it lasted and how many requests it refused, when
the dependency answers again (when that is, and which errors are outages, is
``codeforge.app.outages``).
"""

from __future__ import annotations

import threading
import time
from typing import Final

from codeforge.api.logs import get_logger
from codeforge.app import outages

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
    key = (what, url)
    with _lock:
        found = _outages.get(key)
        if found is None:
            found = _outages[key] = Outage(what, outages.redacted_url(url))
        return found


def watch_database(url: str) -> None:
    """End the database outage at the first statement, begun after it, that completes."""
    outages.watch_database(url, outage("database", url).recovered)


def watch_redis() -> None:
    """End a Redis outage at the first command that succeeds after a failure."""
    outages.watch_redis(_redis_recovered)


def _redis_recovered(url: str) -> None:
    with _lock:
        state = _outages.get(("redis", url))
    if state is not None:
        state.recovered()
