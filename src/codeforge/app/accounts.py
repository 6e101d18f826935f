"""Users and API keys on the server: list, create, disable and enable users; list,
create and revoke keys. Each change writes its Activity row in the same transaction.

The caller is an ``Actor`` (the API's principal): members act on their own keys,
admins on anyone's. Rows come back detached and loaded, for the adapter to present.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from codeforge.app.context import AppContext
from codeforge.errors import ConflictError, NotFoundError, UsageError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.db.models import ApiKey, User


def roles() -> tuple[str, ...]:
    """The roles a user can have, lowest first (what the admin page offers)."""
    from codeforge.db.models import ROLES

    return tuple(ROLES)


class Actor(Protocol):
    """Who is acting: a plain value (the API's ``Principal``)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def _log_user_change(
    session: Session, actor: Actor, action: str, row: User, **details: object
) -> None:
    """The Activity row of a change ``actor`` made to the user ``row``."""
    from codeforge.db.repositories import log_activity

    log_activity(
        session,
        action,
        actor=actor.name,
        user_id=actor.id,
        target=f"user:{row.name}",
        details={"user_id": row.id, **details},
    )


def get_user(ctx: AppContext, user_id: int) -> User:
    """The user ``user_id``; NotFoundError when there is none."""
    from codeforge.db.repositories import get_user as get_row

    with ctx.read() as session:
        return get_row(session, user_id)


def list_users(ctx: AppContext) -> list[User]:
    """Every user, by name."""
    from sqlalchemy import select

    from codeforge.db.models import User

    with ctx.read() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def create_user(ctx: AppContext, admin: Actor, name: str, role: str) -> User:
    """A new user; ConflictError when the name is taken."""
    from codeforge.db.repositories import create_user as create_row
    from codeforge.db.repositories import log_activity

    with ctx.factory.begin() as session:
        row = create_row(session, name, role)
        log_activity(
            session,
            "user.create",
            actor=admin.name,
            user_id=admin.id,
            target=f"user:{row.name}",
            details={"user_id": row.id, "role": row.role},
        )
        return row


def set_user_disabled(ctx: AppContext, admin: Actor, user_id: int, disabled: bool) -> User:
    """Disable (or enable) a user (idempotent); an admin cannot disable themselves.

    This process forgets the user's verified keys at once (other servers: on the
    revocation notice, or when their cache lapses).
    """
    from codeforge.db.repositories import get_user as get_row
    from codeforge.db.repositories import set_user_disabled as set_row

    if disabled and user_id == admin.id:
        raise ConflictError("you cannot disable yourself", hint="ask another admin")
    with ctx.factory.begin() as session:
        row = get_row(session, user_id)
        if set_row(session, row, disabled):
            _log_user_change(session, admin, "user.disable" if disabled else "user.enable", row)
    ctx.keys.forget_user(user_id)
    return row


def set_user_role(ctx: AppContext, admin: Actor, user_id: int, role: str) -> User:
    """Give a user another role (idempotent); an admin cannot change their own role."""
    from codeforge.db.models import ROLES
    from codeforge.db.repositories import get_user as get_row

    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r} (one of {', '.join(ROLES)})", where="role")
    if user_id == admin.id:
        raise ConflictError("you cannot change your own role", hint="ask another admin")
    with ctx.factory.begin() as session:
        row = get_row(session, user_id)
        if row.role != role:
            _log_user_change(session, admin, "user.role", row, **{"from": row.role, "to": role})
            row.role = role
    ctx.keys.forget_user(user_id)
    return row


def _checked_hash(new: str) -> str:
    """The hash of ``new`` once it passes the password rules (else a ValidationError)."""
    from codeforge.cache.sessions import check_password_rules, hash_password

    try:
        check_password_rules(new)
    except UsageError as exc:
        raise ValidationError(exc.message, where="new_password") from None
    return hash_password(new)


def _store_password(ctx: AppContext, actor: Actor, user_id: int, hashed: str) -> None:
    """Store ``hashed`` as ``user_id``'s password; every login session of theirs ends."""
    from codeforge.db.repositories import get_user as get_row

    with ctx.factory.begin() as session:
        row = get_row(session, user_id)
        row.password_hash = hashed
        row.session_epoch += 1
        _log_user_change(session, actor, "user.password", row)


def change_password(ctx: AppContext, actor: Actor, current: str, new: str) -> None:
    """Change the actor's own password: ``current`` must match; every login session of
    theirs ends (the session epoch moves on)."""
    from codeforge.cache.sessions import verify_password
    from codeforge.db.repositories import get_user as get_row

    hashed = _checked_hash(new)
    with ctx.read() as session:
        stored = get_row(session, actor.id).password_hash
    if not verify_password(current, stored):
        raise ValidationError("the current password is not right", where="current_password")
    _store_password(ctx, actor, actor.id, hashed)


def reset_password(ctx: AppContext, admin: Actor, user_id: int, new: str) -> None:
    """An admin sets ``user_id``'s password (a forgotten one); their sessions end."""
    _store_password(ctx, admin, user_id, _checked_hash(new))


def _owner_id(session: Session, actor: Actor, user_name: str | None) -> int:
    """The id of the user whose keys ``actor`` names: their own, or (admins) anyone's."""
    from codeforge.db.repositories import get_user_by_name

    if user_name is None or user_name == actor.name:
        return actor.id
    target = get_user_by_name(session, user_name) if actor.is_admin else None
    if target is None:
        raise NotFoundError(f"user {user_name!r} not found")
    return target.id


def list_keys(ctx: AppContext, actor: Actor, user_name: str | None = None) -> list[ApiKey]:
    """The actor's keys (admins: ``user_name``'s)."""
    from codeforge.db.repositories import list_api_keys

    with ctx.read() as session:
        return list_api_keys(session, _owner_id(session, actor, user_name))


def create_key(
    ctx: AppContext,
    actor: Actor,
    name: str,
    *,
    user_name: str | None = None,
    expires_days: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the actor (admins: for ``user_name``): the row and the clear key."""
    from codeforge.db.models import utcnow
    from codeforge.db.repositories import create_api_key, get_user, log_activity

    with ctx.factory.begin() as session:
        owner = get_user(session, _owner_id(session, actor, user_name))
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        row, key = create_api_key(session, owner, name, expires_at=expires)
        log_activity(
            session,
            "key.create",
            actor=actor.name,
            user_id=actor.id,
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner": owner.name, "name": row.name},
        )
    return row, key


def revoke_key(ctx: AppContext, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key (idempotent); someone else's is not found unless the actor is an admin."""
    from codeforge.db.repositories import log_activity, revoke_api_key

    with ctx.factory.begin() as session:
        row = revoke_api_key(session, key_id, user_id=None if actor.is_admin else actor.id)
        log_activity(
            session,
            "key.revoke",
            actor=actor.name,
            user_id=actor.id,
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner_id": row.user_id},
        )
    ctx.keys.forget_key(key_id)
    return row
