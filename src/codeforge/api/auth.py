"""API-key authentication and roles.

Keys are looked up by their SHA-256 (the only form stored) and the stored hash is
compared again in constant time. ``last_used_at`` is refreshed at most once a
minute (so a busy key does not turn every read into a write); a ``login`` activity
row is written, in the same transaction, when a key is used after an hour's rest.

Verified keys are cached in-process for ``key_cache_seconds`` (default 5): a
revocation or a disabled user made through this server applies at once, one made
elsewhere within that delay (see ``codeforge.cache.memo``).

Without a Bearer key, a login session cookie is accepted (``/api/v1/session``,
``codeforge.cache.sessions``); unsafe methods then need the session's CSRF token
in ``X-CSRF-Token``. Sessions are checked against the database on every request.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Final

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from codeforge.app.context import AppContext
from codeforge.cache.memo import CachedKey

if TYPE_CHECKING:
    from codeforge.cache.sessions import SessionData, SessionStore

ROLE_RANK: Final = {"member": 0, "maintainer": 1, "admin": 2}
TOUCH_EVERY: Final = timedelta(seconds=60)
LOGIN_GAP: Final = timedelta(hours=1)
MAX_KEY_LENGTH: Final = 200

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cf_...`")


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a plain value, detached from any session."""

    id: int
    name: str
    role: str
    key_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _touch(ctx: AppContext, principal: Principal, now: datetime) -> None:
    """Refresh ``last_used_at``; a ``login`` activity row after an hour's rest."""
    from codeforge.db.models import ApiKey
    from codeforge.db.repositories import log_activity

    with ctx.factory.begin() as session:
        fresh = session.get(ApiKey, principal.key_id)
        if fresh is not None:
            previous = fresh.last_used_at
            if previous is not None and now - previous < TOUCH_EVERY:
                return  # another server (or thread) just did it
            fresh.last_used_at = now
            if previous is None or now - previous >= LOGIN_GAP:
                log_activity(
                    session,
                    "login",
                    actor=principal.name,
                    user_id=principal.id,
                    target=f"key:{fresh.prefix}",
                    details={"key_id": fresh.id, "key_name": fresh.name},
                    at=now,
                )


def _verify(ctx: AppContext, digest: str, now: datetime) -> CachedKey | None:
    """Look the key up in the database; the cache entry for it, else None."""
    from codeforge.db.models import User
    from codeforge.db.repositories import find_key_by_hash

    with ctx.read() as session:
        row = find_key_by_hash(session, digest)
        if row is None or not hmac.compare_digest(row.key_hash, digest) or not row.is_active(now):
            return None
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        return CachedKey(
            principal=Principal(user.id, user.name, user.role, row.id),
            user_id=user.id,
            key_id=row.id,
            key_expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            cached_until=0.0,
        )


def _digest(key: str) -> str | None:
    from codeforge.db.repositories import hash_api_key

    if not key.startswith("cf_") or len(key) > MAX_KEY_LENGTH:
        return None
    return hash_api_key(key)


def authenticate(ctx: AppContext, key: str) -> Principal | None:
    """The principal owning the active ``key``, else None; refreshes last-used.

    A key verified in the last ``key_cache_seconds`` is not looked up again (see
    ``codeforge.cache.memo``).
    """
    from codeforge.db.models import utcnow

    digest = _digest(key)
    if digest is None:
        return None
    now = utcnow()
    entry = ctx.keys.get(digest, now)
    if entry is None:
        entry = _verify(ctx, digest, now)
        if entry is None:
            return None
        ctx.keys.put(digest, entry)
    principal = entry.principal
    assert isinstance(principal, Principal)
    if ctx.keys.claim_touch(entry, now, TOUCH_EVERY.total_seconds()):
        _touch(ctx, principal, now)
    return principal


async def _authenticate_async(ctx: AppContext, key: str) -> Principal | None:
    """``authenticate`` without a thread hop when the key is cached and fresh."""
    from codeforge.db.models import utcnow

    digest = _digest(key)
    if digest is None:
        return None
    now = utcnow()
    entry = ctx.keys.get(digest, now)
    if entry is not None:
        last = entry.last_used_at
        if last is not None and now - last < TOUCH_EVERY:
            principal = entry.principal
            assert isinstance(principal, Principal)
            return principal
    return await run_in_threadpool(authenticate, ctx, key)


SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def session_principal(ctx: AppContext, store: SessionStore, cookie: str) -> SessionUser | None:
    """The user of a live login session, checked against the database: the user is
    enabled, the session is from the user's current epoch, and the API key it was
    opened with (if any) is still active. None otherwise."""
    from codeforge.cache.connection import RedisUnavailable
    from codeforge.db.models import ApiKey, User, utcnow

    try:
        data = store.read(cookie)
    except RedisUnavailable:
        return None  # the store is down: log in again (a signed session is issued meanwhile)
    if data is None:
        return None
    with ctx.read() as session:
        user = session.get(User, data.user_id)
        if user is None or user.disabled or user.session_epoch != data.epoch:
            return None
        if data.key_id is not None:
            key = session.get(ApiKey, data.key_id)
            if key is None or key.user_id != user.id or not key.is_active(utcnow()):
                return None
        return SessionUser(Principal(user.id, user.name, user.role, data.key_id or 0), data)


@dataclasses.dataclass(frozen=True, slots=True)
class SessionUser:
    principal: Principal
    data: SessionData


def csrf_matches(sent: str, data: SessionData) -> bool:
    """``sent`` is the session's CSRF token (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(sent.encode(), data.csrf.encode())


def check_csrf(request: Request, data: SessionData) -> None:
    """Unsafe methods with cookie auth must echo the session's CSRF token in a header."""
    from codeforge.cache.sessions import CSRF_HEADER

    if request.method in SAFE_METHODS:
        return
    if not csrf_matches(request.headers.get(CSRF_HEADER, ""), data):
        raise HTTPException(
            403,
            f"the {CSRF_HEADER} header is missing or wrong "
            "(its value comes from POST or GET /api/v1/session)",
        )


async def _from_session(request: Request, ctx: AppContext) -> Principal | None:
    from codeforge.cache.sessions import COOKIE_NAME

    cookie = request.cookies.get(COOKIE_NAME)
    store: SessionStore | None = getattr(request.app.state, "sessions", None)
    if not cookie or store is None:
        return None
    found = await run_in_threadpool(session_principal, ctx, store, cookie)
    if found is None:
        raise _unauthorized("the session has ended (logged out, expired or revoked); log in again")
    check_csrf(request, found.data)
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
