"""``/account``: the signed-in user's API keys (create: shown once; revoke) and password.

Each action calls the use case the API's routes call (:mod:`codeforge.app.accounts`)
with the same input models (``KeyCreate``, ``PasswordChange``), so the page accepts
exactly what ``POST /api/v1/keys`` and ``POST /api/v1/me/password`` accept.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as InputError
from starlette.concurrency import run_in_threadpool

from codeforge.api.schemas import KeyCreate, PasswordChange
from codeforge.app import accounts
from codeforge.errors import CodeForgeError
from codeforge.web.session import Viewer, ctx_of, page, posted, viewer

router = APIRouter()

NOTICES: Final = {
    "password": "Your password is changed; every other session of yours has ended.",
    "revoked": "The key is revoked.",
}
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def input_error(exc: InputError) -> str:
    """The first problem of a rejected form, as ``field: message``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "form"
    return f"{where}: {first.get('msg', 'invalid')}"


def _account(request: Request, who: Viewer, status: int = 200, **extra: Any) -> HTMLResponse:
    values: dict[str, Any] = {"notice": None, "error": None, "created": None, "pw_error": None}
    values.update(extra)
    keys = accounts.list_keys(ctx_of(request), who.principal)
    return page("account.html", status, who=who, keys=keys, **values)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, done: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Your keys (never the keys themselves) and the password form."""
    return _account(request, viewer(request), notice=NOTICES.get(done))


@router.post("/account/keys", response_class=HTMLResponse)
async def create_key(request: Request) -> Response:
    """A new key: the only page that ever shows it."""
    who, form = await posted(request)

    def run() -> Response:
        try:
            body = KeyCreate.model_validate(
                {"name": form.get("name", ""), "expires_days": form.get("expires_days") or None}
            )
        except InputError as exc:
            return _account(request, who, 422, error=input_error(exc))
        try:
            row, key = accounts.create_key(
                ctx_of(request), who.principal, body.name, expires_days=body.expires_days
            )
        except CodeForgeError as exc:
            return _account(request, who, exc.http_status, error=exc.message)
        return _account(request, who, 201, created={"row": row, "key": key})

    return await run_in_threadpool(run)


@router.post("/account/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: KeyId) -> Response:
    """Revoke one of your keys; someone else's is not found (as in the API)."""
    who, _form = await posted(request)

    def run() -> Response:
        try:
            accounts.revoke_key(ctx_of(request), who.principal, key_id)
        except CodeForgeError as exc:
            return _account(request, who, exc.http_status, error=exc.message)
        return RedirectResponse("/account?done=revoked", status_code=303)

    return await run_in_threadpool(run)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request) -> Response:
    """Change your password; every session ends, and this page signs you in again."""
    from codeforge.api.routes.session import LoginRequest
    from codeforge.api.routes.session import login as api_login

    who, form = await posted(request)

    def run() -> Response:
        if form.get("new_password", "") != form.get("confirm_password", ""):
            return _account(request, who, 422, pw_error="the two new passwords differ")
        try:
            body = PasswordChange(
                current_password=form.get("current_password", ""),
                new_password=form.get("new_password", ""),
            )
            accounts.change_password(
                ctx_of(request), who.principal, body.current_password, body.new_password
            )
        except InputError as exc:
            return _account(request, who, 422, pw_error=input_error(exc))
        except CodeForgeError as exc:
            return _account(request, who, exc.http_status, pw_error=exc.message)
        request.app.state.sessions.revoke_user(who.principal.id)
        done = RedirectResponse("/account?done=password", status_code=303)
        again = LoginRequest(name=who.principal.name, password=body.new_password)
        try:
            api_login(again, request, done, ctx_of(request))
        except HTTPException:
            return RedirectResponse("/login", status_code=303)
        return done

    return await run_in_threadpool(run)
