"""``codeforge users create|list|disable|enable|set-password`` and ``codeforge keys create|list|revoke``.

The same operations as the API's admin routes, on the configured database; each
change writes its activity row in the same transaction (actor: the local CLI user).
"""

from __future__ import annotations

import click

from codeforge.cli.common import echo_json, settings_from

ROLES = ("admin", "maintainer", "member")


@click.group()
def users() -> None:
    """Manage API users."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.pass_context
def users_create(ctx: click.Context, name: str, role: str) -> None:
    """Create user NAME."""
    from codeforge.app import admin

    admin.create_user(settings_from(ctx), name, role)
    click.echo(f"Created user {name} ({role}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users."""
    from codeforge.app import admin

    rows = admin.list_users(settings_from(ctx))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['name']}  {row['role']}{'  (disabled)' if row['disabled'] else ''}"
        )


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    from codeforge.app import admin

    admin.set_user_disabled(settings_from(ctx), name, disabled)
    click.echo(f"{'Disabled' if disabled else 'Enabled'} user {name}.")


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

    from codeforge.app import admin

    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    admin.set_password(settings_from(ctx), name, password)
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
    from codeforge.app import admin

    owner_name = user_name or name
    key = admin.create_key(settings_from(ctx), name, owner_name, expires)
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
    from codeforge.app import admin

    rows = admin.list_keys(settings_from(ctx), user_name)
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
    from codeforge.app import admin

    admin.revoke_key(settings_from(ctx), key_id)
    click.echo(f"Revoked key {key_id}.")
