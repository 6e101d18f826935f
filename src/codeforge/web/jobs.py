"""``/jobs`` and ``/jobs/{id}``: your jobs, and one job followed live.

The pages call the API's job routes (:mod:`codeforge.api.routes.jobs`), so they list
and show exactly what ``GET /api/v1/jobs`` shows. A job's page follows
``GET /api/v1/jobs/{id}/events`` (server-sent events) with ``static/job.js``,
polls ``GET /api/v1/jobs/{id}`` where EventSource fails, and without JavaScript
refreshes itself until the job ends.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from codeforge.api.config import API_PREFIX
from codeforge.api.routes.jobs import get_job, list_jobs
from codeforge.app.jobstore import STATUSES as JOB_STATUSES
from codeforge.errors import CodeForgeError
from codeforge.web.session import ctx_of, page, viewer

router = APIRouter()

PAGE_SIZE: Final = 50
ENDED: Final = ("finished", "failed")
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    status: Annotated[str, Query(max_length=20)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Your jobs (an admin's: everyone's), newest first, by status."""
    who = viewer(request)
    chosen = status if status in JOB_STATUSES else None
    rows = list_jobs(ctx_of(request), who.principal, chosen, None, PAGE_SIZE + 1, offset)
    return page(
        "jobs.html",
        who=who,
        jobs=rows[:PAGE_SIZE],
        chosen=chosen or "",
        statuses=JOB_STATUSES,
        more=offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: JobId) -> Response:
    """One job: status, progress and stage, live; then its result or its error."""
    who = viewer(request)
    try:
        job = get_job(ctx_of(request), who.principal, job_id)
    except CodeForgeError as exc:
        return page("error.html", exc.http_status, who=who, error=exc)
    return page("job.html", who=who, job=job, ended=job.status in ENDED, api=API_PREFIX)
