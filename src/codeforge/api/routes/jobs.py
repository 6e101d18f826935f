"""``/jobs``: submit long work, follow it, fetch its result. Jobs are owned like projects.

``POST /jobs`` answers 202 with the job (``Location`` points at it); the same
``Idempotency-Key`` (header or body) from the same user answers 200 with the job it
made before, or 409 when the request differs. With Redis configured and down, 503:
the job is not kept. Reads come from the database and work during a Redis outage.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.schemas import (
    NAME_PATTERN,
    ErrorPublic,
    JobCreate,
    JobPublic,
    PluginJobCreate,
)
from codeforge.app.authentication import Principal
from codeforge.app.jobstore import STATUSES as JOB_STATUSES
from codeforge.errors import CodeForgeError, ConflictError, NotFoundError, ValidationError
from codeforge.jobs.runtime import JobRuntime

if TYPE_CHECKING:
    from codeforge.db.models import Job

_NAME_RE: Final = re.compile(NAME_PATTERN)
_runtime_lock = threading.Lock()


def runtime_of(app: Any) -> JobRuntime:
    """The app's job runtime, built (and, without Redis, started) on first use."""
    runtime: JobRuntime | None = getattr(app.state, "jobs", None)
    if runtime is not None:
        return runtime
    from codeforge.jobs.config import job_config
    from codeforge.jobs.runtime import build_runtime

    with _runtime_lock:
        runtime = getattr(app.state, "jobs", None)
        if runtime is None:
            ctx = app.state.ctx
            runtime = build_runtime(ctx, job_config(ctx.settings))
            app.state.jobs = runtime
    return runtime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the in-process executor (no Redis) with the app, so queued jobs resume."""
    runtime = await run_in_threadpool(runtime_of, app)
    try:
        yield
    finally:
        await run_in_threadpool(runtime.stop)
        app.state.jobs = None


router = APIRouter(prefix=f"{API_PREFIX}/jobs", tags=["jobs"], lifespan=lifespan)

MEDIA_TYPES: Final = {"zip": "application/zip", "sarif": "application/sarif+json"}
JobIdParam = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The job id")]


def public(job: Job) -> JobPublic:
    out = JobPublic.model_validate(job)
    if job.status == "finished" and (job.artifact_id or job.result):
        out.result_url = f"{API_PREFIX}/jobs/{job.id}/result"
    return out


def _payload(body: Any) -> dict[str, Any]:
    if isinstance(body, PluginJobCreate):  # a plugin's kind: its payload as sent
        return dict(body.payload)
    data: dict[str, Any] = body.model_dump(exclude={"kind", "idempotency_key"})
    if "publish" in data and data["publish"] is None:
        del data["publish"]  # a generate job's payload stays as it was without publish
    return data


def _check_template(template: str) -> None:
    from codeforge.jobs.kinds import GIT_TEMPLATE_PREFIX

    if not (_NAME_RE.match(template) or template.startswith(GIT_TEMPLATE_PREFIX)):
        raise ValidationError(
            "template must be a blueprint name or a public https:// git URL",
            where="template",
        )


def submit(
    request: Request, ctx: Ctx, user: Principal, body: Any, header_key: str | None
) -> tuple[Job, bool]:
    from codeforge.app import queue
    from codeforge.jobs.kinds import ROLE_RANK, Owner, get_kind

    runtime = runtime_of(request.app)
    key = body.idempotency_key
    if header_key is not None and key is not None and header_key != key:
        raise ValidationError(
            "the Idempotency-Key header and the idempotency_key field differ",
            where="idempotency_key",
        )
    key = header_key or key
    kind = get_kind(ctx, body.kind)
    if ROLE_RANK[user.role] < ROLE_RANK[kind.role]:
        from fastapi import HTTPException

        raise HTTPException(
            403, f"{kind.name} jobs need the {kind.role} role (you are {user.role})"
        )
    payload = _payload(body)
    if body.kind == "generate":
        _check_template(payload["template"])
    kind.check(ctx, Owner(user.id, user.name, user.role), payload)
    config = runtime.config
    submission = queue.Submission(
        owner_id=user.id,
        kind=kind.name,
        payload=payload,
        queue=config.queue,
        max_attempts=config.max_attempts,
        timeout=config.timeout_for(kind.name),
        requeue_after=config.requeue_after,
        idempotency_key=key,
    )
    return queue.submit(ctx, runtime.queue, config.redis_url, submission)


SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": JobPublic, "description": "The job this Idempotency-Key already made"},
    403: {"model": ErrorPublic},
    409: {"model": ErrorPublic},
    422: {"model": ErrorPublic},
    503: {"model": ErrorPublic},
}


def accepted(response: Response, job: Job, created: bool) -> JobPublic:
    """A submitted job's answer: 202 (200 for an idempotent repeat) with its Location."""
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{API_PREFIX}/jobs/{job.id}"
    return public(job)


