"""Fixtures for the cache tests: the shared Redis with a per-test prefix, and a private one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_support import RedisServer, delete_prefix, redis_test_url, require_redis, unique_prefix


@pytest.fixture
def redis_url() -> str:
    url = redis_test_url()
    require_redis(url)
    return url


@pytest.fixture
def redis_prefix(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key prefix of this test's own (CODEFORGE_REDIS_PREFIX), deleted afterwards."""
    prefix = unique_prefix()
    monkeypatch.setenv("CODEFORGE_REDIS_PREFIX", prefix)
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server this test may stop and restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
