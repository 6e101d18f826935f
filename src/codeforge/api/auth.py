"""How the API learns who is calling: an API key, or a login session cookie.

A Bearer API key is checked by ``codeforge.app.authentication`` (verified keys are
cached in-process for ``key_cache_seconds``, default 5: a revocation or a disabled
user made through this server applies at once, one made elsewhere within that
delay; see ``codeforge.cache.memo``).

Without a Bearer key, a login session cookie is accepted (``/api/v1/session``);
unsafe methods then need the session's CSRF token in ``X-CSRF-Token``. Sessions
are checked against the database on every request.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from codeforge.api.config import COOKIE_NAME, CSRF_HEADER
from codeforge.app.authentication import Principal, authenticate, cached_principal, session_user
from codeforge.app.context import AppContext

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cf_...`")


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def _authenticate_async(ctx: AppContext, key: str) -> Principal | None:
    """``authenticate`` without a thread hop when the key is cached and fresh."""
    principal = cached_principal(ctx, key)
    if principal is not None:
        return principal
    return await run_in_threadpool(authenticate, ctx, key)


SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_matches(sent: str, csrf: str) -> bool:
    """``sent`` is the session's CSRF token ``csrf`` (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(sent.encode(), csrf.encode())


def check_csrf(request: Request, csrf: str) -> None:
    """Unsafe methods with cookie auth must echo the session's CSRF token in a header."""
    if request.method in SAFE_METHODS:
        return
    if not csrf_matches(request.headers.get(CSRF_HEADER, ""), csrf):
        raise HTTPException(
            403,
            f"the {CSRF_HEADER} header is missing or wrong "
            "(its value comes from POST or GET /api/v1/session)",
        )


async def _from_session(request: Request, ctx: AppContext) -> Principal | None:
    cookie = request.cookies.get(COOKIE_NAME)
    store = getattr(request.app.state, "sessions", None)
    if not cookie or store is None:
        return None
    found = await run_in_threadpool(session_user, ctx, store, cookie)
    if found is None:
        raise _unauthorized("the session has ended (logged out, expired or revoked); log in again")
    check_csrf(request, found.data.csrf)
    return found.principal


async def current_user(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        from_session = await _from_session(request, ctx)
        if from_session is not None:
            request.scope.setdefault("state", {})["user"] = from_session.name
            return from_session
        raise _unauthorized(
            "an API key is required (Authorization: Bearer KEY), or a login session"
        )
    principal = await _authenticate_async(ctx, credentials.credentials)
    if principal is None:
        raise _unauthorized("the API key is invalid, expired or revoked")
    request.scope.setdefault("state", {})["user"] = principal.name
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(role: str) -> object:
    """A dependency: the caller must hold ``role`` or a higher one."""

    async def check(user: CurrentUser) -> Principal:
        if not user.at_least(role):
            raise HTTPException(403, f"this needs the {role} role (you are {user.role})")
        return user

    return Depends(check)


Maintainer = Annotated[Principal, require("maintainer")]
Admin = Annotated[Principal, require("admin")]
