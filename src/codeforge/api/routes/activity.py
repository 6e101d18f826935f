"""``/activity``: the audit trail, filterable and paginated, or as CSV. Members see their own rows."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.schemas import ActivityPage, ActivityPublic
from codeforge.app import activity
from codeforge.app.authentication import Principal
from codeforge.app.context import AppContext

router = APIRouter(prefix=f"{API_PREFIX}/activity", tags=["activity"])

CSV_MAX_ROWS: Final = 10_000
CSV_COLUMNS: Final = ("id", "at", "actor", "user_id", "action", "project_id", "target", "details")
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclasses.dataclass
class Filters:
    """The filters both routes take (query parameters)."""

    actor: Annotated[
        str | None, Query(max_length=200, pattern=PLAIN_TEXT, description="user name")
    ] = None
    project: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
    action: Annotated[str | None, Query(max_length=50, pattern=PLAIN_TEXT)] = None
    since: datetime | None = None
    until: datetime | None = None


FiltersDep = Annotated[Filters, Depends()]


def _page(
    ctx: AppContext, user: Principal, f: Filters, limit: int, offset: int
) -> tuple[list[ActivityPublic], bool]:
    rows, more = activity.page(
        ctx,
        viewer_id=None if user.is_admin else user.id,
        actor=f.actor,
        project=f.project,
        action=f.action,
        since=f.since,
        until=f.until,
        limit=limit,
        offset=offset,
    )
    return [ActivityPublic.model_validate(r) for r in rows], more


@router.get("", response_model=ActivityPage)
def list_activity(
    ctx: Ctx,
    user: CurrentUser,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ActivityPage:
    """Newest first. Admins see everyone's activity; others only their own."""
    items, more = _page(ctx, user, filters, limit, offset)
    return ActivityPage(
        items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None
    )


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(items: list[ActivityPublic]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in items:
        details = json.dumps(r.details, sort_keys=True, default=str)
        row = (r.id, r.at.isoformat(), r.actor, r.user_id, r.action, r.project_id, r.target)
        writer.writerow([_cell(v) for v in (*row, details)])
    yield buffer.getvalue()


@router.get(
    "/csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The rows as CSV"}},
)
def export_activity(ctx: Ctx, user: CurrentUser, filters: FiltersDep) -> StreamingResponse:
    """The same rows as ``GET /activity`` (newest first, at most 10,000) as CSV."""
    items, _more = _page(ctx, user, filters, CSV_MAX_ROWS, 0)
    return StreamingResponse(
        _csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="activity.csv"'},
    )
