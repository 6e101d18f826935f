"""A byte cache shared by every server and worker through Redis, with a local LRU in front.

Used for compiled template code and parsed blueprint definitions, both keyed by
content hash, so a fleet compiles a blueprint once. The rules:

* A cache failure is a miss, never an error: every Redis call goes through the
  outage breaker (``codeforge.cache.connection.call``); while Redis is down the
  local LRU alone answers, and sharing resumes when Redis returns.
* Bounded: entries larger than ``max_entry`` stay local, every Redis entry has a
  TTL (refreshed when it is read), and the local LRU is capped in bytes.
* Entries are signed (HMAC-SHA256 with the server secret): compiled code is
  loaded with ``marshal``, so only bytes this fleet wrote are ever loaded back;
  a forged or damaged entry is a miss.
* Keys carry a namespace and a version signature chosen by the caller (for code:
  CodeForge, Jinja and Python versions plus the environment's options).
* Worth it only when it saves time: loading the Redis client costs a one-shot
  process ~150 ms, so a process that has not loaded it yet (a CLI run) asks Redis
  only for a batch of at least ``cold_batch`` templates (:meth:`SharedCache.worth`);
  servers and workers have it loaded and always ask.

Without ``CODEFORGE_REDIS_URL`` (or ``redis.url``) there is no shared layer at all:
:func:`default_shared` returns None and callers use their local caches only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final

from codeforge.cache.connection import call
from codeforge.errors import RedisUnavailable

KEY_PREFIX: Final = "codeforge:"
DEFAULT_TTL: Final = 7 * 24 * 3600  # a week; every read refreshes it
DEFAULT_MAX_ENTRY: Final = 1024 * 1024  # bigger entries are not shared
DEFAULT_LOCAL_BYTES: Final = 32 * 1024 * 1024
# Templates to compile at which loading the Redis client pays for itself (~1.5 ms
# of compiling each on two cores against ~150 ms to import redis-py).
DEFAULT_COLD_BATCH: Final = 100
_TAG = 32  # HMAC-SHA256
_BATCH = 200  # keys per pipeline of GETs


class LocalLRU:
    """Bytes by key, least recently used dropped first once ``max_bytes`` is passed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._entries[key] = value
            self.size += len(value)
            while self.size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)


