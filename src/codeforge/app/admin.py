"""Users and API keys administered from the command line, on the configured database.

The same operations as the API's admin routes (``codeforge.app.accounts``), with no
acting user: each change writes its activity row (no actor) in the same transaction.
The database schema is created or upgraded first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from codeforge.errors import NotFoundError
from codeforge.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.db.models import ApiKey, User


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One transaction on the configured database (its schema made current first)."""
    from codeforge.db.engine import default_database_url, session_factory
    from codeforge.db.migrate import ensure_schema

    url = settings.database_url or default_database_url(settings.data_dir)
    ensure_schema(url)
    with session_factory(url).begin() as session:
        yield session


def _named(session: Session, name: str, missing: str, hint: str | None = None) -> User:
    """The user called ``name``; NotFoundError(``missing``) when there is none."""
    from codeforge.db.repositories import get_user_by_name

    user = get_user_by_name(session, name)
    if user is None:
        raise NotFoundError(missing, hint=hint)
    return user


def create_user(settings: Settings, name: str, role: str) -> None:
    """A new user; ConflictError when the name is taken."""
    from codeforge.db.repositories import create_user as create_row
    from codeforge.db.repositories import log_activity

    with transaction(settings) as session:
        user = create_row(session, name, role)
        log_activity(
            session,
            "user.create",
            target=f"user:{name}",
            details={"user_id": user.id, "role": role},
        )


def list_users(settings: Settings) -> list[dict[str, Any]]:
    """Every user by name: id, name, role, disabled."""
    from sqlalchemy import select

    from codeforge.db.models import User

    with transaction(settings) as session:
        return [
            {"id": u.id, "name": u.name, "role": u.role, "disabled": u.disabled}
            for u in session.scalars(select(User).order_by(User.name))
        ]


def set_user_disabled(settings: Settings, name: str, disabled: bool) -> None:
    """Disable (or enable) user ``name`` (idempotent); disabling ends their sessions."""
    from codeforge.db.repositories import log_activity
    from codeforge.db.repositories import set_user_disabled as set_row

    with transaction(settings) as session:
        user = _named(session, name, f"user {name!r} not found")
        if set_row(session, user, disabled):
            log_activity(
                session,
                "user.disable" if disabled else "user.enable",
                target=f"user:{name}",
                details={"user_id": user.id},
            )
        user_id = user.id
    if disabled:
        _revoke_redis_sessions(settings, user_id)  # tidy: the epoch bump already ended them


def _revoke_redis_sessions(settings: Settings, user_id: int) -> None:
    """Delete the user's Redis session records (best effort; the epoch bump is what counts)."""
    from codeforge.cache.sessions import session_store

    if settings.redis_url:
        store = session_store(
            settings.data_dir,
            settings.redis_url,
            prefix=os.environ.get("CODEFORGE_REDIS_PREFIX") or "codeforge:",
        )
        store.revoke_user(user_id)


def set_password(settings: Settings, name: str, password: str) -> None:
    """Set ``name``'s login password (checked against the rules first); every login
    session of theirs ends."""
    from codeforge.cache.sessions import check_password_rules, hash_password
    from codeforge.db.repositories import log_activity

    check_password_rules(password)
    hashed = hash_password(password)
    with transaction(settings) as session:
        user = _named(session, name, f"user {name!r} not found")
        user.password_hash = hashed
        user.session_epoch += 1
        log_activity(session, "user.password", target=f"user:{name}", details={"user_id": user.id})
        user_id = user.id
    _revoke_redis_sessions(settings, user_id)  # tidy: the epoch bump above already ended them


def create_key(settings: Settings, name: str, owner_name: str, expires_days: int | None) -> str:
    """A new key ``name`` for ``owner_name``; the clear key (shown once, never stored)."""
    from codeforge.db.models import utcnow
    from codeforge.db.repositories import create_api_key, log_activity

    with transaction(settings) as session:
        owner = _named(
            session,
            owner_name,
            f"no user named {owner_name!r}",
            hint="create it with `codeforge users create`",
        )
        expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
        row, key = create_api_key(session, owner, name, expires_at=expires_at)
        log_activity(
            session,
            "key.create",
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner": owner.name, "name": name},
        )
    return key


def _key_info(row: ApiKey, user: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "user": user,
    }


def list_keys(settings: Settings, user_name: str | None) -> list[dict[str, Any]]:
    """Every key (or ``user_name``'s), by id: never the key itself."""
    from sqlalchemy import select

    from codeforge.db.models import ApiKey, User

    with transaction(settings) as session:
        stmt = select(ApiKey, User.name).join(User, User.id == ApiKey.user_id)
        if user_name is not None:
            stmt = stmt.where(
                ApiKey.user_id == _named(session, user_name, f"no user named {user_name!r}").id
            )
        return [_key_info(k, u) for k, u in session.execute(stmt.order_by(ApiKey.id)).all()]


def revoke_key(settings: Settings, key_id: int) -> None:
    """Revoke key ``key_id`` (idempotent); NotFoundError when there is none."""
    from codeforge.db.repositories import log_activity, revoke_api_key

    with transaction(settings) as session:
        row = revoke_api_key(session, key_id)
        log_activity(
            session,
            "key.revoke",
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner_id": row.user_id},
        )
