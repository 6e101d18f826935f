"""``/projects``: generate (zip), preview, starter.zip, and the caller's projects (list, get, remove)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.download import chunks, content_disposition
from codeforge.api.schemas import (
    NAME_PATTERN,
    ErrorPublic,
    GenerateRequest,
    PreviewPublic,
    ProjectPublic,
    WorkflowPublic,
)
from codeforge.app import catalog, generate, preview, projects, record
from codeforge.errors import ValidationError

router = APIRouter(prefix=API_PREFIX, tags=["projects"])

ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The project as a zip archive"},
    404: {"model": ErrorPublic},
    422: {"model": ErrorPublic},
}
STARTER_RESERVED = frozenset({"template", "name", "version"})
MAX_QUERY_ANSWERS = 200


def _zip_response(
    ctx: Ctx,
    user: CurrentUser,
    template: str,
    name: str,
    answers: dict[str, object],
    version: str | None,
) -> StreamingResponse:
    engine, ref = catalog.resolve(ctx, template, version)
    made = generate.generate_zip(ctx, engine, ref, name, answers)
    project_id = record.record(ctx, made.rendered, name, user.name)
    return StreamingResponse(
        chunks(made.data),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(len(made.data)),
            "X-Project-Id": str(project_id),
        },
    )


@router.post("/projects/generate", response_class=StreamingResponse, responses=ZIP_RESPONSE)
def generate_project(body: GenerateRequest, ctx: Ctx, user: CurrentUser) -> StreamingResponse:
    """Render ``template`` with ``answers`` and stream the project as a zip (NAME/...)."""
    return _zip_response(ctx, user, body.template, body.name, body.answers, body.version)


@router.post(
    "/projects/preview",
    response_model=PreviewPublic,
    responses={404: {"model": ErrorPublic}, 422: {"model": ErrorPublic}},
)
def preview_project(body: GenerateRequest, ctx: Ctx, user: CurrentUser) -> PreviewPublic:
    """The file tree and rendered contents, without writing or recording anything."""
    shown = preview.preview(ctx, body.template, body.name, body.answers, body.version)
    return PreviewPublic.model_validate(shown, from_attributes=True)


@router.get("/starter.zip", response_class=StreamingResponse, responses=ZIP_RESPONSE)
def starter_zip(
    request: Request,
    ctx: Ctx,
    user: CurrentUser,
    template: Annotated[str, Query(pattern=NAME_PATTERN, max_length=100)],
    name: Annotated[str, Query(min_length=1, max_length=100, pattern=PLAIN_TEXT)],
    version: Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)] = None,
) -> StreamingResponse:
    """One-URL download: ``/starter.zip?template=T&name=N&VAR=VALUE...`` (as start.spring.io)."""
    answers: dict[str, object] = {}
    for key, value in request.query_params.multi_items():
        if key in STARTER_RESERVED:
            continue
        if key in answers:
            # A repeated parameter is a list (multichoice/list variables).
            previous = answers[key]
            answers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            answers[key] = value
    if len(answers) > MAX_QUERY_ANSWERS:
        raise ValidationError(f"too many answers (at most {MAX_QUERY_ANSWERS})", where="query")
    return _zip_response(ctx, user, template, name, answers, version)


@router.get("/projects", response_model=list[ProjectPublic])
def list_projects(ctx: Ctx, user: CurrentUser) -> list[ProjectPublic]:
    """Your projects (admins: everyone's)."""
    return [ProjectPublic.model_validate(r) for r in projects.list_projects(ctx, user)]


@router.get(
    "/projects/{project_id}", response_model=ProjectPublic, responses={404: {"model": ErrorPublic}}
)
def get_project(
    ctx: Ctx, user: CurrentUser, project_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> ProjectPublic:
    """One of your projects; someone else's answers 404."""
    return ProjectPublic.model_validate(projects.get_project(ctx, user, project_id))


@router.get(
    "/projects/{project_id}/workflow",
    response_model=WorkflowPublic,
    responses={404: {"model": ErrorPublic}},
)
def get_workflow(
    ctx: Ctx, user: CurrentUser, project_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> WorkflowPublic:
    """The workflow state of one of your projects: each stage's last result (``codeforge workflow``)."""
    return WorkflowPublic.model_validate(projects.get_workflow(ctx, user, project_id))


@router.delete("/projects/{project_id}", status_code=204, responses={404: {"model": ErrorPublic}})
def remove_project(
    ctx: Ctx, user: CurrentUser, project_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Forget one of your projects (admins: anyone's); someone else's answers 404."""
    projects.remove_project(ctx, user, project_id)
    return Response(status_code=204)
