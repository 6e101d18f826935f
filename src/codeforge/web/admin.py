"""``/admin`` (admins only): users - create, change role, set a password, disable and
enable - and each user's API keys, with revoke; the job queue with its failed jobs (retry,
discard) and the rate limits in force.

Each action calls the API's own admin route (:mod:`codeforge.api.routes.users`), so
the page checks, changes and logs exactly what ``POST /api/v1/users...`` does; a
member or maintainer gets 403 with the API's message.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as InputError
from starlette.concurrency import run_in_threadpool

from codeforge.api.routes import admin as api_admin
from codeforge.api.routes import jobs as api_jobs
from codeforge.api.routes import users as api_users
from codeforge.api.schemas import PasswordReset, RoleChange, UserCreate
from codeforge.app import accounts
from codeforge.errors import CodeForgeError
from codeforge.web.account import input_error
from codeforge.web.session import Viewer, ctx_of, page, posted, require_role, viewer

router = APIRouter()

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOTICES: Final = {
    "created": "The user is created. They sign in once a password is set for them.",
    "role": "The role is changed.",
    "password": "The password is set; every session of that user has ended.",
    "disabled": "The user is disabled: their keys stop working and their sessions have ended.",
    "enabled": "The user is enabled again (their sessions do not come back).",
    "retried": "The job is queued again.",
    "discarded": "The failed job is discarded.",
}
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _admin_page(request: Request, who: Viewer, status: int = 200, **extra: Any) -> HTMLResponse:
    values: dict[str, Any] = {"notice": None, "error": None, **extra}
    ctx = ctx_of(request)
    rows = accounts.list_users(ctx)
    values["queue"] = api_admin.queue_status(request, ctx, who.principal)
    values["limits"] = api_admin.rate_limits(ctx, who.principal)
    values["owners"] = {u.id: u.name for u in rows}
    return page("admin.html", status, who=who, users=rows, roles=accounts.roles(), **values)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, done: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Every user, with their role and state, and the forms to change them."""
    who = viewer(request)
    require_role(who, "admin")
    return _admin_page(request, who, notice=NOTICES.get(done))


async def _admin_form(request: Request) -> tuple[Viewer, dict[str, str]]:
    who, form = await posted(request)
    require_role(who, "admin")
    return who, form


def _run(request: Request, who: Viewer, change: Any, done: str) -> Response:
    """Run one admin change; back to the list with a notice, or the list with the error."""
    try:
        change()
    except InputError as exc:
        return _admin_page(request, who, 422, error=input_error(exc))
    except CodeForgeError as exc:
        return _admin_page(request, who, exc.http_status, error=exc.message)
    return RedirectResponse(f"/admin?done={done}", status_code=303)


@router.post("/admin/users")
async def create_user(request: Request) -> Response:
    """A new user (``POST /api/v1/users``)."""
    who, form = await _admin_form(request)

    def change() -> None:
        body = UserCreate.model_validate(
            {"name": form.get("name", ""), "role": form.get("role", "member")}
        )
        api_users.create_user(body, ctx_of(request), who.principal)

    return await run_in_threadpool(_run, request, who, change, "created")


@router.post("/admin/users/{user_id}/role")
async def change_role(request: Request, user_id: UserId) -> Response:
    """Another role (``POST /api/v1/users/{id}/role``)."""
    who, form = await _admin_form(request)

    def change() -> None:
        body = RoleChange.model_validate({"role": form.get("role", "")})
        api_users.change_role(body, ctx_of(request), who.principal, user_id)

    return await run_in_threadpool(_run, request, who, change, "role")


@router.post("/admin/users/{user_id}/password")
async def reset_password(request: Request, user_id: UserId) -> Response:
    """Set a user's password (``POST /api/v1/users/{id}/password``)."""
    who, form = await _admin_form(request)

    def change() -> None:
        body = PasswordReset.model_validate({"new_password": form.get("new_password", "")})
        api_users.reset_password(body, request, ctx_of(request), who.principal, user_id)

    return await run_in_threadpool(_run, request, who, change, "password")


@router.post("/admin/users/{user_id}/{state}")
async def set_state(
    request: Request, user_id: UserId, state: Annotated[str, Path(pattern="^(disable|enable)$")]
) -> Response:
    """Disable a user (``POST /api/v1/users/{id}/disable``: keys stop, sessions end) or
    enable them again (``.../enable``)."""
    who, _form = await _admin_form(request)
    route = api_users.disable_user if state == "disable" else api_users.enable_user

    def change() -> None:
        route(request, ctx_of(request), who.principal, user_id)

    return await run_in_threadpool(_run, request, who, change, f"{state}d")


@router.get("/admin/users/{user_id}/keys", response_class=HTMLResponse)
def user_keys(request: Request, user_id: UserId) -> Response:
    """A user's keys (``GET /api/v1/keys?user=NAME``), never the keys themselves."""
    who = viewer(request)
    require_role(who, "admin")
    ctx = ctx_of(request)
    try:
        owner = accounts.get_user(ctx, user_id)
    except CodeForgeError as exc:
        return page("error.html", exc.http_status, who=who, error=exc)
    keys = accounts.list_keys(ctx, who.principal, owner.name)
    return page("admin_keys.html", who=who, owner=owner, keys=keys)


@router.post("/admin/keys/{key_id}/revoke")
async def revoke_key(
    request: Request, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Revoke anyone's key (``DELETE /api/v1/keys/{id}``); back to its owner's keys."""
    who, _form = await _admin_form(request)

    def run() -> Response:
        try:
            row = accounts.revoke_key(ctx_of(request), who.principal, key_id)
        except CodeForgeError as exc:
            return page("error.html", exc.http_status, who=who, error=exc)
        return RedirectResponse(f"/admin/users/{row.user_id}/keys", status_code=303)

    return await run_in_threadpool(run)


@router.post("/admin/jobs/{job_id}/{action}")
async def failed_job(
    request: Request, job_id: JobId, action: Annotated[str, Path(pattern="^(retry|discard)$")]
) -> Response:
    """Retry a failed job (``POST /api/v1/jobs/{id}/retry``) or discard it
    (``DELETE /api/v1/jobs/{id}``); back to the page with a notice, or with the error."""
    who, _form = await _admin_form(request)

    def change() -> None:
        if action == "retry":
            api_jobs.retry_job(request, ctx_of(request), who.principal, job_id)
        else:
            api_jobs.discard_job(ctx_of(request), who.principal, job_id)

    done = "retried" if action == "retry" else "discarded"
    return await run_in_threadpool(_run, request, who, change, done)
