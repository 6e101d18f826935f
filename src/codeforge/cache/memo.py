"""Short-lived in-process caches that take the database off the hot path.

``KeyCache``: a verified API key (by its SHA-256) maps to its principal for
``key_cache_seconds`` (default 5). Revoking a key or disabling a user through this
server forgets the entry at once; a change made elsewhere (another server, the CLI,
SQL) is seen by this server after at most that many seconds. Set
``CODEFORGE_API_KEY_CACHE_SECONDS=0`` to check the database on every request.

On PostgreSQL each server process also listens on the ``codeforge_auth`` channel
(``AuthListener``): revoking a key or disabling a user anywhere (API or CLI)
announces it with NOTIFY at commit, and every listening server forgets the entries
at once. While the listening connection is down, the delay above applies.

``TtlValue``: one value recomputed after ``ttl`` seconds or when invalidated (the
registered-blueprint rows behind ``GET /blueprints`` and generation).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final, Generic, TypeVar

MAX_KEYS: Final = 10_000

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class CachedKey:
    principal: object  # codeforge.app.authentication.Principal (kept generic: no import cycle)
    user_id: int
    key_id: int
    key_expires_at: datetime | None
    last_used_at: datetime | None
    cached_until: float


class KeyCache:
    """Verified keys by hash, for a few seconds; thread-safe."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, CachedKey] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, now: datetime) -> CachedKey | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            expired = entry.key_expires_at is not None and now >= entry.key_expires_at
            if expired or time.monotonic() >= entry.cached_until:
                del self._entries[digest]
                return None
            return entry

    def put(self, digest: str, entry: CachedKey) -> None:
        if self.ttl <= 0:
            return
        entry.cached_until = time.monotonic() + self.ttl
        with self._lock:
            if len(self._entries) >= MAX_KEYS:
                self._entries.clear()
            self._entries[digest] = entry

    def claim_touch(self, entry: CachedKey, now: datetime, every_seconds: float) -> bool:
        """True for one caller when ``last_used_at`` is due a refresh (others skip it)."""
        with self._lock:
            last = entry.last_used_at
            if last is not None and (now - last).total_seconds() < every_seconds:
                return False
            entry.last_used_at = now
            return True

    def forget_key(self, key_id: int) -> None:
        with self._lock:
            for digest in [d for d, e in self._entries.items() if e.key_id == key_id]:
                del self._entries[digest]

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for digest in [d for d, e in self._entries.items() if e.user_id == user_id]:
                del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TtlValue(Generic[T]):
    """A value computed by ``load`` and reused for ``ttl`` seconds (0: never reused)."""

    def __init__(self, ttl: float, load: Callable[[], T]) -> None:
        self.ttl = ttl
        self._load = load
        self._value: T | None = None
        self._until = 0.0
        self._generation = 0
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is not None and time.monotonic() < self._until:
                return self._value
            generation = self._generation
        value = self._load()
        with self._lock:
            # A value loaded across an invalidation may be stale: use it, do not keep it.
            if self.ttl > 0 and generation == self._generation:
                self._value = value
                self._until = time.monotonic() + self.ttl
        return value

    def fresh(self) -> bool:
        """True when ``get`` would answer without loading."""
        with self._lock:
            return self._value is not None and time.monotonic() < self._until

    def invalidate(self) -> None:
        with self._lock:
            self._value = None
            self._generation += 1


class AuthListener:
    """A thread that LISTENs for key and user changes and evicts them from a KeyCache."""

    def __init__(self, url: str, keys: KeyCache) -> None:
        self.url = url
        self.keys = keys
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="codeforge-auth-listener", daemon=True
        )

    def start(self) -> AuthListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _connect_args(self) -> dict[str, object]:
        from codeforge.db.engine import parse_url

        url = parse_url(self.url)
        args: dict[str, object] = dict(
            url.translate_connect_args(username="user", database="dbname")
        )
        args.update({k: v for k, v in url.query.items() if isinstance(v, str)})
        args.setdefault("connect_timeout", 5)
        return args

    def apply(self, payload: str) -> None:
        kind, _, ident = payload.partition(":")
        if not ident.isdigit():
            self.keys.clear()
        elif kind == "user":
            self.keys.forget_user(int(ident))
        elif kind == "key":
            self.keys.forget_key(int(ident))
        else:
            self.keys.clear()

    def _run(self) -> None:
        import psycopg

        from codeforge.db.repositories import AUTH_CHANNEL

        while not self._stop.is_set():
            try:
                with psycopg.connect(autocommit=True, **self._connect_args()) as conn:  # type: ignore[arg-type]
                    conn.execute(f"LISTEN {AUTH_CHANNEL}")
                    self.keys.clear()  # whatever changed while we were not listening
                    self.ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self.apply(note.payload)
            except Exception:  # any failure: reconnect; the TTL still bounds staleness
                self.ready.clear()
                self._stop.wait(1.0)
        self.ready.clear()
