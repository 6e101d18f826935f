"""Fixtures of the deploy checks: the shared Redis for the tests that start a worker."""

from cache.redis_support import redis_url

__all__ = ["redis_url"]  # defined in redis_support, shared with tests/cache and tests/jobs
