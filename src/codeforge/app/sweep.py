"""The sweeper's side of the ``jobs`` table: abandoned leases, due jobs, expired results.

Like every transition in ``codeforge.app.jobstore``, each is a compare-and-set
``UPDATE ... WHERE`` on the state the sweeper saw, so several sweepers (one per
executor process) can run at once without acting twice on one job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from codeforge.db.models import Job, utcnow

LOST_WORKER: Final = "the worker running this job stopped responding"


def reclaim_abandoned(factory: sessionmaker[Session], result_ttl: float) -> tuple[int, int]:
    """Started jobs whose lease ran out: back to queued (due now), or failed when their
    attempts are used up. Returns (requeued, failed)."""
    now = utcnow()
    with factory.begin() as session:
        expired = (Job.status == "started") & (Job.lease_until < now)
        requeued = session.execute(
            update(Job)
            .where(expired & (Job.attempts < Job.max_attempts))
            .values(
                status="queued",
                worker=None,
                lease_until=now,
                not_before=None,
                stage="retrying: " + LOST_WORKER,
                error=LOST_WORKER,
                error_kind="abandoned",
            )
            .execution_options(synchronize_session=False)
        )
        failed = session.execute(
            update(Job)
            .where(expired & (Job.attempts >= Job.max_attempts))
            .values(
                status="failed",
                worker=None,
                lease_until=None,
                stage="failed",
                error=LOST_WORKER + " (no attempts left)",
                error_kind="abandoned",
                finished_at=now,
                expires_at=now + timedelta(seconds=result_ttl),
            )
            .execution_options(synchronize_session=False)
        )
        return int(requeued.rowcount), int(failed.rowcount)  # type: ignore[attr-defined]


def needs_sweep(session: Session) -> bool:
    """Whether any job has a lease or a result past its time (a cheap read first)."""
    now = utcnow()
    stmt = (
        select(Job.id)
        .where(
            ((Job.status.in_(("queued", "started"))) & (Job.lease_until < now))
            | (Job.expires_at < now)
        )
        .limit(1)
    )
    return session.execute(stmt).first() is not None


def take_due(
    factory: sessionmaker[Session],
    requeue_after: float,
    limit: int = 200,
    queues: list[str] | None = None,
    *,
    all_queued: bool = False,
) -> list[tuple[str, str, int]]:
    """Queued jobs due to be put on the queue (retry delay over, or their message may be
    lost); each is taken by bumping ``lease_until``, so one sweeper takes it. With
    ``all_queued`` every queued job is taken (an in-process queue that just started)."""
    now = utcnow()
    stmt = select(Job.id, Job.queue, Job.timeout, Job.lease_until).where(Job.status == "queued")
    if all_queued:
        # Not those waiting out a retry delay: they come due by their lease_until.
        stmt = stmt.where(Job.not_before.is_(None) | (Job.not_before <= now))
    else:
        stmt = stmt.where(Job.lease_until < now)
    if queues is not None:
        stmt = stmt.where(Job.queue.in_(queues))
    stmt = stmt.order_by(Job.created_at).limit(limit)
    taken: list[tuple[str, str, int]] = []
    with factory.begin() as session:
        rows = list(session.execute(stmt))
        for job_id, queue, timeout, lease_until in rows:
            cond = (Job.id == job_id) & (Job.status == "queued")
            cond = cond & (
                Job.lease_until.is_(None) if lease_until is None else Job.lease_until == lease_until
            )
            result = session.execute(
                update(Job)
                .where(cond)
                .values(lease_until=now + timedelta(seconds=requeue_after), stage="queued")
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                taken.append((str(job_id), str(queue), int(timeout)))
    return taken


def make_due(factory: sessionmaker[Session], job_id: str, delay: float) -> None:
    """The queue refused ``job_id``: try again in ``delay`` seconds."""
    due = utcnow() + timedelta(seconds=delay)
    with factory.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(lease_until=due, stage="waiting for the queue")
            .execution_options(synchronize_session=False)
        )


def take_expired_results(factory: sessionmaker[Session], limit: int = 500) -> list[str]:
    """Drop the results of jobs past ``expires_at``; returns their artifact ids to delete."""
    now = utcnow()
    with factory.begin() as session:
        rows = list(
            session.execute(
                select(Job.id, Job.artifact_id)
                .where(Job.expires_at < now, Job.status.in_(("finished", "failed")))
                .limit(limit)
            )
        )
        if not rows:
            return []
        session.execute(
            update(Job)
            .where(Job.id.in_([r[0] for r in rows]))
            .values(result=None, artifact_id=None, artifact_size=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )
    return [str(r[1]) for r in rows if r[1]]
