"""``codeforge db upgrade`` and ``codeforge projects add|list|remove|prune`` (also ``list projects``)."""

from __future__ import annotations

from pathlib import Path

import click

from codeforge.cli.common import echo_json, settings_from
from codeforge.settings import Settings


@click.group()
def db() -> None:
    """Manage the project database."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create or migrate the database schema to the latest revision."""
    from codeforge.app.record import project_store

    store = project_store(settings_from(ctx))
    revision = store.ensure()
    ingested = store.ingest_journal()
    click.echo(
        f"Database {store.url} is at revision {revision}"
        + (f"; recorded {ingested} pending project(s)." if ingested else ".")
    )


@click.group()
def projects() -> None:
    """Register and inspect recorded projects."""


@projects.command("add")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_context
def add(ctx: click.Context, path: Path) -> None:
    """Register the project at PATH from its .codeforge-answers.yml."""
    from codeforge.app.record import project_store

    project = project_store(settings_from(ctx)).add_from_answers_file(path)
    click.echo(
        f"Recorded {project['name']} ({project['blueprint_name']} {project['blueprint_version']}) at {project['path']}."
    )


@projects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Same as `codeforge list projects`."""
    show_projects(settings_from(ctx), as_json)


def show_projects(settings: Settings, as_json: bool) -> None:
    """Print the recorded projects (the journal ingested first), as a table or JSON."""
    from codeforge.app.record import project_store

    projects = project_store(settings).list_projects()
    if as_json:
        echo_json(projects)
        return
    from rich.console import Console
    from rich.table import Table

    columns = ("name", "blueprint", "version", "path", "created", "remote", "last stage")
    table = Table(*columns, title="Projects")
    for p in projects:
        table.add_row(
            str(p["name"]),
            str(p["blueprint_name"]),
            str(p["blueprint_version"]),
            str(p["path"]),
            str(p.get("created_at", ""))[:19],
            str(p.get("remote_url") or ""),
            str(p.get("workflow") or ""),
        )
    Console().print(table)


@projects.command("remove")
@click.argument("ref", metavar="ID|PATH")
@click.pass_context
def remove(ctx: click.Context, ref: str) -> None:
    """Forget the recorded project ID (see `projects list --json`) or at PATH.

    Only the record goes: the project's files are not touched.
    """
    from codeforge.app.record import project_store

    removed = project_store(settings_from(ctx)).remove(ref)
    click.echo(
        f"Removed the record of {removed['name']} (id {removed['id']}) at {removed['path']}."
    )


@projects.command("prune")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking.")
@click.pass_context
def prune(ctx: click.Context, yes: bool) -> None:
    """Forget the recorded projects whose folder no longer exists (asks first)."""
    import sys

    from codeforge.app.record import project_store
    from codeforge.errors import Declined, UsageError

    store = project_store(settings_from(ctx))
    gone = store.missing_folders()
    if not gone:
        click.echo("No recorded project has lost its folder.")
        return
    for project in gone:
        click.echo(f"{project['id']:>5}  {project['name']}  {project['path']} (missing)")
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"{len(gone)} record(s) to remove, but there is no terminal to confirm",
                hint="run `codeforge projects prune --yes`",
            )
        if not click.confirm(f"Remove these {len(gone)} record(s)?", default=False):
            raise Declined("nothing removed: the prune was declined")
    removed = store.remove_ids([int(p["id"]) for p in gone])
    click.echo(f"Removed {removed} record(s); no files were touched.")
