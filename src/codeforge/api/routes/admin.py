"""``/admin`` (admins): the job queue's state with its failed jobs, and the rate limits in force."""

from __future__ import annotations

from fastapi import APIRouter, Request

from codeforge.api.auth import Admin, Ctx
from codeforge.api.config import API_PREFIX
from codeforge.api.routes.jobs import public, runtime_of
from codeforge.api.schemas import QueuePublic, RateLimitsPublic

router = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["admin"])


@router.get("/queue", response_model=QueuePublic)
def queue_status(request: Request, ctx: Ctx, _admin: Admin) -> QueuePublic:
    """Where jobs wait (Redis or this process), how many jobs are in each state, how long the
    oldest queued one has waited, and the 50 newest failed jobs (retry them with
    ``POST /jobs/{id}/retry``, discard them with ``DELETE /jobs/{id}``)."""
    from codeforge.app.queue import status

    found = status(ctx, runtime_of(request.app).queue)
    found["failed"] = [public(job) for job in found["failed"]]
    return QueuePublic.model_validate(found)


@router.get("/rate-limits", response_model=RateLimitsPublic)
def rate_limits(ctx: Ctx, _admin: Admin) -> RateLimitsPublic:
    """The limit of each route group per API key or session (``CODEFORGE_RATE_LIMITS``) and per
    client address (``CODEFORGE_RATE_LIMITS_ADDRESS``); null: no limit."""
    from codeforge.app.limits import configured

    return RateLimitsPublic.model_validate(configured(ctx.config))
