"""The API on a real Redis Cluster (cache, rate limits, sessions) with the job queue on its
own primary (``CODEFORGE_QUEUE_REDIS_URL``): one cluster primary killed mid-run degrades
as docs/operations.md says, loses no job, and recovers with nothing restarted."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache.cluster_support import RedisCluster
from cache.redis_support import delete_prefix, redis_test_url, require_redis
from fastapi.testclient import TestClient

from codeforge.api.config import COOKIE_NAME

from .conftest import make_caller

V1 = "/api/v1"
pytestmark = pytest.mark.redis


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    started = RedisCluster(tmp_path / "cluster")
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def queue_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The shared Redis as the queue's primary, with a queue of this test's own."""
    import redis

    url = redis_test_url()
    require_redis(url)
    queue = f"cftest-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CODEFORGE_JOB_QUEUE", queue)
    yield url, queue
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"rq:*{queue}*", count=1000))
    if keys:
        client.delete(*keys)
    delete_prefix(url, f"rq:job:{queue}")


def app_on(
    db_url: str, cluster_url: str, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> object:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    monkeypatch.setenv("CODEFORGE_API_KEY_CACHE_SECONDS", "0")
    monkeypatch.setenv("CODEFORGE_REDIS_PREFIX", f"cftest:{uuid.uuid4().hex[:8]}:")
    overrides = {"database_url": db_url, "redis_url": cluster_url, "queue_redis_url": queue_url}
    return create_app(load_settings(overrides=overrides), log_stream=io.StringIO())


def test_the_api_on_a_cluster_survives_a_dead_primary(
    api_db_url: str,
    cluster: RedisCluster,
    queue_redis: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis

    queue_url, queue = queue_redis
    app = app_on(api_db_url, cluster.url, queue_url, monkeypatch)
    ann = make_caller(api_db_url, "ann", "member")
    job = {"kind": "generate", "template": "lib-python", "name": "demo", "answers": {}}
    gen = {"template": "lib-python", "name": "demo"}
    queued = redis.Redis.from_url(queue_url)
    with TestClient(app, raise_server_exceptions=False) as api:  # type: ignore[arg-type]
        login = api.post(f"{V1}/session", json={"api_key": ann.key})
        assert login.status_code == 200 and login.json()["storage"] == "redis", login.text
        redis_cookie = api.cookies[COOKIE_NAME]
        assert api.get(f"{V1}/me").status_code == 200
        assert api.post(f"{V1}/projects/generate", json=gen, headers=ann.headers).status_code == 200
        assert api.post(f"{V1}/jobs", json=job, headers=ann.headers).status_code == 202

        cluster.kill(cluster.ports[0])
        time.sleep(2.5)  # past the cluster's node timeout: the cluster is down now
        jobs = 1
        for _ in range(3):
            made = api.post(f"{V1}/projects/generate", json=gen, headers=ann.headers)
            assert made.status_code == 200, made.text  # the cache misses, nothing fails
            submitted = api.post(f"{V1}/jobs", json=job, headers=ann.headers)
            assert submitted.status_code == 202, submitted.text  # the queue is elsewhere
            jobs += 1
        # A Redis session cannot be read now: 401, log in again (never a 500)...
        replay = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
        replay.cookies.set(COOKIE_NAME, redis_cookie)
        unread = replay.get(f"{V1}/me")
        assert unread.status_code == 401 and "log in again" in unread.text, unread.text
        # ...and that login falls back to a signed cookie.
        signed = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
        fallback = signed.post(f"{V1}/session", json={"api_key": ann.key})
        assert fallback.status_code == 200 and fallback.json()["storage"] == "signed"
        assert signed.get(f"{V1}/me").status_code == 200

        cluster.start_node(cluster.ports[0])
        cluster.wait_ok()
        deadline = time.monotonic() + 30
        while True:  # the breaker lets the next call through: Redis sessions again
            again = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
            body = again.post(f"{V1}/session", json={"api_key": ann.key}).json()
            if body["storage"] == "redis":
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.5)
        assert again.get(f"{V1}/me").status_code == 200
    assert queued.llen(f"rq:queue:{queue}") == jobs  # every job accepted is on the queue
