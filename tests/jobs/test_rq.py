"""Jobs on RQ with the real Redis: JSON payloads only, a worker running them, the API in
Redis mode, and 503 (then recovery) when Redis goes away."""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.conftest import Caller, make_caller
from cli_support import invoke
from fastapi.testclient import TestClient

from codeforge.cache.jobs import RQ_ENTRY, RedisJobQueue

from .conftest import Env, job_row, submit

pytestmark = pytest.mark.redis
V1 = "/api/v1"


def rq_keys(url: str, queue: str) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(url)
    return [k for k in client.scan_iter(match=f"rq:*{queue}*", count=1000)]


@pytest.fixture
def shared_queue(redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This test's queue on the shared Redis (its keys deleted afterwards, nothing flushed)."""
    import redis

    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    monkeypatch.setenv("CODEFORGE_JOB_QUEUE", queue_name)
    yield queue_name
    client = redis.Redis.from_url(redis_url)
    keys = rq_keys(redis_url, queue_name)
    if keys:
        client.delete(*keys)


def run_worker(queue: str) -> None:
    code, out, err = invoke("worker", "--burst", "--queues", queue)
    assert code == 0, out + err


def test_the_queue_holds_json_never_pickle(env: Env, redis_url: str, shared_queue: str) -> None:
    import redis

    job_id = submit(env, "test-slow", {"seconds": 0}, queue=shared_queue)
    RedisJobQueue(redis_url).enqueue(job_id, shared_queue, 30)
    client = redis.Redis.from_url(redis_url)
    (rq_id,) = client.lrange(f"rq:queue:{shared_queue}", 0, -1)
    stored = client.hgetall(b"rq:job:" + rq_id)
    data = zlib.decompress(stored[b"data"])
    assert not data.startswith(b"\x80")  # a pickle would start with PROTO
    assert json.loads(data) == [RQ_ENTRY, None, [], {"job_id": job_id}]
    for field, value in stored.items():
        assert not value.startswith(b"\x80\x04"), field  # no pickled field anywhere
        assert b"codeforge.jobs" not in value or field == b"description"


def test_a_worker_runs_queued_jobs(
    env: Env, redis_url: str, shared_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", env.url)
    monkeypatch.setenv("CODEFORGE_JOB_ARTIFACT_DIR", str(env.artifacts))
    queue = RedisJobQueue(redis_url)
    ids = [submit(env, "test-slow", {"seconds": 0}, queue=shared_queue) for _ in range(3)]
    gen = submit(
        env, "generate", {"template": "lib-python", "name": "q", "answers": {}}, queue=shared_queue
    )
    for job_id in [*ids, gen]:
        queue.enqueue(job_id, shared_queue, 30)
    run_worker(shared_queue)
    for job_id in [*ids, gen]:
        row = job_row(env, job_id)
        assert (row.status, row.attempts) == ("finished", 1), row.error
    assert job_row(env, gen).result["project_id"] >= 1
    import redis

    # Finished RQ jobs are not kept (result_ttl=0): Redis holds ids, never results.
    client = redis.Redis.from_url(redis_url)
    assert client.llen(f"rq:queue:{shared_queue}") == 0


def test_worker_without_redis_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEFORGE_REDIS_URL", raising=False)
    code, _out, err = invoke("worker", "--burst")
    assert code == 2
    assert "needs Redis" in err


def test_worker_refuses_a_bad_queue_name(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    code, _out, err = invoke("worker", "--burst", "--queues", "ok,bad name")
    assert code == 2
    assert "invalid queue name 'bad name'" in err


def redis_app(db_url: str) -> tuple[Any, dict[str, Caller]]:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    app = create_app(load_settings(overrides={"database_url": db_url}))
    callers = {
        name: make_caller(db_url, name, role)
        for name, role in (("alice", "member"), ("bob", "member"), ("root", "admin"))
    }
    return app, callers


def test_api_on_redis_queues_and_a_worker_finishes(
    tmp_path: Path, shared_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", url)
    app, who = redis_app(url)
    alice = who["alice"].headers
    with TestClient(app) as client:
        body = {"kind": "generate", "template": "lib-python", "name": "viaq", "answers": {}}
        first = client.post(f"{V1}/jobs", json=body, headers=alice)
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "queued"
        assert first.json()["queue"] == shared_queue
        run_worker(shared_queue)
        job = client.get(f"{V1}/jobs/{first.json()['id']}", headers=alice).json()
        assert job["status"] == "finished", job
        result = client.get(job["result_url"], headers=alice)
        assert result.status_code == 200
        direct = client.post(
            f"{V1}/projects/generate",
            json={k: v for k, v in body.items() if k != "kind"},
            headers=alice,
        )
        assert result.content == direct.content
        assert client.get(job["result_url"], headers=who["bob"].headers).status_code == 404


def test_redis_down_answers_503_and_recovers_without_restart(
    tmp_path: Path, own_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    monkeypatch.setenv("CODEFORGE_REDIS_URL", own_redis.url)
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", url)
    app, who = redis_app(url)
    alice = who["alice"].headers
    body = {"kind": "generate", "template": "lib-python", "name": "x", "answers": {}}
    with TestClient(app) as client:
        before = client.post(f"{V1}/jobs", json=body, headers=alice)
        assert before.status_code == 202
        own_redis.stop()
        for _ in range(2):  # the failing call, then the open breaker
            down = client.post(f"{V1}/jobs", json={**body, "name": "y"}, headers=alice)
            assert down.status_code == 503, down.text
            assert down.json()["error"] == "queue_unavailable"
            assert "job queue is unavailable" in down.json()["message"]
            assert "not queued" in down.json()["message"]
        # Reads come from the database: they work during the outage.
        listed = client.get(f"{V1}/jobs", headers=alice)
        assert listed.status_code == 200
        assert [j["id"] for j in listed.json()] == [before.json()["id"]]  # nothing half-made
        assert client.get(f"{V1}/jobs/{before.json()['id']}", headers=alice).status_code == 200
        own_redis.start()
        deadline = time.monotonic() + 10
        while True:
            again = client.post(f"{V1}/jobs", json={**body, "name": "z"}, headers=alice)
            if again.status_code == 202:
                break
            assert again.status_code == 503
            assert time.monotonic() < deadline, "submissions did not resume"
            time.sleep(0.3)


def test_a_worker_retries_transient_failures_with_backoff(
    env: Env, redis_url: str, shared_queue: str, tmp_path: Path
) -> None:
    from .cluster_support import base_env, start_worker, wait_for

    job_id = submit(env, "test-flaky", {"fail_times": 2}, queue=shared_queue)
    worker_env = base_env(
        CODEFORGE_DATABASE_URL=env.url,
        CODEFORGE_REDIS_URL=redis_url,
        CODEFORGE_JOB_QUEUE=shared_queue,
        CODEFORGE_JOB_BACKOFF_SECONDS="0.5",
        CODEFORGE_JOB_SWEEP_SECONDS="0.2",
    )
    worker = start_worker("flaky-worker", worker_env, tmp_path / "logs")
    try:
        RedisJobQueue(redis_url).enqueue(job_id, shared_queue, 30)

        def done() -> Any:
            row = job_row(env, job_id)
            return row if row.status in ("finished", "failed") else None

        try:
            row = wait_for(done, 30, "the flaky job")
        except AssertionError:
            raise AssertionError(worker.output()) from None
    finally:
        worker.stop()
    assert (row.status, row.attempts, row.result) == ("finished", 3, {"attempt": 3})
    # Backoff: 0.5 s then 1 s between the attempts.
    assert (row.finished_at - row.created_at).total_seconds() >= 1.5
    assert worker.proc.returncode == 0  # SIGTERM: a clean stop


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_worker_logs_each_job_as_json_lines(
    env: Env, redis_url: str, shared_queue: str, tmp_path: Path
) -> None:
    from .cluster_support import base_env, start_worker

    job_id = submit(env, "test-slow", {"seconds": 0}, queue=shared_queue)
    RedisJobQueue(redis_url).enqueue(job_id, shared_queue, 30)
    worker_env = base_env(
        CODEFORGE_DATABASE_URL=env.url,
        CODEFORGE_REDIS_URL=redis_url,
        CODEFORGE_JOB_QUEUE=shared_queue,
    )
    worker = start_worker("json-worker", worker_env, tmp_path / "logs", "--burst")
    worker.proc.wait(timeout=60)
    worker.stop()
    assert worker.proc.returncode == 0, worker.output()
    # Every line is JSON (RQ's own included), and the job is taken, then finished.
    lines = worker.log_path.read_text().splitlines()
    events = _json_lines("\n".join(lines))
    assert len(events) == len([line for line in lines if line.strip()]), lines
    by_event = {e["event"]: e for e in events if e.get("job_id") == job_id}
    assert set(by_event) == {"job taken", "job finished"}, events
    assert by_event["job taken"]["worker"] == "json-worker"
    finished = by_event["job finished"]
    assert finished["outcome"] == "finished" and finished["seconds"] >= 0
    assert {"timestamp", "level", "logger"} <= set(finished)
    assert events[0]["event"] == "worker started"
    assert job_row(env, job_id).status == "finished"


def test_a_stopped_worker_exits_promptly(env: Env, redis_url: str, tmp_path: Path) -> None:
    """SIGTERM on an idle worker ends it at once (RQ's listener thread once held it for
    up to a minute: redis-py's stop() waits for a thread that sleeps 60 s at a time)."""
    from .cluster_support import base_env, start_worker, wait_for

    worker_env = base_env(CODEFORGE_DATABASE_URL=env.url, CODEFORGE_REDIS_URL=redis_url)
    import redis

    client = redis.Redis.from_url(redis_url)
    for round_ in range(4):
        name = f"stopping-{round_}-{uuid.uuid4().hex[:6]}"
        worker = start_worker(name, worker_env, tmp_path / "logs")
        try:
            wait_for(lambda: client.exists(f"rq:worker:{name}"), 60, "the worker to register")  # noqa: B023
            time.sleep(0.5 + round_ * 0.3)  # RQ's listener thread is up and idle by now
            started = time.monotonic()
            worker.proc.terminate()
            worker.proc.wait(timeout=30)
            took = time.monotonic() - started
        finally:
            worker.stop()
        assert worker.proc.returncode == 0, worker.log_path.read_text()
        assert took < 5, f"round {round_}: the worker took {took:.1f} s to stop"