@router.post("", status_code=202, response_model=JobPublic, responses=SUBMIT_RESPONSES)
def submit_job(
    request: Request,
    body: JobCreate,
    ctx: Ctx,
    user: CurrentUser,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobPublic:
    """Queue a job (``generate``, ``register`` or ``publish``); follow it at ``GET /jobs/{id}``."""
    job, created = submit(request, ctx, user, body, idempotency_key)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{API_PREFIX}/jobs/{job.id}"
    return public(job)


@router.get("", response_model=list[JobPublic])
def list_jobs(
    ctx: Ctx,
    user: CurrentUser,
    status: Annotated[
        str | None, Query(pattern=PLAIN_TEXT, description=" | ".join(JOB_STATUSES))
    ] = None,
    kind: Annotated[str | None, Query(max_length=30, pattern=PLAIN_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[JobPublic]:
    """Your jobs, newest first; admins see everyone's (``?status=failed``: the failed jobs)."""
    from codeforge.app.queue import list_jobs as list_rows

    if status is not None and status not in JOB_STATUSES:
        raise ValidationError(
            f"unknown status {status!r} (one of {', '.join(JOB_STATUSES)})", where="status"
        )
    rows = list_rows(ctx, user, status=status, kind=kind, limit=limit, offset=offset)
    return [public(r) for r in rows]


def _get(ctx: Ctx, user: Principal, job_id: str) -> Job:
    from codeforge.app.queue import get_job as get_row

    return get_row(ctx, user, job_id)


@router.get("/{job_id}", response_model=JobPublic, responses={404: {"model": ErrorPublic}})
def get_job(ctx: Ctx, user: CurrentUser, job_id: JobIdParam) -> JobPublic:
    """Status, progress and error of one of your jobs; someone else's answers 404."""
    return public(_get(ctx, user, job_id))


class GoneError(CodeForgeError):
    kind = "gone"
    http_status = 410
    exit_code = 8


@router.get(
    "/{job_id}/result",
    responses={
        200: {
            "content": {
                "application/zip": {},
                "application/sarif+json": {},
                "application/json": {},
            },
            "description": "The artifact (a zip for generate, a SARIF log for review) "
            "or the result (JSON)",
        },
        307: {"description": "The artifact is at a presigned URL of the artifact store (S3)"},
        404: {"model": ErrorPublic},
        409: {"model": ErrorPublic},
        410: {"model": ErrorPublic},
        503: {"model": ErrorPublic, "description": "The artifact store is unreachable"},
    },
)
def job_result(request: Request, ctx: Ctx, user: CurrentUser, job_id: JobIdParam) -> Response:
    """The result of a finished job: the zip of a ``generate``, the record of a ``register``.

    With an S3 artifact store the answer is a 307 to a short-lived presigned URL;
    ownership and expiry are checked here first."""
    from codeforge.api.download import content_disposition, iter_file

    job = _get(ctx, user, job_id)
    if job.status == "failed":
        raise ConflictError(f"job {job.id} failed: {job.error}", where="job")
    if job.status != "finished":
        raise ConflictError(
            f"job {job.id} is {job.status}, not finished", where="job", hint="poll GET /jobs/{id}"
        )
    if job.artifact_id is None and job.result is None:
        raise GoneError(f"the result of job {job.id} has expired", where="job")
    if job.artifact_id is None:
        return JSONResponse(job.result)
    artifacts = runtime_of(request.app).artifacts
    name = str((job.result or {}).get("name") or "result")
    suffix = job.artifact_id.rpartition(".")[2]
    media_type = MEDIA_TYPES.get(suffix, "application/octet-stream")
    disposition = content_disposition(name, f".{suffix}")
    try:
        url = artifacts.download_url(job.artifact_id, disposition)
        stream = artifacts.open(job.artifact_id) if url is None else None
    except NotFoundError:
        raise GoneError(f"the result of job {job.id} has expired", where="job") from None
    if stream is None:
        headers = {"X-Job-Id": job.id, "Cache-Control": "no-store"}
        return RedirectResponse(str(url), status_code=307, headers=headers)
    return StreamingResponse(
        iter_file(stream),
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "Content-Length": str(artifacts.size(job.artifact_id)),
            "X-Job-Id": job.id,
            **(
                {"X-Project-Id": str(job.result["project_id"])}
                if job.result and "project_id" in job.result
                else {}
            ),
        },
    )


@router.post(
    "/{job_id}/retry",
    response_model=JobPublic,
    responses={
        404: {"model": ErrorPublic},
        409: {"model": ErrorPublic},
        503: {"model": ErrorPublic},
    },
)
def retry_job(request: Request, ctx: Ctx, user: CurrentUser, job_id: JobIdParam) -> JobPublic:
    """Queue a failed job of yours again (admins: anyone's), from a first attempt, with the
    same request; someone else's answers 404, a job that did not fail 409."""
    from codeforge.app.queue import retry

    runtime = runtime_of(request.app)
    config = runtime.config
    timing = (config.requeue_after, config.result_ttl)
    return public(retry(ctx, runtime.queue, config.redis_url, user, job_id, timing))


@router.delete(
    "/{job_id}",
    status_code=204,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def discard_job(ctx: Ctx, user: CurrentUser, job_id: JobIdParam) -> Response:
    """Discard a failed job of yours (admins: anyone's) for good; a job that did not fail 409."""
    from codeforge.app.queue import discard

    discard(ctx, user, job_id)
    return Response(status_code=204)
