"""``codeforge groups create|list|delete|add|remove``: groups of users, with which private
blueprints are shared. The same operations as the API's ``/api/v1/groups`` (admins), on
the configured database; each change writes its activity row (actor: the local CLI user).
"""

from __future__ import annotations

import click

from codeforge.cli.common import echo_json, settings_from


@click.group()
def groups() -> None:
    """Manage user groups (private blueprints are shared with groups)."""


@groups.command("create")
@click.argument("name")
@click.pass_context
def groups_create(ctx: click.Context, name: str) -> None:
    """Create group NAME."""
    from codeforge.app import groups as use
    from codeforge.app.admin import transaction

    with transaction(settings_from(ctx)) as session:
        use.create(session, name)
    click.echo(f"Created group {name}.")


@groups.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def groups_list(ctx: click.Context, as_json: bool) -> None:
    """List groups and their members."""
    from codeforge.app import groups as use
    from codeforge.app.admin import transaction

    with transaction(settings_from(ctx)) as session:
        rows = use.list_all(session)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}: {', '.join(row['members']) or '(no members)'}")


@groups.command("delete")
@click.argument("name")
@click.pass_context
def groups_delete(ctx: click.Context, name: str) -> None:
    """Delete group NAME (blueprints shared with it no longer are)."""
    from codeforge.app import groups as use
    from codeforge.app.admin import transaction

    with transaction(settings_from(ctx)) as session:
        use.delete(session, name)
    click.echo(f"Deleted group {name}.")


def _member(ctx: click.Context, name: str, user: str, member: bool) -> None:
    from codeforge.app import groups as use
    from codeforge.app.admin import transaction

    with transaction(settings_from(ctx)) as session:
        use.set_member(session, name, user, member)
    click.echo(f"{'Added' if member else 'Removed'} {user} {'to' if member else 'from'} {name}.")


@groups.command("add")
@click.argument("name")
@click.argument("user")
@click.pass_context
def groups_add(ctx: click.Context, name: str, user: str) -> None:
    """Add USER to group NAME."""
    _member(ctx, name, user, True)


@groups.command("remove")
@click.argument("name")
@click.argument("user")
@click.pass_context
def groups_remove(ctx: click.Context, name: str, user: str) -> None:
    """Remove USER from group NAME."""
    _member(ctx, name, user, False)
