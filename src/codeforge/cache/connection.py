"""One way to reach Redis: a client per (URL, process), short timeouts, and an outage breaker.

Every Redis user in CodeForge (shared cache, rate limits, sessions, job queue)
gets its client here. Callers treat ``RedisUnavailable`` (or any
``redis.RedisError``) as "Redis is down": the cache misses, rate limits and
sessions fall back to in-process state, and queue operations answer 503.
After a failure the breaker stays open for ``retry_after`` seconds so a dead
Redis costs one timeout, not one per request; then the next call tries again,
so work resumes when Redis returns without restarting anything.

A ``redis+cluster://host:port[,host:port...]`` URL (``rediss+cluster://`` for TLS)
gets a ``RedisCluster`` client instead: the cache, rate limits and sessions work on
it (their multi-key operations stay within one hash slot, or are pipelined per
node). The job queue needs one primary (``CODEFORGE_QUEUE_REDIS_URL``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from codeforge.errors import RedisUnavailable
from codeforge.redaction import redact
from codeforge.settings import is_redis_cluster, parse_redis_cluster_url

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
RETRIES = 1


_lock = threading.Lock()
_clients: dict[tuple[str, int, bool], Redis | RedisCluster] = {}
_down_until: dict[str, float] = {}
_failed_at: dict[str, float] = {}


def redacted(url: str) -> str:
    return redact(url)


def get_redis(url: str, *, decode_responses: bool = False) -> Redis | RedisCluster:
    """The process's client for ``url`` (a new one after fork: connections are not shared)."""
    key = (url, os.getpid(), decode_responses)
    client = _clients.get(key)
    if client is not None:
        return client
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    with _lock:
        client = _clients.get(key)
        if client is None and is_redis_cluster(url):
            client = _cluster_client(url, decode_responses)
            _clients[key] = client
        elif client is None:
            client = Redis.from_url(
                url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
                health_check_interval=30,
                decode_responses=decode_responses,
                # One immediate retry (a pooled connection gone stale after a Redis
                # restart reconnects); redis-py's default backs off for seconds,
                # which would hold a request while the breaker could answer at once.
                retry=Retry(NoBackoff(), RETRIES),
            )
            _clients[key] = client
    return client


def _cluster_client(url: str, decode_responses: bool) -> RedisCluster:
    """A cluster client on the URL's startup nodes (it learns the others from them)."""
    from redis.backoff import NoBackoff
    from redis.cluster import ClusterNode, RedisCluster
    from redis.retry import Retry

    address = parse_redis_cluster_url(url)
    return RedisCluster(
        startup_nodes=[ClusterNode(h, p) for h, p in address.nodes],  # type: ignore[no-untyped-call]
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        decode_responses=decode_responses,
        retry=Retry(NoBackoff(), RETRIES),
    )


def cluster_options() -> dict[str, Any]:
    """Client options for a cluster client built elsewhere (the rate limiter's)."""
    return {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": CONNECT_TIMEOUT}


def is_down(url: str) -> bool:
    """True while the breaker for ``url`` is open (a recent call failed)."""
    return _down_until.get(url, 0.0) > time.monotonic()


def available(url: str) -> bool:
    """True when Redis at ``url`` answers a PING now (opens the breaker when it does not)."""
    try:
        call(url, lambda client: client.ping())
    except RedisUnavailable:
        return False
    return True


def mark_down(url: str, retry_after: float = 2.0) -> None:
    now = time.monotonic()
    _down_until[url] = now + retry_after
    _failed_at[url] = now


def mark_up(url: str) -> None:
    """Close the breaker; the first success after a failure tells the recovery watchers."""
    if _down_until.pop(url, None) is not None:
        for watcher in list(_recovery_watchers):
            watcher(url)


def watch_recovery(watcher: Callable[[str], None]) -> None:
    """Call ``watcher(url)`` when Redis at ``url`` answers again after a failure (once each)."""
    if watcher not in _recovery_watchers:
        _recovery_watchers.append(watcher)


_recovery_watchers: list[Callable[[str], None]] = []


def call(url: str, fn: Any, *args: Any, retry_after: float = 2.0, **kwargs: Any) -> Any:
    """Run ``fn(client, *args, **kwargs)``; on any Redis/connection error open the breaker
    and raise ``RedisUnavailable`` with a clear, credential-free message."""
    from redis import RedisError
    from redis.exceptions import RedisClusterException

    if is_down(url):
        raise RedisUnavailable(f"Redis at {redacted(url)} is unavailable (retrying shortly)")
    started = time.monotonic()
    try:
        result = fn(get_redis(url), *args, **kwargs)
    except (RedisError, RedisClusterException, OSError) as exc:
        mark_down(url, retry_after)
        raise RedisUnavailable(
            f"Redis at {redacted(url)} is unavailable: {type(exc).__name__}"
        ) from exc
    # A call that was already in flight when another one failed says nothing about now.
    if _failed_at.get(url, 0.0) < started:
        mark_up(url)
    return result
