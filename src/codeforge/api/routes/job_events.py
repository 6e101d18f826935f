"""``GET /jobs/{id}/events``: a job's progress as server-sent events, until it ends.

Each change of status, progress or stage is one ``job`` event whose data is the job
as ``GET /jobs/{id}`` returns it; the stream ends after a finished or failed job's
event. The database is the source (a worker anywhere updates the row), read every
``POLL_SECONDS``; a comment line every ``KEEPALIVE_SECONDS`` keeps proxies from
closing a quiet stream, and a stream lasts at most ``MAX_SECONDS`` (the browser's
EventSource reconnects by itself, after ``retry`` milliseconds).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.routes.jobs import JobIdParam, get_job
from codeforge.api.schemas import ErrorPublic, JobPublic

router = APIRouter(prefix=f"{API_PREFIX}/jobs", tags=["jobs"])

POLL_SECONDS: Final = 0.5
KEEPALIVE_SECONDS: Final = 15.0
MAX_SECONDS: Final = 300.0
RETRY_MS: Final = 2000
ENDED: Final = frozenset({"finished", "failed"})


def event(job: JobPublic) -> bytes:
    """One server-sent event carrying ``job`` (JSON on one line)."""
    return f"event: job\ndata: {job.model_dump_json()}\n\n".encode()


async def _events(
    request: Request, ctx: Ctx, user: CurrentUser, first: JobPublic
) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    job, started = first, time.monotonic()
    yield event(job)
    quiet_since = started
    while job.status not in ENDED and time.monotonic() - started < MAX_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(get_job, ctx, user, job.id)
        if (now.status, now.progress, now.stage) != (job.status, job.progress, job.stage):
            job, quiet_since = now, time.monotonic()
            yield event(job)
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield b": still here\n\n"


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`job` events (the job as GET /jobs/{id} returns it) until it ends",
        },
        404: {"model": ErrorPublic},
    },
)
def job_events(
    request: Request, ctx: Ctx, user: CurrentUser, job_id: JobIdParam
) -> StreamingResponse:
    """Follow one of your jobs live (someone else's answers 404 before any event)."""
    first = get_job(ctx, user, job_id)
    return StreamingResponse(
        _events(request, ctx, user, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
