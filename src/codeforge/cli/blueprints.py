"""``codeforge blueprints list|feature|deprecate``: the maintainers' marks from the command
line. The same change as the API's ``PATCH /api/v1/blueprints/{name}`` (featured,
deprecated with a named replacement), on the configured database: the server's when
``CODEFORGE_DATABASE_URL`` is set, else the local SQLite file. Each change writes its
``blueprint.listing`` activity row (no acting user: the local CLI user).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from codeforge.cli.common import settings_from

if TYPE_CHECKING:
    from codeforge.app.listings import ListingChange


@click.group()
def blueprints() -> None:
    """Mark blueprints featured or deprecated (as the API does)."""


@blueprints.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def blueprints_list(ctx: click.Context, as_json: bool) -> None:
    """Same as `codeforge list blueprints`."""
    from codeforge.cli.catalog import list_blueprints

    ctx.invoke(list_blueprints, as_json=as_json)


def _mark(ctx: click.Context, name: str, change: ListingChange) -> None:
    from codeforge.app.listings import mark_local
    from codeforge.app.local import usable_blueprints

    settings = settings_from(ctx)
    known = {bp.name for bp, _use in usable_blueprints(settings)}
    mark_local(settings, name, change, known)


@blueprints.command("feature")
@click.argument("name")
@click.option("--off", is_flag=True, help="Take the featured mark away instead.")
@click.pass_context
def feature(ctx: click.Context, name: str, off: bool) -> None:
    """Mark blueprint NAME featured (or, with --off, not featured)."""
    from codeforge.app.listings import ListingChange

    _mark(ctx, name, ListingChange(featured=not off))
    click.echo(f"{name} is {'no longer' if off else 'now'} featured.")


@blueprints.command("deprecate")
@click.argument("name")
@click.option("--replacement", metavar="OTHER", help="The blueprint to use instead (required).")
@click.option("--clear", is_flag=True, help="Take the deprecation away instead.")
@click.pass_context
def deprecate(ctx: click.Context, name: str, replacement: str | None, clear: bool) -> None:
    """Mark blueprint NAME deprecated, to be replaced by --replacement OTHER (or, with
    --clear, no longer deprecated). `init -t NAME` then warns and names OTHER."""
    from codeforge.app.listings import ListingChange
    from codeforge.errors import UsageError

    if clear == (replacement is not None):
        raise UsageError(
            "give either --replacement OTHER or --clear",
            hint=f"codeforge blueprints deprecate {name} --replacement OTHER",
        )
    if clear:
        _mark(ctx, name, ListingChange(deprecated=False))
        click.echo(f"{name} is no longer deprecated.")
        return
    _mark(ctx, name, ListingChange(deprecated=True, replacement=replacement))
    click.echo(f"{name} is now deprecated; use {replacement} instead.")