class SharedCache:
    """One namespace of the shared cache (``codeforge:<namespace>:<key>`` in Redis)."""

    def __init__(
        self,
        url: str,
        namespace: str,
        secret: bytes,
        *,
        prefix: str = KEY_PREFIX,
        ttl: int = DEFAULT_TTL,
        max_entry: int = DEFAULT_MAX_ENTRY,
        local_bytes: int = DEFAULT_LOCAL_BYTES,
        cold_batch: int = DEFAULT_COLD_BATCH,
    ) -> None:
        self.url = url
        self.cold_batch = cold_batch
        self.prefix = f"{prefix}{namespace}:"
        self.ttl = ttl
        self.max_entry = max_entry
        self.local = LocalLRU(local_bytes)
        self._secret = hashlib.sha256(b"codeforge-shared-cache\0" + secret).digest()
        self.hits = 0  # answered from Redis
        self.misses = 0
        self.errors = 0

    def worth(self, count: int) -> bool:
        """Whether asking Redis for ``count`` entries can beat making them here."""
        return "redis" in sys.modules or count >= self.cold_batch

    # -- signing ---------------------------------------------------------------------

    def _seal(self, key: str, value: bytes) -> bytes:
        return self._tag(key, value) + value

    def _open(self, key: str, sealed: bytes | None) -> bytes | None:
        if sealed is None or len(sealed) < _TAG:
            return None
        value = sealed[_TAG:]
        return value if hmac.compare_digest(sealed[:_TAG], self._tag(key, value)) else None

    def _tag(self, key: str, value: bytes) -> bytes:
        # The key is bound in: an entry copied under another key does not verify.
        mac = hmac.new(self._secret, key.encode(), hashlib.sha256)
        mac.update(b"\0")
        mac.update(value)
        return mac.digest()

    # -- reads -----------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The value for ``key`` (local first, then Redis), or None; never raises."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The values found for ``keys``: local LRU first, the rest in batched pipelines."""
        found: dict[str, bytes] = {}
        remote: list[str] = []
        for key in keys:
            value = self.local.get(key)
            if value is not None:
                found[key] = value
            else:
                remote.append(key)
        for start in range(0, len(remote), _BATCH):
            batch = remote[start : start + _BATCH]
            names = [self.prefix + key for key in batch]
            try:
                values = call(self.url, _mget_touch, names, self.ttl)
            except RedisUnavailable:
                self.errors += 1
                break  # the breaker is open now: the rest are misses too
            for key, sealed in zip(batch, values, strict=True):
                value = self._open(key, sealed)
                if value is None:
                    self.misses += 1
                    continue
                self.hits += 1
                found[key] = value
                self.local.put(key, value)
        return found

    # -- writes ----------------------------------------------------------------------

    def put(self, key: str, value: bytes) -> None:
        self.put_many({key: value})

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store locally and publish to Redis (entries over ``max_entry`` stay local)."""
        shared: list[tuple[str, bytes]] = []
        for key, value in items.items():
            self.local.put(key, value)
            if len(value) <= self.max_entry:
                shared.append((self.prefix + key, self._seal(key, value)))
        for start in range(0, len(shared), _BATCH):
            try:
                call(self.url, _set_many, shared[start : start + _BATCH], self.ttl)
            except RedisUnavailable:
                self.errors += 1
                return


def _mget_touch(client: Any, names: list[str], ttl: int) -> list[bytes | None]:
    # One GET per key rather than MGET: on a Redis Cluster the keys hash to many slots,
    # and a pipeline (one round trip per node) is what works on both kinds of server.
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.get(name)
    for name in names:
        pipe.expire(name, ttl)
    values: list[bytes | None] = pipe.execute()[: len(names)]
    return values


def _set_many(client: Any, items: list[tuple[str, bytes]], ttl: int) -> None:
    pipe = client.pipeline(transaction=False)
    for name, sealed in items:
        pipe.set(name, sealed, ex=ttl)
    pipe.execute()


_stores: dict[tuple[Any, ...], SharedCache | None] = {}
_stores_lock = threading.Lock()


def default_shared(namespace: str, env: Mapping[str, str] | None = None) -> SharedCache | None:
    """The process's shared cache for ``namespace`` from the settings, or None without Redis.

    Settings are read once per distinct set of ``CODEFORGE_*`` variables, so a
    process pays for this once.
    """
    env = os.environ if env is None else env
    memo = (
        namespace,
        os.getpid(),
        tuple(sorted((k, v) for k, v in env.items() if k.startswith("CODEFORGE_"))),
    )
    try:
        return _stores[memo]
    except KeyError:
        pass
    with _stores_lock:
        if memo not in _stores:
            _stores[memo] = _build(namespace, env)
        return _stores[memo]


def _build(namespace: str, env: Mapping[str, str]) -> SharedCache | None:
    from codeforge.errors import CodeForgeError
    from codeforge.settings import load_settings

    try:
        settings = load_settings(env)
        if not settings.redis_url:
            return None  # no Redis: nothing more to import (the CLI's start-up)
        from codeforge.cache.sessions import server_secret

        secret = server_secret(settings.data_dir, env)
    except (CodeForgeError, OSError):
        return None  # a cache that cannot be set up is no cache, never an error
    return SharedCache(
        settings.redis_url,
        namespace,
        secret,
        prefix=env.get("CODEFORGE_REDIS_PREFIX") or KEY_PREFIX,
        ttl=_int(env, "CODEFORGE_CACHE_TTL", DEFAULT_TTL),
        max_entry=_int(env, "CODEFORGE_CACHE_MAX_ENTRY", DEFAULT_MAX_ENTRY),
    )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(env.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default
