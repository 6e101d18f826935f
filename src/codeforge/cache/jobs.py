"""The job queue: RQ on Redis when ``CODEFORGE_REDIS_URL`` is set, a thread pool otherwise.

Either way a queue message is only a job id; the ``jobs`` table holds the rest
(``codeforge.app.jobstore``). Both queues implement ``codeforge.app.queue.JobQueue``.
RQ jobs are serialised with RQ's ``JSONSerializer``
(``["codeforge.jobs.runtime.run_rq_job", null, [], {"job_id": "..."}]``): nothing
is ever pickled into Redis. ``run_rq_worker`` is the loop of ``codeforge worker``.

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
import queue as queue_module
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


class LoopWatch(Protocol):
    """Told when the worker loop beats and when a job starts and ends (its health check)."""

    def beat(self) -> None: ...

    def job_started(self, timeout: float | None) -> None: ...

    def job_ended(self) -> None: ...


def _worker_class() -> Any:
    """RQ's in-process worker (no fork per job: warm caches and connection pools),
    remembering a stop request (SIGTERM, Ctrl-C) so the outer loop ends too."""
    from rq.worker import SimpleWorker

    class Worker(SimpleWorker):
        stop_asked = False
        loop_watch: LoopWatch | None = None

        def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
            # Before Redis is touched: a loop retrying a dead Redis is still alive.
            if self.loop_watch is not None:
                self.loop_watch.beat()
            super().heartbeat(timeout, pipeline)

        def execute_job(self, job: Any, queue: Any) -> None:
            if self.loop_watch is None:
                super().execute_job(job, queue)
                return
            self.loop_watch.job_started(job.timeout)
            try:
                super().execute_job(job, queue)
            finally:
                self.loop_watch.job_ended()

        def request_stop(self, signum: Any, frame: Any) -> None:
            self.stop_asked = True
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

        def subscribe(self) -> None:
            # RQ's own, but the listener thread wakes every second instead of every 60 s.
            # On the way out RQ unsubscribes and calls the thread's stop(), which in this
            # redis-py waits for the thread: one sitting in get_message(timeout=60) after
            # the unsubscribe held a polite stop (SIGTERM) for up to a minute.
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
                sleep_time=1.0, daemon=True, exception_handler=self._pubsub_exception_handler
            )

    return Worker


def run_rq_worker(
    url: str,
    names: list[str],
    name: str,
    *,
    burst: bool,
    level: str,
    watch: LoopWatch | None = None,
) -> bool:
    """Run one RQ worker until it stops; True when it was asked to stop (or burst ended).

    With ``burst``, Redis being unreachable is an error (exit 9): there is nothing to
    wait for. Without it, the caller builds a new worker once Redis answers again.
    """
    from redis import Redis, RedisError
    from rq.serializers import JSONSerializer

    from codeforge.cache.connection import redacted

    # A client of its own: RQ raises its socket timeout above the blocking dequeue's.
    connection = Redis.from_url(url, socket_connect_timeout=2.0, health_check_interval=30)
    rq_worker: Any = None
    try:
        rq_worker = _worker_class()(
            [rq_queue(connection, n) for n in names],
            name=name,
            connection=connection,
            serializer=JSONSerializer,
            worker_ttl=60,
            job_monitoring_interval=5,
        )
        rq_worker.max_connection_wait_time = 2.0
        rq_worker.loop_watch = watch
        rq_worker.work(burst=burst, logging_level=level.upper())
    except (RedisError, OSError) as exc:
        if burst:
            raise RedisUnavailable(
                f"Redis at {redacted(url)} is unreachable: {type(exc).__name__}",
                hint="start Redis or fix CODEFORGE_REDIS_URL; without --burst the worker "
                "waits for Redis and carries on",
            ) from exc
        log.warning("worker %s: Redis unavailable (%s); retrying", name, type(exc).__name__)
        return rq_worker is not None and bool(rq_worker.stop_asked)
    finally:
        connection.close()
    return bool(rq_worker.stop_asked) or burst


def count_workers(url: str) -> int:
    """How many RQ workers are registered on Redis at ``url`` now (a dead worker's entry
    expires with its heartbeat); ``RedisUnavailable`` when Redis does not answer."""
    from rq import Worker

    from codeforge.cache.connection import call

    return int(call(url, lambda client: Worker.count(connection=client)))
