"""``/session``: log in (name + password, or an API key), who am I, log out.

The session cookie is HttpOnly and SameSite=Lax (Secure when
``CODEFORGE_SESSION_SECURE`` is on); the CSRF token comes back in the body and
must be sent as ``X-CSRF-Token`` with every unsafe request made with the cookie.
Login failures all get one message, and count against the ``auth`` rate limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import Field

from codeforge.api.auth import (
    Ctx,
    SessionUser,
    _unauthorized,
    authenticate,
    check_csrf,
    session_principal,
)
from codeforge.api.config import API_PREFIX
from codeforge.api.outage import RETRY_AFTER
from codeforge.api.schemas import ErrorPublic, Input, Output, UserPublic
from codeforge.app.config import ApiConfig
from codeforge.app.context import AppContext
from codeforge.cache.sessions import COOKIE_NAME, SessionData, SessionStore, session_store
from codeforge.errors import ValidationError
from codeforge.settings import Settings

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


def build_store(settings: Settings, config: ApiConfig) -> SessionStore:
    return session_store(
        settings.data_dir,
        settings.redis_url,
        ttl=config.session_ttl,
        prefix=config.redis_prefix,
    )


def _store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _public(ctx: AppContext, user_id: int, data: SessionData, cookie: str) -> SessionPublic:
    from codeforge.db.repositories import get_user

    with ctx.read() as session:
        user = UserPublic.model_validate(get_user(session, user_id))
    return SessionPublic(
        user=user,
        csrf_token=data.csrf,
        expires_at=datetime.fromtimestamp(data.expires_at, UTC),
        storage="redis" if cookie.startswith("r1.") else "signed",
    )


@router.post(
    "",
    response_model=SessionPublic,
    responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}},
)
def login(body: LoginRequest, request: Request, response: Response, ctx: Ctx) -> SessionPublic:
    """Open a session with ``name`` + ``password``, or with ``api_key``; sets the cookie."""
    from codeforge.cache.sessions import verify_password
    from codeforge.db.models import User
    from codeforge.db.repositories import get_user_by_name, log_activity

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
        with ctx.read() as session:
            found = get_user_by_name(session, body.name)
            stored = found.password_hash if found is not None else None
            user_id = found.id if found is not None else 0
            disabled = found is None or found.disabled
        # Always one scrypt, so a missing user takes as long as a wrong password.
        if not verify_password(body.password, stored) or disabled:
            raise _unauthorized(LOGIN_FAILED)
    store = _store(request)
    with ctx.factory.begin() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            raise _unauthorized(LOGIN_FAILED)
        cookie, data = store.create(user.id, user.session_epoch, key_id)
        log_activity(
            session,
            "session.login",
            actor=user.name,
            user_id=user.id,
            target=f"user:{user.name}",
            details={"method": "api_key" if by_key else "password"},
        )
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
    return _public(ctx, user_id, data, cookie)


@router.get("", response_model=SessionPublic, responses={401: {"model": ErrorPublic}})
def who_am_i(request: Request, response: Response, ctx: Ctx) -> SessionPublic:
    """The session's user and CSRF token (the cookie is required)."""
    cookie = request.cookies.get(COOKIE_NAME)
    found = session_principal(ctx, _store(request), cookie) if cookie else None
    if cookie is None or found is None:
        raise _unauthorized("no live login session; log in with POST /api/v1/session")
    response.headers["Cache-Control"] = "no-store"
    return _public(ctx, found.principal.id, found.data, cookie)


def end_session(ctx: AppContext, store: SessionStore, cookie: str, found: SessionUser) -> None:
    """Forget the session ``cookie`` (a signed one: every session of its user) and log it."""
    from codeforge.cache.connection import RedisUnavailable
    from codeforge.db.models import User
    from codeforge.db.repositories import log_activity

    try:
        ended_one = store.delete(cookie, found.principal.id)
    except RedisUnavailable as exc:
        raise HTTPException(
            503, f"cannot log out now: {exc.message}", headers={"Retry-After": str(RETRY_AFTER)}
        ) from exc
    with ctx.factory.begin() as session:
        user = session.get(User, found.principal.id)
        if user is not None:
            if not ended_one:  # a signed cookie cannot be forgotten alone: end them all
                user.session_epoch += 1
            log_activity(
                session,
                "session.logout",
                actor=user.name,
                user_id=user.id,
                target=f"user:{user.name}",
                details={"all_sessions": not ended_one},
            )


@router.delete(
    "",
    status_code=204,
    responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}},
)
def logout(request: Request, ctx: Ctx) -> Response:
    """End the session (needs X-CSRF-Token). A signed session ends every session of the user."""
    cookie = request.cookies.get(COOKIE_NAME)
    store = _store(request)
    found = session_principal(ctx, store, cookie) if cookie else None
    if cookie is None or found is None:
        raise _unauthorized("no live login session")
    check_csrf(request, found.data)
    end_session(ctx, store, cookie, found)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response
