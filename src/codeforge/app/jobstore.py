"""The ``jobs`` table: submission, claims, leases and outcomes. The rows are the truth.

A job moves ``queued -> started -> finished | failed``. Every transition is a
compare-and-set ``UPDATE ... WHERE`` on the state the caller believes in, so two
workers (or a worker and the sweeper) can never both act on one job:

* **claim**: ``queued`` (and not waiting for a retry delay) -> ``started`` with
  ``attempts + 1``, this worker's name and a lease;
* **renew / progress**: only while this worker still holds that attempt;
* **finish**: in one transaction with the job's own records (Project, Activity,
  Blueprint rows), so either both commit or neither does: a job completes once;
* **sweep** (``codeforge.app.sweep``): a ``started`` job whose lease ran out (its
  worker died) goes back to ``queued`` (or ``failed`` after ``max_attempts``); a
  ``queued`` job whose ``lease_until`` passed is (re-)put on the queue.

For a queued row ``lease_until`` is the time by which a worker should have started
it: the retry delay after a transient failure, or ``requeue_after`` for a message
that may have been lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from codeforge.db.models import JOB_STATUSES, Job, User, utcnow
from codeforge.errors import ConflictError, NotFoundError

MAX_ERROR_LENGTH: Final = 2000
# The states a job moves through (what ``GET /jobs?status=`` accepts).
STATUSES: Final = JOB_STATUSES


@dataclasses.dataclass(frozen=True)
class Claimed:
    """One attempt of a job, held by one worker."""

    id: str
    kind: str
    owner_id: int
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    timeout: int
    worker: str
    queue: str
    # The owner as the claim found them; None when removed or disabled.
    owner: tuple[str, str] | None = None  # (name, role)


def payload_digest(kind: str, payload: dict[str, Any]) -> str:
    """The SHA-256 of the canonical JSON of the request (idempotency conflicts)."""
    canonical = json.dumps({"kind": kind, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_job_id() -> str:
    return uuid.uuid4().hex


def _clip(message: str) -> str:
    return message if len(message) <= MAX_ERROR_LENGTH else message[: MAX_ERROR_LENGTH - 1] + "…"


# -- submission and reads ------------------------------------------------------------------


def find_by_key(session: Session, owner_id: int, key: str) -> Job | None:
    stmt = select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    return session.scalars(stmt).first()


def _same_request(existing: Job, digest: str, key: str) -> Job:
    if existing.payload_hash != digest:
        raise ConflictError(
            f"the Idempotency-Key {key!r} was already used for a different request",
            where="Idempotency-Key",
            hint="use a new key for a new request",
        )
    return existing


def submit(
    factory: sessionmaker[Session],
    *,
    owner_id: int,
    kind: str,
    payload: dict[str, Any],
    queue: str,
    max_attempts: int,
    timeout: int,
    requeue_after: float,
    idempotency_key: str | None = None,
) -> tuple[Job, bool]:
    """Create the job (queued); returns (job, created). An idempotency key already used by
    this owner for the same request returns that job; for another request, ConflictError."""
    digest = payload_digest(kind, payload)
    if idempotency_key is not None:
        with factory() as session:
            existing = find_by_key(session, owner_id, idempotency_key)
            if existing is not None:
                return _same_request(existing, digest, idempotency_key), False
    now = utcnow()
    job = Job(
        id=new_job_id(),
        owner_id=owner_id,
        kind=kind,
        queue=queue,
        status="queued",
        payload=payload,
        payload_hash=digest,
        idempotency_key=idempotency_key,
        progress=0,
        stage="queued",
        attempts=0,
        max_attempts=max_attempts,
        timeout=timeout,
        created_at=now,
        lease_until=now + timedelta(seconds=requeue_after),
    )
    try:
        with factory.begin() as session:
            session.add(job)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # Two requests with one key at once: the other one won; answer with its job.
        with factory() as session:
            existing = find_by_key(session, owner_id, idempotency_key)
            if existing is None:
                raise
            return _same_request(existing, digest, idempotency_key), False
    return job, True


def withdraw(factory: sessionmaker[Session], job_id: str) -> bool:
    """Delete a job that was never put on a queue nor started (the queue refused it)."""
    with factory.begin() as session:
        result = session.execute(
            delete(Job).where(Job.id == job_id, Job.status == "queued", Job.attempts == 0)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def get_owned(session: Session, job_id: str, owner_id: int | None) -> Job:
    """The job ``job_id`` owned by ``owner_id`` (None: any owner); NotFoundError otherwise,
    the same for a missing job and someone else's."""
    job = session.get(Job, job_id) if len(job_id) <= 36 else None
    if job is None or (owner_id is not None and job.owner_id != owner_id):
        raise NotFoundError(f"no job {job_id}", where="job")
    return job


