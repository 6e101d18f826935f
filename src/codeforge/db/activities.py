"""Reads over the Activity rows that span projects (the fleet's "last update")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from codeforge.db.models import Activity


def last_activities(
    session: Session, actions: Sequence[str], project_ids: Sequence[int] | None = None
) -> dict[int, Activity]:
    """The newest Activity row with one of ``actions``, per project (``project_ids``: only those)."""
    stmt = select(Activity).where(Activity.action.in_(list(actions)))
    stmt = stmt.where(Activity.project_id.is_not(None))
    if project_ids is not None:
        stmt = stmt.where(Activity.project_id.in_(list(project_ids)))
    newest: dict[int, Activity] = {}
    for row in session.scalars(stmt.order_by(Activity.at, Activity.id)):
        newest[int(row.project_id or 0)] = row
    return newest
