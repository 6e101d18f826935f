"""``codeforge users create|list|disable|enable|set-password`` and ``codeforge keys create|list|revoke``.

The same operations as the API's admin routes, on the configured database; each
change writes its activity row in the same transaction (actor: the local CLI user).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from codeforge.cli.common import echo_json, settings_from

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ROLES = ("admin", "maintainer", "member")


@contextmanager
def _transaction(ctx: click.Context) -> Iterator[Session]:
    from codeforge.db.engine import default_database_url, session_factory
    from codeforge.db.migrate import ensure_schema

    settings = settings_from(ctx)
    url = settings.database_url or default_database_url(settings.data_dir)
    ensure_schema(url)
    with session_factory(url).begin() as session:
        yield session


def _key_info(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


@click.group()
def users() -> None:
    """Manage API users."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.pass_context
def users_create(ctx: click.Context, name: str, role: str) -> None:
    """Create user NAME."""
    from codeforge.db.repositories import create_user, log_activity

    with _transaction(ctx) as session:
        user = create_user(session, name, role)
        log_activity(
            session,
            "user.create",
            target=f"user:{name}",
            details={"user_id": user.id, "role": role},
        )
    click.echo(f"Created user {name} ({role}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users."""
    from sqlalchemy import select

    from codeforge.db.models import User

    with _transaction(ctx) as session:
        rows = [
            {"id": u.id, "name": u.name, "role": u.role, "disabled": u.disabled}
            for u in session.scalars(select(User).order_by(User.name))
        ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['name']}  {row['role']}{'  (disabled)' if row['disabled'] else ''}"
        )


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    from codeforge.db.repositories import get_user_by_name, log_activity, set_user_disabled
    from codeforge.errors import NotFoundError

    with _transaction(ctx) as session:
        user = get_user_by_name(session, name)
        if user is None:
            raise NotFoundError(f"user {name!r} not found")
        if set_user_disabled(session, user, disabled):
            log_activity(
                session,
                "user.disable" if disabled else "user.enable",
                target=f"user:{name}",
                details={"user_id": user.id},
            )
        user_id = user.id
    if disabled:
        _revoke_redis_sessions(ctx, user_id)  # tidy: the epoch bump already ended them
    click.echo(f"{'Disabled' if disabled else 'Enabled'} user {name}.")


def _revoke_redis_sessions(ctx: click.Context, user_id: int) -> None:
    """Delete the user's Redis session records (best effort; the epoch bump is what counts)."""
    import os

    from codeforge.cache.sessions import session_store

    settings = settings_from(ctx)
    if settings.redis_url:
        store = session_store(
            settings.data_dir,
            settings.redis_url,
            prefix=os.environ.get("CODEFORGE_REDIS_PREFIX") or "codeforge:",
        )
        store.revoke_user(user_id)


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Disable user NAME: their API keys stop working and their login sessions end for good
    (running servers: see docs/api.md)."""
    _set_disabled(ctx, name, True)


@users.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """Enable user NAME again: their keys work again; old login sessions do not."""
    _set_disabled(ctx, name, False)


@users.command("set-password")
@click.argument("name")
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.pass_context
def users_set_password(ctx: click.Context, name: str, from_stdin: bool) -> None:
    """Set NAME's password for the web page login (asked, never on the command line).

    Every login session NAME had ends at once.
    """
    import sys

    from codeforge.cache.sessions import check_password_rules, hash_password
    from codeforge.db.repositories import get_user_by_name, log_activity
    from codeforge.errors import NotFoundError

    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    check_password_rules(password)
    hashed = hash_password(password)
    with _transaction(ctx) as session:
        user = get_user_by_name(session, name)
        if user is None:
            raise NotFoundError(f"user {name!r} not found")
        user.password_hash = hashed
        user.session_epoch += 1
        log_activity(session, "user.password", target=f"user:{name}", details={"user_id": user.id})
        user_id = user.id
    _revoke_redis_sessions(ctx, user_id)  # tidy: the epoch bump above already ended them
    click.echo(f"Set the password of {name}; their login sessions have ended.")


@click.group()
def keys() -> None:
    """Manage API keys (shown once, stored as a hash)."""


@keys.command("create")
@click.argument("name")
@click.option("--user", "user_name", help="Owner of the key (default: the user called NAME).")
@click.option("--expires", type=click.IntRange(1, 3650), help="Days until the key expires.")
@click.pass_context
def keys_create(ctx: click.Context, name: str, user_name: str | None, expires: int | None) -> None:
    """Create API key NAME and print it (once: only its hash is kept)."""
    from codeforge.db.models import utcnow
    from codeforge.db.repositories import create_api_key, get_user_by_name, log_activity
    from codeforge.errors import NotFoundError

    owner_name = user_name or name
    with _transaction(ctx) as session:
        owner = get_user_by_name(session, owner_name)
        if owner is None:
            raise NotFoundError(
                f"no user named {owner_name!r}", hint="create it with `codeforge users create`"
            )
        expires_at = utcnow() + timedelta(days=expires) if expires else None
        row, key = create_api_key(session, owner, name, expires_at=expires_at)
        log_activity(
            session,
            "key.create",
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner": owner.name, "name": name},
        )
    click.echo(key)
    click.echo(
        f"API key {name} for {owner_name}"
        + (f", expires in {expires} days" if expires else "")
        + ". Store it now: it is not shown again.",
        err=True,
    )


@keys.command("list")
@click.option("--user", "user_name", help="Only this user's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def keys_list(ctx: click.Context, user_name: str | None, as_json: bool) -> None:
    """List keys (never the keys themselves: their prefix, dates and state)."""
    from sqlalchemy import select

    from codeforge.db.models import ApiKey, User
    from codeforge.db.repositories import get_user_by_name
    from codeforge.errors import NotFoundError

    with _transaction(ctx) as session:
        stmt = select(ApiKey, User.name).join(User, User.id == ApiKey.user_id)
        if user_name is not None:
            owner = get_user_by_name(session, user_name)
            if owner is None:
                raise NotFoundError(f"no user named {user_name!r}")
            stmt = stmt.where(ApiKey.user_id == owner.id)
        rows = [
            {**_key_info(k), "user": u} for k, u in session.execute(stmt.order_by(ApiKey.id)).all()
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        click.echo(
            f"{r['id']:>5}  {r['prefix']}…  {r['user']}  {r['name']}  {state}"
            f"  last used {r['last_used_at'] or 'never'}"
        )


@keys.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: int) -> None:
    """Revoke key KEY_ID (see `codeforge keys list`)."""
    from codeforge.db.repositories import log_activity, revoke_api_key

    with _transaction(ctx) as session:
        row = revoke_api_key(session, key_id)
        log_activity(
            session,
            "key.revoke",
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner_id": row.user_id},
        )
    click.echo(f"Revoked key {key_id}.")
