"""``/blueprints/{name}``: the blueprint, its generated form, preview and zip download.

The form posts plain HTML (it works without JavaScript); with JavaScript, htmx
re-renders the fields on every change, so ``when`` conditions show and hide
fields and computed defaults follow. Preview and download call the API's use
cases (:mod:`codeforge.app.preview`, :mod:`codeforge.app.generate`), so the zip
is the one ``POST /api/v1/projects/generate`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from codeforge.api.config import PLAIN_TEXT
from codeforge.api.download import chunks, content_disposition
from codeforge.api.schemas import NAME_PATTERN
from codeforge.app import catalog, generate, preview, record
from codeforge.app.form import FormState, form_state
from codeforge.errors import CodeForgeError, ValidationError
from codeforge.web.session import Viewer, check_form, ctx_of, page, viewer
from codeforge.web.share import Share, share_of

router = APIRouter()

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
VersionQuery = Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)]
DEFAULT_PROJECT: Final = "my-project"
MAX_FIELDS: Final = 400


def _versions(request: Request, who: Viewer, name: str) -> list[str]:
    found = [
        e.versions for e in catalog.list_entries(ctx_of(request), who.principal) if e.name == name
    ]
    return found[0] if found else []


def _share(request: Request, who: Viewer, state: FormState, project: str) -> Share:
    """The equivalent ``codeforge init`` command and ``starter.zip`` URL for the form."""
    name = state.blueprint.name
    entries = catalog.list_entries(ctx_of(request), who.principal)
    sources = [e.source for e in entries if e.name == name]
    return share_of(state, project, sources[0] if sources else "", str(request.base_url))


def _page(
    request: Request,
    who: Viewer,
    state: FormState,
    project: str,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    bp = state.blueprint
    values = {
        "user": who.principal,
        "csrf": who.csrf,
        "bp": bp,
        "versions": _versions(request, who, bp.name),
        "listing": catalog.snapshot(ctx_of(request)).market.listing(bp.name),
        "can_mark": who.principal.at_least("maintainer"),  # as PATCH /api/v1/blueprints/{name}
        "listing_error": None,
        "typed_replacement": None,
        "components": sorted(bp.components.values(), key=lambda c: c.name),
        "state": state,
        "project": project,
        "share": _share(request, who, state, project),
        "shown": None,
        "preview": None,
        "error": None,
        **extra,
    }
    return page("blueprint.html", status, **values)


def _error_page(who: Viewer | None, exc: CodeForgeError) -> HTMLResponse:
    return page(
        "error.html",
        exc.http_status,
        user=who.principal if who else None,
        csrf=who.csrf if who else "",
        error=exc,
    )


def show(
    request: Request,
    who: Viewer,
    name: str,
    version: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The blueprint's page with its form filled with the defaults (``extra``: more values)."""
    try:
        state = form_state(
            ctx_of(request), name, DEFAULT_PROJECT, None, version, caller=who.principal
        )
    except CodeForgeError as exc:
        return _error_page(who, exc)
    return _page(request, who, state, DEFAULT_PROJECT, status, **extra)


@router.get("/blueprints/{name}", response_class=HTMLResponse)
def blueprint_page(request: Request, name: NameParam, version: VersionQuery = None) -> Response:
    """The blueprint and its form, filled with the defaults."""
    return show(request, viewer(request), name, version)


async def _posted(request: Request) -> tuple[Viewer, dict[str, list[str]]]:
    """The signed-in viewer and the posted form (its CSRF token checked)."""
    raw = await request.form(max_fields=MAX_FIELDS)
    form: dict[str, list[str]] = {}
    for key, value in raw.multi_items():
        if isinstance(value, str):
            form.setdefault(key, []).append(value)
    who = await run_in_threadpool(viewer, request)
    check_form({k: v[-1] for k, v in form.items()}, who)
    return who, form


