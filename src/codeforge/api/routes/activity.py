"""``/activity``: the audit trail, filterable and paginated. Members see their own rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.schemas import ActivityPage, ActivityPublic
from codeforge.app import activity

router = APIRouter(prefix=f"{API_PREFIX}/activity", tags=["activity"])


@router.get("", response_model=ActivityPage)
def list_activity(
    ctx: Ctx,
    user: CurrentUser,
    actor: Annotated[
        str | None, Query(max_length=200, pattern=PLAIN_TEXT, description="user name")
    ] = None,
    project: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=50, pattern=PLAIN_TEXT)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ActivityPage:
    """Newest first. Admins see everyone's activity; others only their own."""
    rows, more = activity.page(
        ctx,
        viewer_id=None if user.is_admin else user.id,
        actor=actor,
        project=project,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return ActivityPage(
        items=[ActivityPublic.model_validate(r) for r in rows],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )
