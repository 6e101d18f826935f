"""Who is calling the server: API keys and login sessions, checked against the database.

Keys are looked up by their SHA-256 (the only form stored) and the stored hash is
compared again in constant time. ``last_used_at`` is refreshed at most once a
minute (so a busy key does not turn every read into a write); a ``login`` activity
row is written, in the same transaction, when a key is used after an hour's rest.
Verified keys are cached in the process for ``key_cache_seconds`` (``ctx.keys``).

A login session (``codeforge.cache.sessions``) is live while its user is enabled,
it is from the user's current session epoch, and the API key it was opened with
(if any) is still active.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from codeforge.app.config import ApiConfig
from codeforge.app.context import AppContext
from codeforge.errors import RedisUnavailable
from codeforge.settings import Settings

if TYPE_CHECKING:
    from codeforge.cache.memo import CachedKey
    from codeforge.cache.sessions import SessionData, SessionStore
    from codeforge.db.models import User

ROLE_RANK: Final = {"member": 0, "maintainer": 1, "admin": 2}
TOUCH_EVERY: Final = timedelta(seconds=60)
LOGIN_GAP: Final = timedelta(hours=1)
MAX_KEY_LENGTH: Final = 200


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
    from codeforge.cache.memo import CachedKey
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

    A key verified in the last ``key_cache_seconds`` is not looked up again.
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


def cached_principal(ctx: AppContext, key: str) -> Principal | None:
    """The principal of ``key`` when it is cached and was touched lately (no database
    work at all); None means: call ``authenticate``."""
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
    return None


# -- login sessions -------------------------------------------------------------------


def session_store(settings: Settings, config: ApiConfig) -> SessionStore:
    """The login-session store of a server (Redis when configured, signed cookies otherwise)."""
    from codeforge.cache.sessions import session_store as make

    return make(
        settings.data_dir, settings.redis_url, ttl=config.session_ttl, prefix=config.redis_prefix
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SessionUser:
    principal: Principal
    data: SessionData


def session_user(ctx: AppContext, store: SessionStore, cookie: str) -> SessionUser | None:
    """The user of a live login session (see the module docstring), else None."""
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


def password_user(ctx: AppContext, name: str, password: str) -> int | None:
    """The id of the enabled user ``name`` whose password this is, else None.

    Always one scrypt, so a missing user takes as long as a wrong password.
    """
    from codeforge.cache.sessions import verify_password
    from codeforge.db.repositories import get_user_by_name

    with ctx.read() as session:
        found = get_user_by_name(session, name)
        stored = found.password_hash if found is not None else None
        user_id = found.id if found is not None else 0
        disabled = found is None or found.disabled
    if not verify_password(password, stored) or disabled:
        return None
    return user_id


def open_session(
    ctx: AppContext, store: SessionStore, user_id: int, key_id: int | None, method: str
) -> tuple[str, SessionData] | None:
    """A new session for the enabled user ``user_id``: (cookie, data); None when the
    user is gone or disabled. ``method`` (``password``, ``api_key``) goes in the log."""
    from codeforge.db.models import User
    from codeforge.db.repositories import log_activity

    with ctx.factory.begin() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return None
        cookie, data = store.create(user.id, user.session_epoch, key_id)
        log_activity(
            session,
            "session.login",
            actor=user.name,
            user_id=user.id,
            target=f"user:{user.name}",
            details={"method": method},
        )
    return cookie, data


def close_session(ctx: AppContext, store: SessionStore, cookie: str, user_id: int) -> None:
    """End the session ``cookie``; a signed one cannot end alone: every session of the
    user ends (the epoch moves on). RedisUnavailable when Redis is down."""
    from codeforge.db.models import User
    from codeforge.db.repositories import log_activity

    ended_one = store.delete(cookie, user_id)
    with ctx.factory.begin() as session:
        user: User | None = session.get(User, user_id)
        if user is not None:
            if not ended_one:
                user.session_epoch += 1
            log_activity(
                session,
                "session.logout",
                actor=user.name,
                user_id=user.id,
                target=f"user:{user.name}",
                details={"all_sessions": not ended_one},
            )
