"""``/projects``, ``/projects/{id}`` and ``/activity``: what the user made, and the audit trail.

The same use cases and visibility as ``GET /api/v1/projects`` and ``GET /api/v1/activity``
(:mod:`codeforge.app.projects`, :mod:`codeforge.app.activity`): members see their own
projects and rows, admins everyone's; someone else's project is not found.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.routes.ai import ai_available
from codeforge.app import activity, projects, review_results, server_update
from codeforge.errors import CodeForgeError
from codeforge.web.session import Viewer, ctx_of, page, posted, viewer

if TYPE_CHECKING:
    from codeforge.api.schemas import ReviewJobCreate, UpdateJobCreate

router = APIRouter()

PAGE_SIZE: Final = 50
ProjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)]


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request) -> Response:
    """Your recorded projects (an admin's: everyone's), newest change first."""
    who = viewer(request)
    rows = sorted(
        projects.list_projects(ctx_of(request), who.principal),
        key=lambda p: (p.updated_at, p.id),
        reverse=True,
    )
    return page("projects.html", who=who, projects=rows)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: ProjectId) -> Response:
    """One project: its blueprint, remote, answers (secrets are never stored) and activity."""
    who = viewer(request)
    ctx = ctx_of(request)
    try:
        row = projects.get_project(ctx, who.principal, project_id)
    except CodeForgeError as exc:
        return page("error.html", exc.http_status, who=who, error=exc)
    rows, _more = activity.page(
        ctx,
        viewer_id=None if who.principal.is_admin else who.principal.id,
        project=project_id,
        limit=PAGE_SIZE,
    )
    try:
        diff, diff_error = server_update.diff(ctx, row, who.principal), None
    except CodeForgeError as exc:  # no stored tree, or a base version gone: say so
        diff, diff_error = None, exc
    # The update and review jobs work on the caller's own projects only (as the API's).
    owner = row.owner_id == who.principal.id
    return page(
        "project.html",
        who=who,
        project=row,
        rows=rows,
        diff=diff,
        diff_error=diff_error,
        can_update=owner,
        can_pull=server_update.pull_request_possible(ctx, who.principal.id, row),
        review=review_results.latest_review(ctx, row.owner_id, row.id),
        ai_on=ai_available(),
        api=API_PREFIX,
    )


async def _submit(
    request: Request, who: Viewer, body: UpdateJobCreate | ReviewJobCreate
) -> Response:
    """Submit ``body`` as the signed-in user's job (``POST /api/v1/jobs``), then go to the
    job's page; a refusal is the error page with the API's status."""
    from codeforge.api.routes.jobs import submit_job

    def submit() -> Response:
        try:
            job = submit_job(request, body, ctx_of(request), who.principal, Response())
        except CodeForgeError as exc:
            return page("error.html", exc.http_status, who=who, error=exc)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    return await run_in_threadpool(submit)


@router.post("/projects/{project_id}/update")
async def update_project(request: Request, project_id: ProjectId) -> Response:
    """Update the project as a job (``POST /api/v1/projects/{id}/update``; the form's ``pr``:
    as a pull request); to the job's page."""
    from codeforge.api.schemas import UpdateJobCreate

    who, form = await posted(request)
    pr = form.get("pr") == "true"
    body = UpdateJobCreate(kind="update", project_id=project_id, pr=pr)
    return await _submit(request, who, body)


@router.post("/projects/{project_id}/review")
async def review_project(request: Request, project_id: ProjectId) -> Response:
    """Review the project's code as a job (``POST /api/v1/jobs`` ``{"kind": "review"}``;
    the form's ``static_only``: without the AI model); to the job's page."""
    from codeforge.api.schemas import ReviewJobCreate

    who, form = await posted(request)
    static_only = form.get("static_only") == "true"
    body = ReviewJobCreate(kind="review", project_id=project_id, static_only=static_only)
    return await _submit(request, who, body)


def _day(text: str, where: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}: give a date as YYYY-MM-DD (got {text!r})") from None


@router.get("/activity", response_class=HTMLResponse)
def activity_page(
    request: Request,
    actor: Text = "",
    action: Annotated[str, Query(max_length=50, pattern=PLAIN_TEXT)] = "",
    project: Annotated[str, Query(max_length=12, pattern=r"^[0-9]*$")] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The audit trail, newest first, filtered as ``GET /api/v1/activity`` filters it
    (``until`` is a whole day: rows up to its end)."""
    who = viewer(request)
    filters = {"actor": actor, "action": action, "project": project, "since": since}
    filters["until"] = until
    try:
        first, last = _day(since, "since"), _day(until, "until")
    except ValueError as exc:
        values: dict[str, object] = {
            "rows": [],
            "f": filters,
            "error": str(exc),
            "more": None,
            "query": "",
        }
        return page("activity.html", 422, who=who, **values)
    rows, more = activity.page(
        ctx_of(request),
        viewer_id=None if who.principal.is_admin else who.principal.id,
        actor=actor or None,
        action=action or None,
        project=int(project) if project and int(project) > 0 else None,
        since=datetime.combine(first, time(), UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    kept = {k: v for k, v in filters.items() if v}
    later = urlencode({**kept, "offset": offset + PAGE_SIZE}) if more else None
    query = urlencode(_api_filters(kept, first, last))
    return page("activity.html", who=who, rows=rows, f=filters, error=None, more=later, query=query)


def _api_filters(kept: dict[str, str], first: date | None, last: date | None) -> dict[str, str]:
    """The page's filters as ``GET /api/v1/activity`` takes them (times, not days)."""
    found = {k: v for k, v in kept.items() if k in ("actor", "action", "project")}
    if first:
        found["since"] = datetime.combine(first, time(), UTC).isoformat()
    if last:
        found["until"] = datetime.combine(last + timedelta(days=1), time(), UTC).isoformat()
    return found
