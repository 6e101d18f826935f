"""``codeforge fleet update`` on a configured server: one ``update`` job per lagging project.

The operator running the CLI on the server's database acts as an administrator (as
``codeforge users`` does): every user's projects are read, each against the catalog
as its owner sees it, and each one that lags gets an ``update`` job owned by its
owner, so that ``pr`` uses the owner's own stored credential exactly as
``POST /api/v1/projects/{id}/update`` does. The jobs go on the queue the workers
take from, any number of them in parallel; the CLI waits for their rows and reports
every project as the in-process fleet update does (:mod:`codeforge.app.fleet`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from codeforge.app import fleet, fleet_server
from codeforge.app import queue as job_queue
from codeforge.app.context import AppContext
from codeforge.app.fleet import FleetEntry, FleetOutcome
from codeforge.errors import CodeForgeError, ConflictError

if TYPE_CHECKING:
    from codeforge.db.models import Job

POLL_SECONDS: Final = 0.5
ACTION: Final = "fleet.update"  # the Activity row of the operator who queued the jobs
DONE: Final = ("finished", "failed")
MAX_KEY_LENGTH: Final = 200  # the jobs table's idempotency_key column


@dataclasses.dataclass(frozen=True)
class Owner:
    """A project's owner: the user its ``update`` job runs as."""

    id: int
    name: str
    role: str
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclasses.dataclass(frozen=True)
class Target:
    """One server project as the fleet sees it, with its owner."""

    entry: FleetEntry
    owner: Owner


@dataclasses.dataclass(frozen=True)
class Queued:
    """A project's job, or the outcome it got without one (up to date, refused).

    ``earlier`` is the status the job had when an earlier run had already made it (its
    idempotency key was taken): ``queued``, ``started`` or ``finished`` (this run waits for
    it), or ``failed`` (this run queued it again); None for a job this run made."""

    target: Target
    job_id: str | None = None
    outcome: FleetOutcome | None = None
    earlier: str | None = None


class QueueSettings(Protocol):
    """Where and how a job is queued (``codeforge.jobs.config.JobConfig`` is one)."""

    @property
    def queue(self) -> str: ...

    @property
    def max_attempts(self) -> int: ...

    @property
    def requeue_after(self) -> float: ...

    @property
    def result_ttl(self) -> float: ...

    def timeout_for(self, kind: str) -> int: ...


Check = Callable[[Owner, dict[str, Any]], None]  # the ``update`` kind's check, as the owner


def targets(ctx: AppContext, blueprint: str | None = None) -> list[Target]:
    """Every user's projects (of ``blueprint``), each against the catalog its owner sees, in
    the order of ``fleet status`` (name, path, id)."""
    from sqlalchemy import select

    from codeforge.db.models import Project, User

    with ctx.read() as session:
        owners = [
            Owner(user.id, user.name, user.role, bool(user.disabled))
            for user in session.scalars(
                select(User).where(User.id.in_(select(Project.owner_id).distinct()))
            )
        ]
    found = [
        Target(entry, owner)
        for owner in owners
        for entry in fleet_server.status(ctx, owner, blueprint, own_only=True)
    ]
    return sorted(found, key=lambda t: (t.entry.name, t.entry.path, t.entry.id))


def _failed(entry: FleetEntry, message: str, exit_code: int) -> FleetOutcome:
    return FleetOutcome(
        entry.id, entry.name, entry.path, "failed", entry.version, entry.latest or "",
        error=message, exit_code=exit_code,
    )  # fmt: skip


def idempotency_key(entry: FleetEntry, pr: bool) -> str:
    """The key of the job that brings project ``entry`` to its newest version (keys are per
    owner, as the API's): one job per project, target version and mode."""
    key = f"fleet-update:{entry.id}:{entry.latest}:{'pr' if pr else 'merge'}"
    if len(key) > MAX_KEY_LENGTH:  # an over-long version string: still one key per target
        key = f"fleet-update:{entry.id}:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _submit(
    ctx: AppContext,
    queue: job_queue.JobQueue,
    redis_url: str | None,
    settings: QueueSettings,
    owner: Owner,
    submission: job_queue.Submission,
) -> tuple[str, str | None]:
    """Submit one job under its key: (job id, its earlier status). An earlier run's job with
    that key is reused; a failed one is queued again, as ``POST /api/v1/jobs/{id}/retry``
    does."""
    row, created = job_queue.submit(ctx, queue, redis_url, submission)
    if created:
        return row.id, None
    if row.status == "failed":
        timing = (settings.requeue_after, settings.result_ttl)
        try:
            job_queue.retry(ctx, queue, redis_url, owner, row.id, timing)
        except ConflictError:  # another run retried it meanwhile: wait for that attempt
            return row.id, "queued"
    return row.id, row.status