def _one(form: Mapping[str, Sequence[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[-1]


def _state(
    request: Request, who: Viewer, name: str, form: Mapping[str, Sequence[str]]
) -> FormState:
    version = _one(form, "version") or None
    return form_state(
        ctx_of(request), name, _one(form, "project"), form, version, caller=who.principal
    )


def _engine_error(state: FormState, exc: CodeForgeError) -> FormState:
    """``state`` with the engine's error put next to its field (or on the whole form)."""
    if isinstance(exc, ValidationError) and exc.variable:
        errors = {exc.variable: exc.message}
    else:
        errors = {"": str(exc)}
    return FormState(state.blueprint, state.fields, state.answers, {**state.errors, **errors})


def _rendered(
    request: Request, who: Viewer, name: str, form: Mapping[str, Sequence[str]], action: str
) -> Response:
    try:
        state = _state(request, who, name, form)
    except CodeForgeError as exc:
        return _error_page(who, exc)
    project = _one(form, "project")
    if state.errors:
        return _page(request, who, state, project, 422)
    if action == "check":
        return _page(request, who, state, project)
    ctx = ctx_of(request)
    version = _one(form, "version") or None
    try:
        if action == "job":
            return _submit_job(request, who, state, project, version)
        if action == "preview":
            shown = preview.preview(
                ctx, name, project, state.answers, version, caller=who.principal
            )
            return _page(request, who, state, project, preview=shown)
        engine, ref = catalog.resolve(ctx, name, version, caller=who.principal)
        made = generate.generate_zip(ctx, engine, ref, project, state.answers)
        project_id = record.record(ctx, made.rendered, project, who.principal.name)
    except CodeForgeError as exc:
        return _page(request, who, _engine_error(state, exc), project, exc.http_status)
    return StreamingResponse(
        chunks(made.data),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(project),
            "Content-Length": str(len(made.data)),
            "X-Project-Id": str(project_id),
        },
    )


def _submit_job(
    request: Request, who: Viewer, state: FormState, project: str, version: str | None
) -> Response:
    """Queue a ``generate`` job through the API's own route; to the job's page."""
    from codeforge.api.routes.jobs import submit_job
    from codeforge.api.schemas import GenerateJobCreate

    secrets = {f.name for f in state.fields if f.type == "secret"}
    # An empty secret is no answer; a given one is refused by the job kind (jobs are stored).
    answers = {k: v for k, v in state.answers.items() if k not in secrets or v not in ("", [])}
    body = GenerateJobCreate(
        kind="generate",
        template=state.blueprint.name,
        name=project,
        answers=answers,
        version=version,
        publish=None,
    )
    job = submit_job(request, body, ctx_of(request), who.principal, Response())
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/blueprints/{name}/job")
async def job(request: Request, name: NameParam) -> Response:
    """Generate as a job (``POST /api/v1/jobs``); the browser follows it on the job's page."""
    who, form = await _posted(request)
    return await run_in_threadpool(_rendered, request, who, name, form, "job")


@router.post("/blueprints/{name}/check", response_class=HTMLResponse)
async def check(request: Request, name: NameParam) -> Response:
    """The form again with the posted answers: fields shown or hidden, errors by field."""
    who, form = await _posted(request)
    return await run_in_threadpool(_rendered, request, who, name, form, "check")


@router.post("/blueprints/{name}/preview", response_class=HTMLResponse)
async def preview_page(request: Request, name: NameParam) -> Response:
    """The page with the rendered file tree and each file's content."""
    who, form = await _posted(request)
    return await run_in_threadpool(_rendered, request, who, name, form, "preview")


@router.post("/blueprints/{name}/download")
async def download(request: Request, name: NameParam) -> Response:
    """The project's zip: the bytes ``POST /api/v1/projects/generate`` returns; recorded."""
    who, form = await _posted(request)
    return await run_in_threadpool(_rendered, request, who, name, form, "download")


@router.post("/blueprints/{name}/fields", response_class=HTMLResponse)
async def fields(request: Request, name: NameParam) -> Response:
    """Only the form's fields (htmx swaps them in as the user types)."""
    who, form = await _posted(request)

    def render() -> Response:
        try:
            state = _state(request, who, name, form)
        except CodeForgeError as exc:
            return _error_page(who, exc)
        project = _one(form, "project")
        share = _share(request, who, state, project)
        return page("fields.html", state=state, project=project, share=share)

    return await run_in_threadpool(render)
