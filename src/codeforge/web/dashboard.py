"""``/dashboard`` (maintainers and admins): the analytics of ``GET /api/v1/analytics``
drawn as SVG on the server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from codeforge.api.routes.analytics import get_analytics
from codeforge.web import charts
from codeforge.web.session import ctx_of, page, require_role, viewer

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, days: Annotated[int, Query(ge=1, le=366)] = 30) -> Response:
    """Generations per day and blueprint, top blueprints, versions in use, job timings."""
    who = viewer(request)
    require_role(who, "maintainer")
    data = get_analytics(ctx_of(request), who.principal, days)
    per_day = {g.blueprint: g.counts for g in data.generations}
    order = [g.blueprint for g in data.generations]
    return page(
        "dashboard.html",
        who=who,
        data=data,
        days=days,
        per_day=charts.stacked(data.days, per_day, order),
        top=charts.bars([(g.blueprint, g.total) for g in data.generations if g.total]),
    )
