"""The audit trail: write one Activity row, read a filtered page of them (newest first)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from codeforge.app.context import AppContext

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.db.models import Activity


def record(
    session: Session,
    action: str,
    *,
    actor: str | None = None,
    user_id: int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Add an Activity row to the transaction of ``session``."""
    from codeforge.db.repositories import log_activity

    log_activity(session, action, actor=actor, user_id=user_id, target=target, details=details)


def page(
    ctx: AppContext,
    *,
    viewer_id: int | None,
    actor: str | None = None,
    project: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Activity], bool]:
    """At most ``limit`` rows from ``offset``, newest first, and whether more follow.

    ``viewer_id`` narrows the rows to one user's (None: everyone's, for admins).
    """
    from codeforge.db.repositories import ActivityFilter, list_activity

    filters = ActivityFilter(
        actor=actor,
        user_id=viewer_id,
        action=action,
        project_id=project,
        since=since,
        until=until,
    )
    with ctx.read() as session:
        rows = list_activity(session, filters, limit=limit + 1, offset=offset)
    return rows[:limit], len(rows) > limit
