"""The job queue: RQ on Redis when ``CODEFORGE_REDIS_URL`` is set, a thread pool otherwise.

Either way a queue message is only a job id; the ``jobs`` table holds the rest
(``codeforge.jobs.store``). RQ jobs are serialised with RQ's ``JSONSerializer``
(``["codeforge.jobs.runtime.run_rq_job", null, [], {"job_id": "..."}]``): nothing
is ever pickled into Redis.

Redis down: putting a job on the queue raises ``QueueUnavailable`` (HTTP 503 with
a clear message); the API then withdraws the job it had just stored, so no job is
accepted that is not queued. Status reads come from the database and keep working.
The outage breaker (``codeforge.cache.connection``) makes the first call after
``retry_after`` try again, so submissions work again as soon as Redis is back.

Without Redis, ``InProcessQueue`` runs jobs in threads of the API process with the
same runner and the same endpoints. On start it takes every job still queued in
the database (a restarted server picks its jobs up again), and a job that was
running when the process died is retried once its lease runs out.
"""

from __future__ import annotations

import logging
import os
import queue as queue_module
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final, Protocol

from codeforge.errors import QueueUnavailable, RedisUnavailable

log = logging.getLogger("codeforge.jobs")

RQ_ENTRY: Final = "codeforge.jobs.runtime.run_rq_job"
# RQ's own hard stop comes this long after the job's timeout (the runner fails the
# job at the timeout itself; RQ's alarm only interrupts work that ignores it).
RQ_TIMEOUT_GRACE: Final = 10
RQ_FAILURE_TTL: Final = 24 * 3600


class JobQueue(Protocol):
    def enqueue(self, job_id: str, queue: str, timeout: int) -> None:
        """Put ``job_id`` on ``queue``; QueueUnavailable when that is impossible now."""

    def describe(self) -> str: ...


def rq_queue(connection: Any, name: str) -> Any:
    """An RQ queue on ``connection`` that serialises with JSON (never pickle)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(name, connection=connection, serializer=JSONSerializer)


class RedisJobQueue:
    """Enqueue on RQ through the shared client and its outage breaker."""

    def __init__(self, url: str) -> None:
        self.url = url

    def describe(self) -> str:
        from codeforge.cache.connection import redacted

        return f"redis {redacted(self.url)}"

    def enqueue(self, job_id: str, queue: str, timeout: int) -> None:
        from codeforge.cache.connection import call

        def put(client: Any) -> None:
            rq_queue(client, queue).enqueue_call(
                func=RQ_ENTRY,
                kwargs={"job_id": job_id},
                timeout=timeout + RQ_TIMEOUT_GRACE,
                result_ttl=0,
                failure_ttl=RQ_FAILURE_TTL,
                # One RQ job per delivery: a retry is a new message, the row the same.
                job_id=f"{job_id}-{uuid.uuid4().hex[:8]}",
                description=f"codeforge job {job_id}",
            )

        try:
            call(self.url, put)
        except RedisUnavailable as exc:
            raise QueueUnavailable(
                f"the job queue is unavailable ({exc.message}); the job was not queued",
                where="queue",
                hint="retry in a few seconds",
            ) from exc


class InProcessQueue:
    """A thread pool in this process running jobs from an in-memory queue."""

    def __init__(self, run: Callable[[str], object], threads: int) -> None:
        self.run = run
        self.threads = threads
        self._queue: queue_module.Queue[str | None] = queue_module.Queue()
        self._workers: list[threading.Thread] = []

    def describe(self) -> str:
        return f"in-process ({self.threads} threads)"

    def enqueue(self, job_id: str, queue: str, timeout: int) -> None:
        self._queue.put(job_id)

    def pending(self) -> int:
        return self._queue.qsize()

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self.run(job_id)
            except Exception:  # the runner records failures itself; never let a thread die
                log.exception("job %s: the runner failed", job_id)

    def start(self) -> InProcessQueue:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"codeforge-job-{i}", daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for thread in self._workers:
            thread.join(timeout=timeout)


def worker_name(prefix: str = "codeforge") -> str:
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
