"""``codeforge fleet``: every recorded project against its blueprint's newest version.

``fleet update`` exits 0 when every project was updated (or was up to date), 102
when some were updated with conflicts and none failed, and 1 when at least one
project failed (the others were still updated; the summary says which).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from codeforge.cli.common import CliReporter, echo_json, settings_from

if TYPE_CHECKING:
    from codeforge.app.fleet import FleetEntry, FleetOutcome
    from codeforge.core.source import BlueprintResolver

FLEET_FAILED_EXIT = 1
FLEET_CONFLICTS_EXIT = 102  # as `codeforge update`


def _entries(
    ctx: click.Context,
    blueprint: str | None,
    concurrency: int,
    resolver: BlueprintResolver | None = None,
) -> list[FleetEntry]:
    from codeforge.app import fleet
    from codeforge.app.forge_access import fleet_checker
    from codeforge.app.record import project_store

    settings = settings_from(ctx)
    store = project_store(settings)
    rows = store.list_projects()
    check = fleet_checker(settings, CliReporter(quiet=True), resolver)
    last = store.last_updates()
    return fleet.status(rows, check, last, blueprint=blueprint, concurrency=concurrency)


_blueprint_opt = click.option("--blueprint", default=None, help="Only projects of this blueprint.")
_json_opt = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group()
def fleet() -> None:
    """Every project CodeForge recorded: how far each lags, and updating them all."""


@fleet.command()
@_blueprint_opt
@_json_opt
@click.pass_context
def status(ctx: click.Context, blueprint: str | None, as_json: bool) -> None:
    """List every recorded project: blueprint, version, latest version, remote, last update."""
    entries = _entries(ctx, blueprint, 1)
    if as_json:
        echo_json([e.to_dict() for e in entries])
        return
    if not entries:
        click.echo("No recorded projects (see `codeforge projects`).")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "project", "blueprint", "version", "latest", "remote", "last update")
    for e in entries:
        latest = e.latest or f"error: {e.error}"
        if e.lagging:
            latest = f"[yellow]{latest}[/yellow]"
        table.add_row(
            str(e.id), f"{e.name}\n{e.path}", e.blueprint, e.version, latest,
            e.remote or "-", (e.last_update or "-")[:19],
        )  # fmt: skip
    Console().print(table)


@fleet.command()
@_blueprint_opt
@click.option("--pr", is_flag=True, help="Update each project through a pull request.")
@click.option(
    "--concurrency",
    type=int,
    default=2,
    show_default=True,
    help="How many projects to update at once.",
)
@_json_opt
@click.pass_context
def update(
    ctx: click.Context, blueprint: str | None, pr: bool, concurrency: int, as_json: bool
) -> None:
    """Update every recorded project that lags its blueprint's newest version.

    \b
    Without --pr each project's folder is updated in place (as `codeforge update`
    does, conflicts as markers); with --pr each gets a branch and a pull request
    (as `codeforge update --pr`, conflicts in .rej files). One project's failure
    never stops the others; the summary lists what happened to each.
    """
    from codeforge.app import fleet as use_case
    from codeforge.app.fleet_memo import run_resolver
    from codeforge.app.forge_access import ForgeOpener, fleet_runner

    use_case.check_concurrency(concurrency)
    # One resolver for the whole run: each blueprint source is fetched and read once.
    resolver = run_resolver(settings_from(ctx))
    entries = _entries(ctx, blueprint, concurrency, resolver)
    opener = None
    if pr:
        from codeforge.cli.credentials import _store
        from codeforge.cli.plugins import plugins_from
        from codeforge.core.credentials import OpenOnUse

        store = OpenOnUse(lambda: _store(ctx))  # GITHUB_TOKEN / GITLAB_TOKEN need no store
        opener = ForgeOpener(plugins_from(ctx).forges().values(), store, os.environ)
    run_one = fleet_runner(settings_from(ctx), CliReporter(quiet=True), opener, resolver)
    outcomes = use_case.update(entries, run_one, concurrency=concurrency)
    if as_json:
        echo_json([o.to_dict() for o in outcomes])
    else:
        _summary(outcomes)
    if any(o.status == "failed" for o in outcomes):
        ctx.exit(FLEET_FAILED_EXIT)
    if any(o.conflicts for o in outcomes):
        ctx.exit(FLEET_CONFLICTS_EXIT)


_COLORS = {"failed": "red", "conflicts": "yellow", "up-to-date": "white"}


def _summary(outcomes: list[FleetOutcome]) -> None:
    from codeforge.app.fleet import counts

    for o in outcomes:
        line = click.style(f"{o.status:13}", fg=_COLORS.get(o.status, "green")) + f"{o.name}"
        if o.status != "up-to-date" and o.to_version:
            line += f"  {o.from_version} → {o.to_version}"
        if o.pull:
            line += f"  {o.pull}"
        if o.conflicts:
            line += f"  conflicts: {', '.join(o.conflicts)}"
        if o.error:
            line += f"  {o.error}"
        click.echo(line)
    shown = ", ".join(f"{n} {status}" for status, n in sorted(counts(outcomes).items()))
    click.echo(f"{len(outcomes)} project(s): {shown or 'none recorded'}.")
