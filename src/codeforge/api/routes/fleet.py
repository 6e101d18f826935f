"""``/fleet``: your recorded projects (admins: everyone's) against their blueprints' newest
versions in this server's catalog, and updating every one that lags (maintainers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.routes.jobs import SUBMIT_RESPONSES, accepted, submit
from codeforge.api.schemas import (
    NAME_PATTERN,
    FleetUpdateJobCreate,
    FleetUpdateOptions,
    JobPublic,
)
from codeforge.app import fleet_jobs, fleet_server
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


@router.post("/fleet/update", status_code=202, response_model=JobPublic, responses=SUBMIT_RESPONSES)
def fleet_update(
    request: Request,
    body: FleetUpdateOptions,
    ctx: Ctx,
    user: CurrentUser,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobPublic:
    """Update every one of your projects that lags its blueprint, as a ``fleet-update`` job
    (maintainers and admins; 403 otherwise).

    Without ``pr`` each stored tree is merged with the newest version (as
    ``POST /projects/{id}/update``); with ``pr`` each published project gets a pull
    request opened with your own credential. One project's failure never stops the
    others: the job's result lists what happened to each.
    """
    fleet_jobs.check_role(user.role)
    job_body = FleetUpdateJobCreate(kind="fleet-update", **body.model_dump())
    job, created = submit(request, ctx, user, job_body, idempotency_key)
    return accepted(response, job, created)
