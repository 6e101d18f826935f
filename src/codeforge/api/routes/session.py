"""``/session``: log in (name + password, or an API key), who am I, log out.

The session cookie is HttpOnly and SameSite=Lax (Secure when
``CODEFORGE_SESSION_SECURE`` is on); the CSRF token comes back in the body and
must be sent as ``X-CSRF-Token`` with every unsafe request made with the cookie.
Login failures all get one message, and count against the ``auth`` rate limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import Field

from codeforge.api.auth import Ctx, _unauthorized, check_csrf
from codeforge.api.config import API_PREFIX, COOKIE_NAME
from codeforge.api.outage import RETRY_AFTER
from codeforge.api.schemas import ErrorPublic, Input, Output, UserPublic
from codeforge.app import accounts
from codeforge.app.authentication import (
    SessionUser,
    authenticate,
    close_session,
    open_session,
    password_user,
    session_user,
)
from codeforge.app.config import ApiConfig
from codeforge.app.context import AppContext
from codeforge.errors import RedisUnavailable, ValidationError

router = APIRouter(prefix=f"{API_PREFIX}/session", tags=["session"])

LOGIN_FAILED = "the name and password, or the API key, are not valid"


class LoginRequest(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    password: Annotated[str | None, Field(min_length=1, max_length=1024)] = None
    api_key: Annotated[str | None, Field(min_length=1, max_length=200)] = None


class SessionPublic(Output):
    user: UserPublic
    csrf_token: str
    expires_at: datetime
    storage: Literal["redis", "signed"]


def _found(request: Request, ctx: AppContext) -> tuple[str, SessionUser] | None:
    """The session cookie and its live session, else None."""
    cookie = request.cookies.get(COOKIE_NAME)
    found = session_user(ctx, request.app.state.sessions, cookie) if cookie else None
    if cookie is None or found is None:
        return None
    return cookie, found


def _public(
    ctx: AppContext, user_id: int, csrf: str, expires_at: float, cookie: str
) -> SessionPublic:
    user = UserPublic.model_validate(accounts.get_user(ctx, user_id))
    return SessionPublic(
        user=user,
        csrf_token=csrf,
        expires_at=datetime.fromtimestamp(expires_at, UTC),
        storage="redis" if cookie.startswith("r1.") else "signed",
    )


@router.post(
    "",
    response_model=SessionPublic,
    responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}},
)
def login(body: LoginRequest, request: Request, response: Response, ctx: Ctx) -> SessionPublic:
    """Open a session with ``name`` + ``password``, or with ``api_key``; sets the cookie."""
    by_key = body.api_key is not None
    with_password = body.name is not None and body.password is not None
    if (
        by_key == with_password
        or (not by_key and body.password is None)
        or (by_key and (body.name is not None or body.password is not None))
    ):
        raise ValidationError(
            "send either name and password, or api_key", where="body", hint="not both"
        )
    key_id: int | None = None
    if body.api_key is not None:
        principal = authenticate(ctx, body.api_key)
        if principal is None:
            raise _unauthorized(LOGIN_FAILED)
        user_id, key_id = principal.id, principal.key_id
    else:
        assert body.name is not None and body.password is not None
        found = password_user(ctx, body.name, body.password)
        if found is None:
            raise _unauthorized(LOGIN_FAILED)
        user_id = found
    opened = open_session(
        ctx, request.app.state.sessions, user_id, key_id, "api_key" if by_key else "password"
    )
    if opened is None:
        raise _unauthorized(LOGIN_FAILED)
    cookie, data = opened
    config: ApiConfig = ctx.config
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=max(1, int(config.session_ttl)),
        path="/",
        httponly=True,
        samesite="lax",
        secure=config.session_cookie_secure,
    )
    response.headers["Cache-Control"] = "no-store"
    return _public(ctx, user_id, data.csrf, data.expires_at, cookie)


@router.get("", response_model=SessionPublic, responses={401: {"model": ErrorPublic}})
def who_am_i(request: Request, response: Response, ctx: Ctx) -> SessionPublic:
    """The session's user and CSRF token (the cookie is required)."""
    live = _found(request, ctx)
    if live is None:
        raise _unauthorized("no live login session; log in with POST /api/v1/session")
    cookie, found = live
    response.headers["Cache-Control"] = "no-store"
    return _public(ctx, found.principal.id, found.data.csrf, found.data.expires_at, cookie)


def end_session(ctx: AppContext, store: Any, cookie: str, user_id: int) -> None:
    """Forget the session ``cookie`` (a signed one: every session of its user) and log it;
    503 while Redis is down."""
    try:
        close_session(ctx, store, cookie, user_id)
    except RedisUnavailable as exc:
        raise HTTPException(
            503, f"cannot log out now: {exc.message}", headers={"Retry-After": str(RETRY_AFTER)}
        ) from exc


@router.delete(
    "",
    status_code=204,
    responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}},
)
def logout(request: Request, ctx: Ctx) -> Response:
    """End the session (needs X-CSRF-Token). A signed session ends every session of the user."""
    live = _found(request, ctx)
    if live is None:
        raise _unauthorized("no live login session")
    cookie, found = live
    check_csrf(request, found.data.csrf)
    end_session(ctx, request.app.state.sessions, cookie, found.principal.id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response