def enqueue(
    ctx: AppContext,
    queue: job_queue.JobQueue,
    redis_url: str | None,
    settings: QueueSettings,
    found: Sequence[Target],
    *,
    pr: bool,
    check: Check,
) -> list[Queued]:
    """Queue an ``update`` job, owned by its owner, for every project in ``found`` that lags.

    A project that does not lag is ``up-to-date``; one whose owner is disabled or that the
    kind's check refuses (a tree no longer stored, never published with ``pr``) is
    ``failed`` with that error, and the others are still queued. Each job has the key of
    :func:`idempotency_key`: a run while an earlier run's job for the same project, version
    and mode is queued, running or finished gets that job back instead of a second one; a
    failed one is queued again (fresh attempts), so a rerun retries it."""
    done: list[Queued] = []
    for target in found:
        entry, owner = target.entry, target.owner
        if not entry.lagging:
            same = FleetOutcome(
                entry.id, entry.name, entry.path, "up-to-date", entry.version, entry.version
            )
            done.append(Queued(target, outcome=same))
            continue
        if owner.disabled:
            message = f"its owner {owner.name} is disabled, so no job runs as them"
            done.append(Queued(target, outcome=_failed(entry, message, 6)))
            continue
        payload: dict[str, Any] = {"pr": pr, "project_id": entry.id}
        submission = job_queue.Submission(
            owner_id=owner.id,
            kind="update",
            payload=payload,
            queue=settings.queue,
            max_attempts=settings.max_attempts,
            timeout=settings.timeout_for("update"),
            requeue_after=settings.requeue_after,
            idempotency_key=idempotency_key(entry, pr),
        )
        try:
            check(owner, payload)
            job_id, earlier = _submit(ctx, queue, redis_url, settings, owner, submission)
        except CodeForgeError as exc:
            message, code = fleet.failure(exc)
            done.append(Queued(target, outcome=_failed(entry, message, code)))
            continue
        done.append(Queued(target, job_id=job_id, earlier=earlier))
    return done


def record_request(
    ctx: AppContext, os_user: str, blueprint: str | None, pr: bool, queued: Sequence[Queued]
) -> None:
    """The ``fleet.update`` Activity row: the local operator (no actor, as ``codeforge users``
    writes; the OS account in ``details``) queued these jobs."""
    from codeforge.db.repositories import log_activity

    jobs = [
        {
            "job_id": q.job_id,
            "project_id": q.target.entry.id,
            "owner": q.target.owner.name,
            "earlier": q.earlier,
        }
        for q in queued
        if q.job_id is not None
    ]
    with ctx.factory.begin() as session:
        log_activity(
            session,
            ACTION,
            target=f"{len(jobs)} update job(s)",
            details={"os_user": os_user, "blueprint": blueprint, "pr": pr, "jobs": jobs},
        )


def _exit_code(kind: str | None) -> int:
    """The CLI exit code of the error kind a failed job recorded (1 when unknown)."""
    pending: list[type[CodeForgeError]] = [CodeForgeError]
    while pending:
        cls = pending.pop()
        if cls.kind == kind:
            return cls.exit_code
        pending.extend(cls.__subclasses__())
    return 1


def outcome_of(target: Target, job: Job | None) -> FleetOutcome:
    """What a finished or failed ``update`` job did, as a fleet outcome."""
    entry = target.entry
    if job is None:
        return _failed(entry, "the job's record is gone (expired or discarded)", 1)
    if job.status == "failed":
        return _failed(entry, job.error or "the job failed", _exit_code(job.error_kind))
    result = job.result or {}
    conflicts = tuple(str(c) for c in result.get("conflicts") or ())
    pull = result.get("pull")
    url = None
    status: fleet.Status
    if isinstance(pull, dict):
        status = fleet.PULL_STATUSES.get(str(pull.get("action")), "up-to-date")
        url = pull.get("url")
    elif not result.get("changed"):
        status = "up-to-date"
    else:
        status = "conflicts" if conflicts else "updated"
    return FleetOutcome(
        entry.id, entry.name, entry.path, status, str(result.get("from_version") or entry.version),
        str(result.get("to_version") or entry.latest or ""), url, conflicts,
    )  # fmt: skip


def _jobs(ctx: AppContext, ids: Sequence[str]) -> dict[str, Job]:
    from sqlalchemy import select

    from codeforge.db.models import Job

    with ctx.read() as session:
        rows = session.scalars(select(Job).where(Job.id.in_(list(ids))))
        return {row.id: row for row in rows}


def wait(
    ctx: AppContext,
    queued: Sequence[Queued],
    progress: Callable[[int, int], None],
    *,
    poll: float = POLL_SECONDS,
) -> list[FleetOutcome]:
    """Wait until every queued job finished or failed; each project's outcome, in order.

    ``progress(done, total)`` hears each change in how many jobs are done."""
    jobs = {q.job_id: q.target for q in queued if q.job_id is not None}
    outcomes: dict[str, FleetOutcome] = {}
    shown = -1
    while True:
        waiting = [job_id for job_id in jobs if job_id not in outcomes]
        if waiting:
            rows = _jobs(ctx, waiting)
            for job_id in waiting:
                row = rows.get(job_id)
                if row is None or row.status in DONE:
                    outcomes[job_id] = outcome_of(jobs[job_id], row)
        if len(outcomes) != shown:
            shown = len(outcomes)
            progress(shown, len(jobs))
        if len(outcomes) == len(jobs):
            break
        time.sleep(poll)
    return [q.outcome or outcomes[str(q.job_id)] for q in queued]


def pending(ctx: AppContext, queued: Sequence[Queued]) -> list[str]:
    """The ids of the queued jobs not finished or failed yet."""
    ids = [q.job_id for q in queued if q.job_id is not None]
    rows = _jobs(ctx, ids) if ids else {}
    return [i for i in ids if i in rows and rows[i].status not in DONE]
