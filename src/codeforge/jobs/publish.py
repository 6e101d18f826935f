"""What the ``publish`` job kind and the ``publish`` step of a ``generate`` job share.

The kinds themselves are in :mod:`codeforge.jobs.kinds`. ``publish`` takes ``{"project_id": N, "publish": {...}}``: one of the caller's own
projects, whose generated tree is in the artifact store, published with the
caller's own stored credential (``publish.credential``, default ``default``). The
payload names the credential; the token is opened only while the job runs and
never reaches the payload, the result, the Activity row or the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from codeforge.app import jobstore, server_publish
from codeforge.app.context import AppContext
from codeforge.app.publish import PublishResult

if TYPE_CHECKING:
    from codeforge.jobs.kinds import JobRun, Owner


def options_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``publish`` options of a payload (validated by the API schema first)."""
    options = payload.get("publish")
    return dict(options) if isinstance(options, Mapping) else {}


def check_options(ctx: AppContext, owner: Owner, options: Mapping[str, Any]) -> None:
    """The forge, host and options are usable and the owner has the credential."""
    with ctx.read() as session:
        server_publish.check(ctx, session, owner.id, options)


def utc(moment: datetime) -> datetime:
    """``moment`` with its time zone (the database may give it back naive, in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def job_created(ctx: AppContext, job_id: str) -> datetime:
    """When the job was submitted: the same on every attempt."""
    with ctx.read() as session:
        created = jobstore.created_at(session, job_id)
        return utc(created) if created is not None else datetime.now(UTC)


def publish_now(
    job: JobRun, data: bytes, options: Mapping[str, Any], message: str, date: datetime
) -> PublishResult:
    """Publish the zip ``data`` for the job's owner, with progress."""
    job.progress(60, "publishing")
    return server_publish.publish_zip(
        job.ctx, job.owner.id, data, options, message=message, date=date
    )


def record_publish(
    session: Session, project_id: int, result: PublishResult, job: JobRun
) -> dict[str, Any]:
    """The project row's remote and the Activity row, in the job's finishing transaction."""
    server_publish.record(
        session,
        project_id,
        result,
        actor=job.owner.name,
        user_id=job.owner.id,
        job_id=job.id,
        at=datetime.now(UTC),
    )
    return {"project_id": project_id}
