"""Rate limits per route group, per API key and per client address (the ``limits`` library).

Counters live in Redis when it is configured (every server shares them) and in
process memory otherwise. While Redis is down (the outage breaker is open) the
in-process counters take over for that process, so requests are still limited
and never fail because of Redis; once Redis answers again the shared counters
are used again, with nothing restarted. On a Redis Cluster (``redis+cluster://``) the
counters use ``limits``' cluster storage; the two keys of a sliding window share a
hash tag, so each counter lives on one node.

Groups and their defaults (``GROUP=LIMIT`` pairs separated by ``;`` override
them, ``GROUP=off`` or the whole spec ``off`` turns limiting off)::

    generate=120/minute;read=3000/minute;write=600/minute;auth=10/minute;ai=30/minute
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from codeforge.cache.connection import call, cluster_options, get_redis
from codeforge.errors import RedisUnavailable, UsageError
from codeforge.settings import is_redis_cluster

GROUPS: Final = ("generate", "read", "write", "auth", "ai")
DEFAULT_LIMITS: Final = {
    "generate": "120/minute",
    "read": "3000/minute",
    "write": "600/minute",
    "auth": "10/minute",
    "ai": "30/minute",
}

Limits = Mapping[str, RateLimitItem | None]


def parse_limits(spec: str | None, *, where: str) -> dict[str, RateLimitItem | None]:
    """The limit of every group: the defaults, overridden by ``spec`` (``where`` names it)."""
    result: dict[str, RateLimitItem | None] = {g: parse(DEFAULT_LIMITS[g]) for g in GROUPS}
    text = (spec or "").strip()
    if not text:
        return result
    if text.lower() == "off":
        return dict.fromkeys(GROUPS)
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = (p.strip() for p in part.partition("="))
        if not sep or not value:
            raise UsageError(
                f"{part!r} is not GROUP=LIMIT",
                where=where,
                hint="for example generate=60/minute;auth=10/minute",
            )
        if name not in GROUPS:
            raise UsageError(
                f"unknown route group {name!r}", where=where, hint=f"groups: {', '.join(GROUPS)}"
            )
        if value.lower() == "off":
            result[name] = None
            continue
        try:
            result[name] = parse(value)
        except ValueError:
            raise UsageError(
                f"{value!r} is not a rate limit",
                where=f"{where} ({name})",
                hint="write COUNT/PERIOD, such as 60/minute, 5/second or 1000/hour",
            ) from None
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    group: str
    scope: str = ""  # "key" or "address": which limit refused
    limit: RateLimitItem | None = None
    retry_after: int = 0  # seconds
    shared: bool = False  # counted in Redis (False: this process only)


class RateLimiter:
    """Counts hits per (group, key) and per (group, address); Redis first, memory as fallback."""

    def __init__(
        self,
        per_key: Limits,
        per_address: Limits,
        *,
        redis_url: str | None = None,
        prefix: str = "codeforge:",
    ) -> None:
        self.per_key = dict(per_key)
        self.per_address = dict(per_address)
        self.redis_url = redis_url
        self.prefix = f"{prefix}rl"
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared: dict[int, SlidingWindowCounterRateLimiter] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return any(v is not None for v in (*self.per_key.values(), *self.per_address.values()))

    def _redis_limiter(self) -> SlidingWindowCounterRateLimiter:
        """This process's limiter on Redis (connections are never shared across fork)."""
        pid = os.getpid()
        limiter = self._shared.get(pid)
        if limiter is None:
            assert self.redis_url is not None
            with self._lock:
                limiter = self._shared.get(pid)
                if limiter is None:
                    limiter = SlidingWindowCounterRateLimiter(self._storage(self.redis_url))
                    self._shared[pid] = limiter
        return limiter

    def _storage(self, url: str) -> Any:
        from limits.storage import RedisClusterStorage, RedisStorage

        if is_redis_cluster(url):
            # limits builds its own cluster client from the same URL form (its scheme
            # is redis+cluster; TLS is an option).
            scheme, _, rest = url.partition("://")
            options = {**cluster_options(), "ssl": scheme.lower().startswith("rediss")}
            uri = f"redis+cluster://{rest.partition('/')[0]}"
            return RedisClusterStorage(uri, key_prefix=self.prefix, **options)
        pool = get_redis(url).connection_pool  # type: ignore[union-attr]
        return RedisStorage(url, connection_pool=pool, key_prefix=self.prefix)

    def hit(self, group: str, key: str | None, address: str) -> Verdict:
        """Count one request of ``group``; the verdict says whether it may go on."""
        checks: list[tuple[str, str, RateLimitItem | None]] = [
            ("address", address, self.per_address.get(group))
        ]
        if key is not None:
            checks.insert(0, ("key", key, self.per_key.get(group)))
        shared = False
        for scope, ident, item in checks:
            if item is None:
                continue
            allowed, shared, retry = self._hit(item, group, scope, ident)
            if not allowed:
                return Verdict(False, group, scope, item, retry, shared)
        return Verdict(True, group, shared=shared)

    def _hit(self, item: RateLimitItem, *ids: str) -> tuple[bool, bool, int]:
        """(allowed, counted in Redis, seconds until a retry can pass)."""
        if self.redis_url is not None:
            try:
                allowed, retry = call(
                    self.redis_url, lambda c: self._count(c, self._redis_limiter(), item, ids)
                )
            except RedisUnavailable:
                pass  # fall back to this process's counters
            else:
                return allowed, True, retry
        allowed, retry = self._count(None, self._memory, item, ids)
        return allowed, False, retry

    @staticmethod
    def _count(
        _client: Any, limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, ids: Any
    ) -> tuple[bool, int]:
        if limiter.hit(item, *ids):
            return True, 0
        reset = limiter.get_window_stats(item, *ids).reset_time
        return False, max(1, math.ceil(reset - time.time()))