def list_jobs(
    session: Session,
    owner_id: int | None,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Job]:
    """Jobs newest first; ``owner_id`` None lists everyone's (admins)."""
    stmt = select(Job)
    if owner_id is not None:
        stmt = stmt.where(Job.owner_id == owner_id)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    stmt = stmt.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def latest_for_project(session: Session, owner_id: int, kind: str, project_id: int) -> Job | None:
    """The newest ``kind`` job of ``owner_id`` whose request names project ``project_id``.

    The database picks it (the payload's ``project_id``, read as a JSON number by SQLite
    and PostgreSQL alike), so a project reviewed long ago is found however many newer
    jobs the owner has."""
    stmt = (
        select(Job)
        .where(
            Job.owner_id == owner_id,
            Job.kind == kind,
            Job.payload["project_id"].as_integer() == project_id,
        )
        .order_by(Job.created_at.desc(), Job.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {str(status): int(n) for status, n in rows}


# -- the worker's side -----------------------------------------------------------------------


def _held(claimed: Claimed) -> Any:
    return (
        (Job.id == claimed.id)
        & (Job.status == "started")
        & (Job.worker == claimed.worker)
        & (Job.attempts == claimed.attempt)
    )


def _update_held(factory: sessionmaker[Session], claimed: Claimed, values: dict[str, Any]) -> bool:
    """Set ``values`` on the job in its own transaction while this attempt still holds it;
    False when it no longer does."""
    with factory.begin() as session:
        result = session.execute(
            update(Job)
            .where(_held(claimed))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(factory: sessionmaker[Session], job_id: str, worker: str, lease: float) -> Claimed | None:
    """Start the next attempt of ``job_id`` for ``worker``; None when it is not ours to run
    (unknown, already running elsewhere, waiting for a retry delay, or done)."""
    now = utcnow()
    with factory.begin() as session:
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == "queued",
                (Job.not_before.is_(None)) | (Job.not_before <= now),
            )
            .values(
                status="started",
                attempts=Job.attempts + 1,
                worker=worker,
                lease_until=now + timedelta(seconds=lease),
                started_at=now,
                not_before=None,
                progress=0,
                stage="started",
            )
            .returning(
                Job.kind,
                Job.owner_id,
                Job.payload,
                Job.attempts,
                Job.max_attempts,
                Job.timeout,
                Job.queue,
            )
            .execution_options(synchronize_session=False)
        ).first()
        if result is None:
            return None
        kind, owner_id, payload, attempts, max_attempts, timeout, queue = result
        user = session.execute(
            select(User.name, User.role).where(User.id == owner_id, User.disabled.is_(False))
        ).first()
        return Claimed(
            owner=None if user is None else (str(user[0]), str(user[1])),
            id=job_id,
            kind=kind,
            owner_id=owner_id,
            payload=dict(payload),
            attempt=attempts,
            max_attempts=max_attempts,
            timeout=timeout,
            worker=worker,
            queue=queue,
        )


def renew(
    factory: sessionmaker[Session],
    claimed: Claimed,
    lease: float,
    progress: int | None = None,
    stage: str | None = None,
) -> bool:
    """Extend this attempt's lease (and record progress); False when it is no longer ours."""
    values: dict[str, Any] = {"lease_until": utcnow() + timedelta(seconds=lease)}
    if progress is not None:
        values["progress"] = max(0, min(100, progress))
    if stage is not None:
        values["stage"] = stage[:100]
    return _update_held(factory, claimed, values)


def finish(
    factory: sessionmaker[Session],
    claimed: Claimed,
    *,
    result: dict[str, Any] | None,
    artifact_id: str | None,
    artifact_size: int | None,
    result_ttl: float,
    record: Callable[[Session], dict[str, Any] | None] | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Mark the attempt finished and write the job's own records in the same transaction.

    ``record(session)`` adds the job's rows and may return more result fields. False
    (and nothing written) when the attempt is no longer ours (timed out, or retaken
    after its lease ran out).
    """
    now = utcnow()
    try:
        with factory.begin() as session:
            # The job's rows first, then the conditional update: when the attempt is no
            # longer ours (timed out, or retaken after its lease ran out) _NotHeld rolls
            # the rows back, and the attempt that holds the job records them.
            extra = record(session) if record is not None else None
            values: dict[str, Any] = {} if payload is None else {"payload": payload}
            done = session.execute(
                update(Job)
                .where(_held(claimed))
                .values(
                    **values,
                    status="finished",
                    progress=100,
                    stage="finished",
                    result={**(result or {}), **(extra or {})},
                    artifact_id=artifact_id,
                    artifact_size=artifact_size,
                    error=None,
                    error_kind=None,
                    lease_until=None,  # the worker's name stays: which one ran it
                    finished_at=now,
                    expires_at=now + timedelta(seconds=result_ttl),
                )
                .execution_options(synchronize_session=False)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                raise _NotHeld(claimed.id)
    except _NotHeld:
        return False
    return True


class _NotHeld(Exception):
    """Raised inside ``finish`` to roll its transaction back."""


def retry_later(
    factory: sessionmaker[Session], claimed: Claimed, message: str, kind: str, delay: float
) -> bool:
    """Put the attempt back as ``queued`` after ``delay`` seconds (transient failure)."""
    due = utcnow() + timedelta(seconds=delay)
    return _update_held(
        factory,
        claimed,
        {
            "status": "queued",
            "worker": None,
            "not_before": due,
            "lease_until": due,
            "stage": f"retrying in {delay:.0f} s",
            "error": _clip(message),
            "error_kind": kind,
        },
    )


def fail(
    factory: sessionmaker[Session],
    claimed: Claimed,
    message: str,
    kind: str,
    result_ttl: float,
    *,
    scrub: dict[str, Any] | None = None,
) -> bool:
    """Mark the attempt failed for good with ``message`` (shown to the owner and admins)."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": "failed",
        "lease_until": None,
        "stage": "failed",
        "error": _clip(message),
        "error_kind": kind,
        "finished_at": now,
        "expires_at": now + timedelta(seconds=result_ttl),
    }
    if scrub is not None:
        values["payload"] = scrub
    return _update_held(factory, claimed, values)


def created_at(session: Session, job_id: str) -> datetime | None:
    """When job ``job_id`` was submitted, or None when there is no such job."""
    row = session.get(Job, job_id)
    return row.created_at if row is not None else None


def is_expired(job: Job) -> bool:
    """True when a finished job's result was already dropped."""
    return job.status == "finished" and job.result is None and job.artifact_id is None


def requeue_failed(
    factory: sessionmaker[Session], job_id: str, owner_id: int | None, requeue_after: float
) -> Job:
    """Put a failed job back as ``queued`` for a fresh set of attempts (a retry its owner or an
    admin asked for); ConflictError unless it is failed, NotFoundError for someone else's."""
    now = utcnow()
    with factory.begin() as session:
        job = get_owned(session, job_id, owner_id)
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "failed")
            .values(
                status="queued",
                attempts=0,
                progress=0,
                stage="queued (retried)",
                error=None,
                error_kind=None,
                worker=None,
                not_before=None,
                finished_at=None,
                expires_at=None,
                lease_until=now + timedelta(seconds=requeue_after),
            )
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            raise ConflictError(
                f"job {job_id} is {job.status}: only a failed job can be retried", where="job"
            )
    with factory() as session:
        return get_owned(session, job_id, None)


def refail(factory: sessionmaker[Session], job_id: str, message: str, result_ttl: float) -> None:
    """A retried job the queue refused: failed again, with the queue's message."""
    now = utcnow()
    with factory.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued", Job.attempts == 0)
            .values(
                status="failed",
                stage="failed",
                error=_clip(message),
                error_kind="queue",
                finished_at=now,
                expires_at=now + timedelta(seconds=result_ttl),
            )
        )


def discard_failed(factory: sessionmaker[Session], job_id: str, owner_id: int | None) -> None:
    """Delete a failed job for good; ConflictError unless it is failed (someone else's: 404)."""
    with factory.begin() as session:
        job = get_owned(session, job_id, owner_id)
        done = session.execute(delete(Job).where(Job.id == job_id, Job.status == "failed"))
        if not done.rowcount:  # type: ignore[attr-defined]
            raise ConflictError(
                f"job {job_id} is {job.status}: only a failed job can be discarded", where="job"
            )


def oldest_queued(session: Session) -> datetime | None:
    """When the longest-waiting queued job was submitted (None: nothing waits)."""
    found: datetime | None = session.scalar(
        select(func.min(Job.created_at)).where(Job.status == "queued")
    )
    return found
