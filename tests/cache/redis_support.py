"""Redis for tests: the shared server (per-test key prefix, never flushed) and private servers.

Tests that need Redis are marked ``redis``. Without a reachable server they skip,
unless ``CI`` is set, where they fail. A test that must stop Redis starts its own
``redis-server`` on a free port in a temporary folder (:class:`RedisServer`); the
shared server on 6379 is never stopped or flushed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_test_url() -> str:
    return os.environ.get("CODEFORGE_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def redis_unreachable_reason(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        return f"Redis not reachable at {url} ({type(exc).__name__}) (run by hand without it)"
    return None


def require_redis(url: str) -> None:
    """Skip when Redis is missing; fail instead when ``CI`` is set."""
    reason = redis_unreachable_reason(url)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Redis tests", pytrace=False)
    pytest.skip(reason)


def unique_prefix() -> str:
    return f"cftest:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete the keys under ``prefix`` (this test's own keys only)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        names = list(client.scan_iter(match=f"{prefix}*", count=500))
        if names:
            client.delete(*names)
        return len(names)
    except (redis.RedisError, OSError):
        return 0
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private ``redis-server`` on a free loopback port, stopped and started at will."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed; CI must run the Redis tests")
            pytest.skip("redis-server is not installed (run by hand without it)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while redis_unreachable_reason(self.url) is not None:
            assert self.proc.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def redis_url() -> str:
    """The shared Redis (skips, or fails in CI, when it is not reachable)."""
    url = redis_test_url()
    require_redis(url)
    return url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server this test may stop and restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
