"""``/projects``: generate (zip, optionally published), preview, starter.zip, publish, and the
caller's projects (list, get, remove)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.download import chunks, content_disposition
from codeforge.api.routes.jobs import SUBMIT_RESPONSES, accepted, submit
from codeforge.api.schemas import (
    NAME_PATTERN,
    ErrorPublic,
    GenerateAndPublish,
    GenerateRequest,
    JobPublic,
    PreviewPublic,
    ProjectDiffPublic,
    ProjectPublic,
    PublishJobCreate,
    PublishOptions,
    UpdateJobCreate,
    UpdateRequest,
    WorkflowJobCreate,
    WorkflowOptions,
    WorkflowPublic,
)
from codeforge.app import (
    catalog,
    generate,
    preview,
    projects,
    record,
    server_publish,
    server_update,
)
from codeforge.app.authentication import Principal
from codeforge.errors import CodeForgeError, ValidationError

if TYPE_CHECKING:
    from codeforge.db.models import Job

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
    keep: Callable[[int, str, bytes], dict[str, str]] | None = None,
) -> StreamingResponse:
    """The zip of the project; ``keep(project_id, record_id, zip)`` adds headers (publish)."""
    engine, ref = catalog.resolve(ctx, template, version, caller=user)
    made = generate.generate_zip(ctx, engine, ref, name, answers)
    record_id = uuid.uuid4().hex
    project_id = record.record(ctx, made.rendered, name, user.name, record_id=record_id)
    extra = keep(project_id, record_id, made.data) if keep is not None else {}
    return StreamingResponse(
        chunks(made.data),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(len(made.data)),
            "X-Project-Id": str(project_id),
            **extra,
        },
    )


@router.post("/projects/generate", response_class=StreamingResponse, responses=ZIP_RESPONSE)
def generate_project(
    request: Request, body: GenerateAndPublish, ctx: Ctx, user: CurrentUser
) -> StreamingResponse:
    """Render ``template`` with ``answers`` and stream the project as a zip (NAME/...).

    With ``publish`` the project is also published, as a ``publish`` job using your
    own stored credential: the ``X-Publish-Job`` header names it (follow it at
    ``GET /jobs/{id}``). The credential and the options are checked first; if the
    job cannot be queued, the zip still comes, with ``X-Publish-Error`` and
    ``X-Publish-Retry`` (the request that publishes it later).
    """
    keep = None
    if body.publish is not None:
        options = body.publish
        with ctx.read() as session:
            server_publish.check(ctx, session, user.id, options.model_dump())

        def keep(project_id: int, record_id: str, data: bytes) -> dict[str, str]:
            try:
                ctx.artifacts.results.put(record_id, data, "zip")
                job = publish_job(request, ctx, user, project_id, options, None)[0]
            except CodeForgeError as exc:
                # The project is made and recorded: answer it, and say how to publish it.
                message = exc.message.encode("ascii", "replace").decode()
                retry = f"{API_PREFIX}/projects/{project_id}/publish"
                return {"X-Publish-Error": message, "X-Publish-Retry": f"POST {retry}"}
            return {"X-Publish-Job": job.id}

    return _zip_response(ctx, user, body.template, body.name, body.answers, body.version, keep)


def publish_job(
    request: Request,
    ctx: Ctx,
    user: Principal,
    project_id: int,
    options: PublishOptions,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Submit the ``publish`` job of ``project_id`` (the caller's own)."""
    body = PublishJobCreate(kind="publish", project_id=project_id, publish=options)
    return submit(request, ctx, user, body, idempotency_key)


@router.post(
    "/projects/{project_id}/publish",
    status_code=202,
    response_model=JobPublic,
    responses=SUBMIT_RESPONSES,
)
def publish_project(
    request: Request,
    body: PublishOptions,
    ctx: Ctx,
    user: CurrentUser,
    response: Response,
    project_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobPublic:
    """Publish one of your projects to GitHub or GitLab, as a job, with your own credential.

    The tree is the one generated on this server (kept in the artifact store);
    someone else's project answers 404, and so does a credential you do not have.
    """
    job, created = publish_job(request, ctx, user, project_id, body, idempotency_key)
    return accepted(response, job, created)


@router.post(
    "/projects/preview",
    response_model=PreviewPublic,
    responses={404: {"model": ErrorPublic}, 422: {"model": ErrorPublic}},
)
def preview_project(body: GenerateRequest, ctx: Ctx, user: CurrentUser) -> PreviewPublic:
    """The file tree and rendered contents, without writing or recording anything."""
    shown = preview.preview(ctx, body.template, body.name, body.answers, body.version, caller=user)
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


@router.post(
    "/projects/{project_id}/workflow",
    status_code=202,
    response_model=JobPublic,
    responses={**SUBMIT_RESPONSES, 403: {"model": ErrorPublic}},
)
def run_workflow(
    request: Request,
    body: WorkflowOptions,
    ctx: Ctx,
    user: CurrentUser,
    response: Response,
    project_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobPublic:
    """Run one of your projects' workflow stages on its generated tree, as a ``workflow`` job.

    Follow it at ``GET /jobs/{id}`` or its events (``GET /jobs/{id}/events``); each
    stage's result lands in ``GET /projects/{id}/workflow`` as soon as it ends. The
    deploy stage needs the maintainer role (without it, "every stage" leaves deploy out).
    """
    job_body = WorkflowJobCreate(kind="workflow", project_id=project_id, **body.model_dump())
    job, created = submit(request, ctx, user, job_body, idempotency_key)
    return accepted(response, job, created)


@router.get(
    "/projects/{project_id}/diff",
    response_model=ProjectDiffPublic,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def project_diff(
    ctx: Ctx, user: CurrentUser, project_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> ProjectDiffPublic:
    """What updating one of your projects (admins: anyone's) to its blueprint's newest version
    would change, merged with its generated tree; nothing is written."""
    project = projects.get_project(ctx, user, project_id)
    return ProjectDiffPublic.model_validate(server_update.diff(ctx, project, user))


@router.post(
    "/projects/{project_id}/update",
    status_code=202,
    response_model=JobPublic,
    responses=SUBMIT_RESPONSES,
)
def update_project(
    request: Request,
    ctx: Ctx,
    body: UpdateRequest | None = None,
    *,
    user: CurrentUser,
    response: Response,
    project_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobPublic:
    """Merge the newest version of its blueprint into one of your projects, as an ``update`` job.

    The merged tree is the job's result (``GET /jobs/{id}/result``) and the project's
    generated tree from then on; the project moves to the new version, with an
    ``update`` Activity row. Conflicts are left in the files with markers.

    With ``{"pr": true}`` the project's published repository is cloned with your own
    credential and the update goes to a pull (merge) request on
    ``codeforge/update-<blueprint>-<version>``, as ``codeforge update --pr`` does; the
    project keeps its version until that is merged. A project never published is 404.
    """
    pr = body.pr if body is not None else False
    job_body = UpdateJobCreate(kind="update", project_id=project_id, pr=pr)
    job, created = submit(request, ctx, user, job_body, idempotency_key)
    return accepted(response, job, created)


@router.delete("/projects/{project_id}", status_code=204, responses={404: {"model": ErrorPublic}})
def remove_project(
    ctx: Ctx, user: CurrentUser, project_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Forget one of your projects (admins: anyone's); someone else's answers 404."""
    projects.remove_project(ctx, user, project_id)
    return Response(status_code=204)
