"""``/fleet``: your recorded projects (admins: everyone's) against their blueprints' newest
versions in this server's catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import NAME_PATTERN
from codeforge.app import fleet_server
from codeforge.app.fleet import FleetEntry

router = APIRouter(prefix=API_PREFIX, tags=["fleet"])


@router.get("/fleet", response_model=list[FleetEntry])
def fleet_status(
    ctx: Ctx,
    user: CurrentUser,
    blueprint: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=100)] = None,
) -> list[FleetEntry]:
    """Each project: blueprint, version, the newest version, whether it lags, remote, last update."""
    return fleet_server.status(ctx, user, blueprint)
