"""Fixtures for the cache tests: the shared Redis with a per-test prefix, and a private one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .redis_support import delete_prefix, own_redis, redis_url, unique_prefix

__all__ = ["own_redis", "redis_url"]  # fixtures defined in redis_support, shared with tests/jobs


@pytest.fixture
def redis_prefix(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key prefix of this test's own (CODEFORGE_REDIS_PREFIX), deleted afterwards."""
    prefix = unique_prefix()
    monkeypatch.setenv("CODEFORGE_REDIS_PREFIX", prefix)
    yield prefix
    delete_prefix(redis_url, prefix)
