"""The cache, rate limits and sessions on a real 3-primary Redis Cluster
(``redis+cluster://``), one primary killed mid-run; the URL form and the queue's topology."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from limits import parse

from codeforge.cache.connection import available
from codeforge.cache.ratelimit import GROUPS, RateLimiter
from codeforge.cache.sessions import SessionStore
from codeforge.cache.shared import SharedCache
from codeforge.errors import UsageError
from codeforge.settings import load_settings, parse_redis_cluster_url

from .cluster_support import RedisCluster

SECRET = b"s" * 32


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """One cluster for the tests that do not kill a node."""
    started = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    started = RedisCluster(tmp_path / "cluster")
    try:
        yield started.start()
    finally:
        started.stop()


def prefix() -> str:
    return f"cftest:{uuid.uuid4().hex[:8]}:"


def limiter(url: str, key_prefix: str, amount: int) -> RateLimiter:
    limit = parse(f"{amount}/minute")
    return RateLimiter({g: limit for g in GROUPS}, {}, redis_url=url, prefix=key_prefix)


# -- the URL form ---------------------------------------------------------------------------


def test_the_cluster_url_form() -> None:
    address = parse_redis_cluster_url("rediss+cluster://app:p%40ss@r1:7000,[::1]:7001/0")
    assert address.nodes == (("r1", 7000), ("::1", 7001))
    assert (address.username, address.password, address.tls) == ("app", "p@ss", True)
    plain = parse_redis_cluster_url("redis+cluster://10.0.0.5:6379")
    assert plain.nodes == (("10.0.0.5", 6379),) and plain.password is None and not plain.tls


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://r1:7000/2", "only database 0"),
        ("redis+cluster://:secret@r1", "'r1' is not host:port"),
        ("redis+cluster://r1:7000,r2:http", "'r2:http' is not host:port"),
        ("redis+cluster://", "'' is not host:port"),
    ],
)
def test_a_bad_cluster_url_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        load_settings({"CODEFORGE_REDIS_URL": url, "CODEFORGE_CONFIG_DIR": "/nonexistent"})
    assert "CODEFORGE_REDIS_URL" in str(info.value) and "secret" not in str(info.value)


def test_the_queue_needs_one_primary() -> None:
    from codeforge.jobs.config import job_config

    env = {"CODEFORGE_CONFIG_DIR": "/nonexistent", "CODEFORGE_REDIS_URL": "redis+cluster://r:1"}
    with pytest.raises(UsageError, match="needs one primary") as info:
        job_config(load_settings(env), env)
    assert "CODEFORGE_QUEUE_REDIS_URL" in str(info.value)
    queue = {**env, "CODEFORGE_QUEUE_REDIS_URL": "redis://q:6379/0"}
    assert job_config(load_settings(queue), queue).redis_url == "redis://q:6379/0"
    with pytest.raises(UsageError, match="not a cluster"):
        load_settings({**env, "CODEFORGE_QUEUE_REDIS_URL": "redis+cluster://q:1"})
    single = {"CODEFORGE_CONFIG_DIR": "/nonexistent", "CODEFORGE_REDIS_URL": "redis://r:6379/0"}
    assert job_config(load_settings(single), single).redis_url == "redis://r:6379/0"


# -- on a real cluster ----------------------------------------------------------------------


def test_the_shared_cache_spans_the_nodes(cluster: RedisCluster) -> None:
    key_prefix = prefix()
    items = {f"template-{i}": f"code {i}".encode() * 10 for i in range(300)}
    SharedCache(cluster.url, "code", SECRET, prefix=key_prefix).put_many(items)
    owners = {cluster.slot_owner(f"{key_prefix}code:{key}") for key in list(items)[:40]}
    assert owners == set(cluster.ports)  # spread over every primary, no hash tag
    fresh = SharedCache(cluster.url, "code", SECRET, prefix=key_prefix)  # nothing local
    assert fresh.get_many(items) == items
    assert (fresh.hits, fresh.misses, fresh.errors) == (300, 0, 0)


def test_sessions_keep_a_users_keys_in_one_slot(cluster: RedisCluster) -> None:
    key_prefix = prefix()
    store = SessionStore(SECRET, redis_url=cluster.url, prefix=key_prefix)
    cookies = [store.create(7, epoch=1)[0] for _ in range(3)]
    other, _ = store.create(8, epoch=1)
    assert all(c.startswith("r1.") for c in [*cookies, other])
    for cookie in cookies:
        data = store.read(cookie)
        assert data is not None and data.user_id == 7
    records = [store._record_key(c[3:]) for c in cookies]
    index = store._user_index(7)
    assert {cluster.slot_owner(k) for k in [*records, index]} == {cluster.slot_owner(index)}
    assert store.delete(cookies[0], 7) is True
    assert store.read(cookies[0]) is None
    assert store.revoke_user(7) == 2  # both records and the index, in one MULTI
    assert [store.read(c) for c in cookies] == [None, None, None]
    assert store.read(other) is not None  # another user's session stays


def test_rate_limits_are_shared_by_every_server(cluster: RedisCluster) -> None:
    key_prefix = prefix()
    first, second = limiter(cluster.url, key_prefix, 5), limiter(cluster.url, key_prefix, 5)
    verdicts = [(first if i % 2 else second).hit("generate", "k1", "a") for i in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert all(v.shared for v in verdicts)
    assert verdicts[-1].retry_after >= 1
    assert first.hit("generate", "k2", "a").allowed  # another key has its own counter


def test_a_primary_killed_mid_run_degrades_and_recovers(own_cluster: RedisCluster) -> None:
    """Cache misses, in-process rate limits and signed-cookie sessions while the cluster is
    down, no error from any call; shared again once the primary is back."""
    key_prefix = prefix()
    cache = SharedCache(own_cluster.url, "code", SECRET, prefix=key_prefix)
    store = SessionStore(SECRET, redis_url=own_cluster.url, prefix=key_prefix)
    limits = limiter(own_cluster.url, key_prefix, 100_000)
    seen: dict[str, set[Any]] = {"cookie": set(), "shared": set()}
    errors: list[BaseException] = []
    stop = threading.Event()

    def traffic() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                cache.put(f"k{i}", b"v")
                cache.get(f"k{i - 1}")
                cookie, _ = store.create(i % 5, epoch=1)
                seen["cookie"].add(cookie[:3])
                seen["shared"].add(limits.hit("generate", f"key{i % 3}", "a").shared)
            except BaseException as exc:  # anything escaping is a failure of the test
                errors.append(exc)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)
        assert seen == {"cookie": {"r1."}, "shared": {True}}, seen
        victim = own_cluster.ports[2]
        own_cluster.kill(victim)
        deadline = time.monotonic() + 30
        while "s1." not in seen["cookie"] or False not in seen["shared"]:
            assert time.monotonic() < deadline, f"no fallback seen: {seen}"
            assert not errors, errors
            time.sleep(0.1)
        assert not available(own_cluster.url)  # what codeforge_dependency_up reports
        own_cluster.start_node(victim)
        own_cluster.wait_ok()
        seen["cookie"].clear()
        seen["shared"].clear()
        deadline = time.monotonic() + 30
        while "r1." not in seen["cookie"] or True not in seen["shared"]:
            assert time.monotonic() < deadline, f"not shared again: {seen}"
            time.sleep(0.1)
        assert available(own_cluster.url)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert cache.errors > 0  # the outage was seen, and answered as misses
    fresh = store.create(1, epoch=1)[0]
    assert fresh.startswith("r1.") and store.read(fresh) is not None
