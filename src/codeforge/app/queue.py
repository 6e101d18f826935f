"""The job queue as the adapters use it: which queue a process gets, submitting a job, reading jobs.

A queue only carries job ids; the rows of ``codeforge.app.jobstore`` are the
truth. With ``CODEFORGE_REDIS_URL`` the queue is RQ on Redis
(``codeforge.cache.jobs``), otherwise a thread pool in the API process. Submitting
stores the row, then puts its id on the queue; when the queue refuses it the row
is withdrawn, so no job is accepted that is not queued.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from codeforge.app import jobstore
from codeforge.app.accounts import Actor
from codeforge.app.context import AppContext
from codeforge.errors import CodeForgeError, QueueUnavailable
from codeforge.redaction import redact

if TYPE_CHECKING:
    from codeforge.db.models import Job


class JobQueue(Protocol):
    """Carries job ids to the executors (``codeforge.cache.jobs`` implements it)."""

    def enqueue(self, job_id: str, queue: str, timeout: int) -> None:
        """Put ``job_id`` on ``queue``; QueueUnavailable when that is impossible now."""

    def describe(self) -> str: ...


@runtime_checkable
class LocalQueue(JobQueue, Protocol):
    """A queue whose executors are threads of this process: started and stopped with it."""

    def start(self) -> object: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def pending(self) -> int: ...


def redis_queue(url: str) -> JobQueue:
    """RQ on the Redis at ``url``, through the shared client and its outage breaker."""
    from codeforge.cache.jobs import RedisJobQueue

    return RedisJobQueue(url)


def thread_pool(run: Callable[[str], object], threads: int) -> LocalQueue:
    """A pool of ``threads`` threads of this process calling ``run(job_id)`` (not started)."""
    from codeforge.cache.jobs import InProcessQueue

    return InProcessQueue(run, threads)


def worker_name(prefix: str = "codeforge") -> str:
    """A name no other worker has: the host, the process id and a random suffix."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def run_worker(
    url: str, queues: list[str], name: str, *, burst: bool, level: str, watch: Any = None
) -> bool:
    """Run one RQ worker on ``queues`` until it stops; True when it was asked to stop (or the
    burst ended), False when Redis went away (RedisUnavailable instead with ``burst``).
    ``watch`` (a ``worker_health.Heartbeat``) hears the loop's beats and its jobs."""
    from codeforge.cache.jobs import run_rq_worker

    return run_rq_worker(url, queues, name, burst=burst, level=level, watch=watch)


def check_queue_up(redis_url: str | None) -> None:
    """QueueUnavailable while the Redis queue at ``redis_url`` is known to be down (its
    outage breaker is open), before a job is stored that could not be queued."""
    if not redis_url:
        return
    from codeforge.cache.connection import is_down

    if is_down(redis_url):
        raise QueueUnavailable(
            f"the job queue is unavailable (Redis at {redact(redis_url)} "
            "is not answering); the job was not queued",
            where="queue",
            hint="retry in a few seconds",
        )


@dataclasses.dataclass(frozen=True)
class Submission:
    """One job to submit: who, what, and how it is run and retried."""

    owner_id: int
    kind: str
    payload: dict[str, Any]
    queue: str
    max_attempts: int
    timeout: int
    requeue_after: float
    idempotency_key: str | None = None


def submit(
    ctx: AppContext, queue: JobQueue, redis_url: str | None, job: Submission
) -> tuple[Job, bool]:
    """Store the job and put it on ``queue``; returns (job, created). An idempotency key
    already used for the same request returns that job (ConflictError for another)."""
    check_queue_up(redis_url)
    row, created = jobstore.submit(
        ctx.factory,
        owner_id=job.owner_id,
        kind=job.kind,
        payload=job.payload,
        queue=job.queue,
        max_attempts=job.max_attempts,
        timeout=job.timeout,
        requeue_after=job.requeue_after,
        idempotency_key=job.idempotency_key,
    )
    if created:
        try:
            queue.enqueue(row.id, row.queue, job.timeout)
        except CodeForgeError:
            jobstore.withdraw(ctx.factory, row.id)
            raise
    return row, created


def list_jobs(
    ctx: AppContext,
    actor: Actor,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Job]:
    """The actor's jobs, newest first (admins: everyone's)."""
    with ctx.read() as session:
        return jobstore.list_jobs(
            session,
            None if actor.is_admin else actor.id,
            status=status,
            kind=kind,
            limit=limit,
            offset=offset,
        )


def get_job(ctx: AppContext, actor: Actor, job_id: str) -> Job:
    """One of the actor's jobs; NotFoundError for someone else's (unless admin)."""
    with ctx.read() as session:
        return jobstore.get_owned(session, job_id, None if actor.is_admin else actor.id)


def retry(
    ctx: AppContext,
    queue: JobQueue,
    redis_url: str | None,
    actor: Actor,
    job_id: str,
    timing: tuple[float, float],
) -> Job:
    """Queue one of the actor's failed jobs again (admins: anyone's), from a first attempt.

    ``timing`` is (requeue_after, result_ttl). The kind's own checks run again as the
    job's owner when a worker takes it, so a role lost since then still refuses it."""
    requeue_after, result_ttl = timing
    check_queue_up(redis_url)
    row = jobstore.requeue_failed(
        ctx.factory, job_id, None if actor.is_admin else actor.id, requeue_after
    )
    try:
        queue.enqueue(row.id, row.queue, row.timeout)
    except CodeForgeError as exc:
        jobstore.refail(ctx.factory, row.id, exc.message, result_ttl)
        raise
    return row


def discard(ctx: AppContext, actor: Actor, job_id: str) -> None:
    """Delete one of the actor's failed jobs (admins: anyone's)."""
    jobstore.discard_failed(ctx.factory, job_id, None if actor.is_admin else actor.id)


def status(ctx: AppContext, queue: JobQueue, failed_limit: int = 50) -> dict[str, Any]:
    """The job queue at a glance (admins): where jobs wait, how many in each state, how long
    the oldest has waited, and the newest failed jobs."""
    from datetime import UTC, datetime

    with ctx.read() as session:
        counts = jobstore.count_by_status(session)
        oldest = jobstore.oldest_queued(session)
        failed = jobstore.list_jobs(session, None, status="failed", limit=failed_limit)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)  # SQLite gives naive UTC times back
    waited = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else None
    return {
        "backend": queue.describe(),
        "counts": {name: counts.get(name, 0) for name in jobstore.STATUSES},
        "oldest_queued_seconds": None if waited is None else max(0.0, round(waited, 1)),
        "in_process_pending": queue.pending() if isinstance(queue, LocalQueue) else None,
        "failed": failed,
    }
