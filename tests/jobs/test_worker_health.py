"""``codeforge worker --health-port``: ``/healthz`` (the loop beats) and ``/readyz`` (Redis
and the database answer), through real worker processes on real Redis servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cache.redis_support import RedisServer, free_port
from cli_support import CODEFORGE, console

from codeforge.app.worker_health import JOB_GRACE, Heartbeat, readiness

from .conftest import Env, job_row, submit
from .test_worker_metrics import worker_env

pytestmark = pytest.mark.redis


class Worker:
    """A ``codeforge worker`` subprocess serving its health checks on a free port."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.queue = f"h{uuid.uuid4().hex[:8]}"
        for _ in range(3):
            self.port = free_port()
            argv = ["worker", "--queues", self.queue, "--health-port", str(self.port)]
            self.proc = subprocess.Popen(
                [str(CODEFORGE), *argv],
                env={**os.environ, **worker_env(tmp_path, redis_url)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if self._wait_up():
                return
            _out, err = self.stop()
            assert "cannot serve health checks" in err, err  # the port was taken: retry
        raise AssertionError("no free port for the worker's health checks in 3 tries")

    def _wait_up(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.get("/healthz")
                return True
            except httpx.TransportError:
                time.sleep(0.2)
        return False

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()


@pytest.fixture
def worker_on(tmp_path: Path) -> Iterator[Any]:
    started: list[Worker] = []

    def start(redis_url: str) -> Worker:
        started.append(Worker(tmp_path, redis_url))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def wait_for(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_worker_on_the_shared_redis_is_alive_and_ready(worker_on: Any, redis_url: str) -> None:
    worker = worker_on(redis_url)
    live = worker.get("/healthz")
    assert live.status_code == 200, live.text
    body = live.json()
    assert body["status"] == "ok" and body["job"] is None
    assert 0 <= body["heartbeat_age_seconds"] < body["stale_after_seconds"]
    ready = worker.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "loop": "ok", "redis": "ok", "database": "ok"}
    assert ready.headers["content-type"] == "application/json"
    assert worker.get("/metrics").status_code == 404
    _out, err = worker.stop()
    assert worker.proc.returncode == 0, err
    with pytest.raises(httpx.TransportError):  # the endpoint goes with the worker
        worker.get("/healthz")


def test_redis_down_is_not_ready_but_alive_and_ready_again_when_back(
    worker_on: Any, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        worker = worker_on(redis.url)
        assert wait_for(lambda: worker.get("/readyz").status_code == 200)
        redis.stop()
        down = wait_for(lambda: worker.get("/readyz").status_code == 503 and worker.get("/readyz"))
        assert down, "readyz still 200 with Redis stopped"
        assert down.json() == {
            "status": "unavailable",
            "loop": "ok",
            "redis": "unreachable",
            "database": "ok",
        }
        time.sleep(3)  # the loop retries Redis meanwhile: alive all along
        live = worker.get("/healthz")
        assert live.status_code == 200, live.text
        assert live.json()["heartbeat_age_seconds"] < 5
        redis.start()
        assert wait_for(lambda: worker.get("/readyz").status_code == 200), "not ready again"
        assert worker.proc.poll() is None
    finally:
        redis.stop()


def test_a_taken_health_port_is_a_clear_error(tmp_path: Path, redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = console(
            "worker", "--burst", "--health-port", str(port), env=worker_env(tmp_path, redis_url)
        )
    assert result.returncode == 2, result.stderr
    assert f"cannot serve health checks on 127.0.0.1:{port}" in result.stderr
    assert "--health-port" in result.stderr


class Recorder(Heartbeat):
    """A real heartbeat that also keeps the order of what the worker loop told it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, float | None]] = []

    def beat(self) -> None:
        self.events.append(("beat", None))
        super().beat()

    def job_started(self, timeout: float | None) -> None:
        self.events.append(("job_started", timeout))
        super().job_started(timeout)

    def job_ended(self) -> None:
        self.events.append(("job_ended", None))
        super().job_ended()


def test_the_rq_loop_beats_and_reports_each_job(
    env: Env, redis_url: str, monkeypatch: pytest.MonkeyPatch, queue_name: str
) -> None:
    from codeforge.app.context import build_context
    from codeforge.cli.worker import _run
    from codeforge.jobs.config import job_config
    from codeforge.settings import load_settings

    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", env.url)
    monkeypatch.setenv("CODEFORGE_JOB_ARTIFACT_DIR", str(env.artifacts))
    from codeforge.cache.jobs import RedisJobQueue

    ids = [submit(env, "test-slow", {"seconds": 0}, queue=queue_name) for _ in range(2)]
    for job_id in ids:
        RedisJobQueue(redis_url).enqueue(job_id, queue_name, 40)
    settings = load_settings()
    recorder = Recorder()
    _run(build_context(settings), job_config(settings), [queue_name], "h", True, "ERROR", recorder)
    for job_id in ids:
        assert job_row(env, job_id).status == "finished"
    kinds = [kind for kind, _ in recorder.events]
    assert kinds.count("job_started") == kinds.count("job_ended") == 2
    assert kinds[0] == "beat" and kinds.count("beat") >= 3
    # RQ's timeout for a job is the queue's timeout plus its grace.
    assert [t for k, t in recorder.events if k == "job_started"] == [50, 50]
    assert recorder.status()["status"] == "ok" and recorder.status()["job"] is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_liveness_is_judged_on_the_beat_or_on_the_running_jobs_deadline() -> None:
    clock = Clock()
    heart = Heartbeat(stale_after=90, clock=clock)
    clock.now += 89
    assert heart.status()["status"] == "ok"
    clock.now += 2
    assert heart.status() == {
        "status": "stalled",
        "heartbeat_age_seconds": 91.0,
        "stale_after_seconds": 90,
        "job": None,
    }
    heart.beat()
    assert heart.status()["status"] == "ok"
    heart.job_started(300)  # a long job beats nothing, but is alive until its deadline
    clock.now += 300 + JOB_GRACE
    assert heart.status()["status"] == "ok"
    assert heart.status()["job"] == {"running_seconds": 300 + JOB_GRACE}
    clock.now += 1
    assert heart.status()["status"] == "stalled"
    heart.job_ended()
    assert heart.status()["status"] == "ok"
    heart.job_started(None)  # RQ's default timeout
    clock.now += 180 + JOB_GRACE + 1
    assert heart.status()["status"] == "stalled"


def test_readiness_names_what_does_not_answer() -> None:
    clock = Clock()
    heart = Heartbeat(stale_after=10, clock=clock)

    def broken() -> bool:
        raise OSError("refused")

    assert readiness(heart, {"redis": lambda: True}) == {
        "status": "ok",
        "loop": "ok",
        "redis": "ok",
    }
    assert readiness(heart, {"redis": broken, "database": lambda: False}) == {
        "status": "unavailable",
        "loop": "ok",
        "redis": "unreachable",
        "database": "unreachable",
    }
    clock.now += 11
    assert readiness(heart, {"redis": lambda: True})["status"] == "unavailable"
