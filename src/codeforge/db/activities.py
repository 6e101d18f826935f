"""Reads that span projects: the fleet's "last update" (Activity rows) and owners' names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from codeforge.db.models import Activity, User


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


def user_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """``{user id: name}`` of ``user_ids`` (ids of no user are left out)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
