"""The worker's ``/healthz`` (its loop is turning) and ``/readyz`` (it can take jobs).

``codeforge worker --health-port PORT`` serves both from a daemon thread:

* ``/healthz`` answers 200 while the worker loop beats: RQ's loop beats before
  every blocking dequeue (at least every ``DEQUEUE_SECONDS``), the outer loop
  beats each time it waits for Redis to come back, and a job being run counts as
  alive until its timeout (plus a grace) has passed. A loop that has not beaten
  for ``stale_after`` seconds, or a job past its deadline, is 503: restart it.
* ``/readyz`` answers 200 when the loop is alive and Redis (the queue) answers a
  PING and the database a ``SELECT 1``; 503 otherwise, naming what is unreachable.
  A worker whose Redis is down stays alive (it waits and carries on) but is not ready.

Both answer JSON. The clock is injectable so the staleness rules are testable.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from codeforge.errors import UsageError

# RQ's blocking dequeue waits worker_ttl - 15 = 45 s between beats when idle.
DEQUEUE_SECONDS: Final = 45.0
STALE_AFTER: Final = 2 * DEQUEUE_SECONDS
JOB_GRACE: Final = 30.0
PATHS: Final = ("/healthz", "/readyz")


class Heartbeat:
    """The worker loop's last beat, and the deadline of the job it is running (if any)."""

    def __init__(
        self, stale_after: float = STALE_AFTER, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self._last = clock()
        self._job_deadline: float | None = None
        self._job_started = 0.0
        self._lock = threading.Lock()

    def beat(self) -> None:
        with self._lock:
            self._last = self.clock()

    def job_started(self, timeout: float | None) -> None:
        """A job is running; it may take ``timeout`` seconds (None: RQ's default of 180)."""
        now = self.clock()
        with self._lock:
            self._last = now
            self._job_started = now
            self._job_deadline = now + (timeout if timeout and timeout > 0 else 180) + JOB_GRACE

    def job_ended(self) -> None:
        with self._lock:
            self._last = self.clock()
            self._job_deadline = None

    def status(self) -> dict[str, Any]:
        """``alive`` and what it is judged on: the beat's age, the running job's age."""
        now = self.clock()
        with self._lock:
            age = now - self._last
            deadline = self._job_deadline
            started = self._job_started
        if deadline is not None:
            alive = now <= deadline
            job: dict[str, float] | None = {"running_seconds": round(now - started, 3)}
        else:
            alive = age <= self.stale_after
            job = None
        return {
            "status": "ok" if alive else "stalled",
            "heartbeat_age_seconds": round(age, 3),
            "stale_after_seconds": self.stale_after,
            "job": job,
        }


def readiness(heartbeat: Heartbeat, checks: Mapping[str, Callable[[], bool]]) -> dict[str, Any]:
    """The loop's liveness plus each dependency's answer (``ok`` or ``unreachable``)."""
    result: dict[str, Any] = {"loop": heartbeat.status()["status"]}
    for name, check in checks.items():
        try:
            answered = check()
        except Exception:
            answered = False
        result[name] = "ok" if answered else "unreachable"
    ready = all(v == "ok" for v in result.values())
    return {"status": "ok" if ready else "unavailable", **result}


class HealthServer:
    """``/healthz`` and ``/readyz`` on ``host:port`` from a daemon thread."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="codeforge-worker-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_health(
    heartbeat: Heartbeat, checks: Mapping[str, Callable[[], bool]], host: str, port: int
) -> HealthServer:
    """Start serving; UsageError naming ``--health-port`` when the address cannot be bound."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                body = heartbeat.status()
            elif path == "/readyz":
                body = readiness(heartbeat, checks)
            else:
                self._send(404, {"status": "not found", "paths": list(PATHS)})
                return
            self._send(200 if body["status"] == "ok" else 503, body)

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every few seconds: no access log

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise UsageError(
            f"cannot serve health checks on {host}:{port}: {exc.strerror}", where="--health-port"
        ) from exc
    server.daemon_threads = True
    return HealthServer(server).start()


def worker_checks(ctx: Any, redis_url: str) -> dict[str, Callable[[], bool]]:
    """What a worker needs to take jobs: the queue's Redis and the database."""
    from codeforge.app.outages import database_answers
    from codeforge.cache.connection import available

    return {"redis": lambda: available(redis_url), "database": lambda: database_answers(ctx)}
