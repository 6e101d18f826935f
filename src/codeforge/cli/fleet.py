"""``codeforge fleet``: every recorded project against its blueprint's newest version.

``fleet update`` exits 0 when every project was updated (or was up to date), 102
when some were updated with conflicts and none failed, and 1 when at least one
project failed (the others were still updated; the summary says which).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from codeforge.cli.common import CliReporter, echo_json, settings_from

if TYPE_CHECKING:
    from codeforge.app.fleet import FleetEntry, FleetOutcome
    from codeforge.app.fleet_queue import Queued
    from codeforge.core.source import BlueprintResolver
    from codeforge.settings import Settings

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


def _server_configured(settings: Settings) -> bool:
    """A server database and a Redis queue, as `codeforge worker` reads them."""
    return bool(settings.database_url and (settings.redis_url or settings.queue_redis_url))


def _server_entries(ctx: click.Context, blueprint: str | None) -> list[FleetEntry]:
    """Every user's server projects, each against the catalog its owner sees."""
    from codeforge.app import fleet_queue
    from codeforge.app.context import build_context

    app = build_context(settings_from(ctx))
    return [target.entry for target in fleet_queue.targets(app, blueprint)]


@fleet.command()
@_blueprint_opt
@click.option(
    "--local",
    is_flag=True,
    help="Only the projects recorded for this machine's folders, even when a server "
    "(database and Redis queue) is configured.",
)
@_json_opt
@click.pass_context
def status(ctx: click.Context, blueprint: str | None, local: bool, as_json: bool) -> None:
    """List every recorded project: blueprint, version, latest version, remote, last update.

    \b
    When a server is configured (CODEFORGE_DATABASE_URL and a Redis queue, as for
    `codeforge worker`), every user's server projects are listed too, with their
    owner; --local lists only this machine's folders.
    """
    entries = _entries(ctx, blueprint, 1)
    if not local and _server_configured(settings_from(ctx)):
        found = [*entries, *_server_entries(ctx, blueprint)]
        entries = sorted(found, key=lambda e: (e.name, e.path, e.id))
    if as_json:
        echo_json([e.to_dict() for e in entries])
        return
    if not entries:
        click.echo("No recorded projects (see `codeforge projects`).")
        return
    _status_table(entries)


def _status_table(entries: list[FleetEntry]) -> None:
    from rich.console import Console
    from rich.table import Table

    owners = any(e.owner for e in entries)  # a column only when a server's projects are in
    columns = ["id", "project", *(["owner"] if owners else []), "blueprint", "version"]
    table = Table(*columns, "latest", "remote", "last update")
    for e in entries:
        latest = e.latest or (f"error: {e.error}" if e.error else "-")
        if e.lagging:
            latest = f"[yellow]{latest}[/yellow]"
        owner = [e.owner or ""] if owners else []
        table.add_row(
            str(e.id), f"{e.name}\n{e.path}", *owner, e.blueprint, e.version, latest,
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
    help="How many projects to update at once in this process (queued jobs: as many as "
    "there are workers).",
)
@click.option(
    "--local",
    is_flag=True,
    help="Update the projects recorded for this machine's folders, in this process, even "
    "when a server (database and Redis queue) is configured.",
)
@_json_opt
@click.pass_context
def update(
    ctx: click.Context,
    blueprint: str | None,
    pr: bool,
    concurrency: int,
    local: bool,
    as_json: bool,
) -> None:
    """Update every recorded project that lags its blueprint's newest version.

    \b
    Without --pr each project's folder is updated in place (as `codeforge update`
    does, conflicts as markers); with --pr each gets a branch and a pull request
    (as `codeforge update --pr`, conflicts in .rej files). One project's failure
    never stops the others; the summary lists what happened to each.

    \b
    When a server is configured (CODEFORGE_DATABASE_URL and a Redis queue, as for
    `codeforge worker`), every server project that lags gets an `update` job on the
    queue, run by the workers as its owner; the command waits for them (Ctrl-C stops
    waiting, the jobs go on). --local runs only this machine's folders, here.
    """
    from codeforge.app import fleet as use_case

    use_case.check_concurrency(concurrency)
    settings = settings_from(ctx)
    if local or not _server_configured(settings):
        outcomes = _update_here(ctx, blueprint, pr, concurrency)
    else:
        outcomes = _update_through_queue(ctx, blueprint, pr, concurrency)
    if as_json:
        echo_json([o.to_dict() for o in outcomes])
    else:
        _summary(outcomes)
    if any(o.status == "failed" for o in outcomes):
        ctx.exit(FLEET_FAILED_EXIT)
    if any(o.conflicts for o in outcomes):
        ctx.exit(FLEET_CONFLICTS_EXIT)


def _update_here(
    ctx: click.Context, blueprint: str | None, pr: bool, concurrency: int
) -> list[FleetOutcome]:
    """The projects recorded for this machine's folders, updated in this process."""
    from codeforge.app import fleet as use_case
    from codeforge.app.fleet_memo import run_resolver
    from codeforge.app.forge_access import ForgeOpener, fleet_runner

    # One resolver for the whole run: each blueprint source is fetched and read once.
    resolver = run_resolver(settings_from(ctx))
    entries = _entries(ctx, blueprint, concurrency, resolver)
    if not entries:
        return []
    opener = None
    if pr:
        from codeforge.cli.credentials import _store
        from codeforge.cli.plugins import plugins_from
        from codeforge.core.credentials import OpenOnUse

        store = OpenOnUse(lambda: _store(ctx))  # GITHUB_TOKEN / GITLAB_TOKEN need no store
        opener = ForgeOpener(plugins_from(ctx).forges().values(), store, os.environ)
    run_one = fleet_runner(settings_from(ctx), CliReporter(quiet=True), opener, resolver)
    return use_case.update(entries, run_one, concurrency=concurrency)


def _update_through_queue(
    ctx: click.Context, blueprint: str | None, pr: bool, concurrency: int
) -> list[FleetOutcome]:
    """Every lagging server project as an ``update`` job on the queue, run by the workers as
    its owner; this machine's recorded folders (if any) updated here meanwhile."""
    from codeforge.app import fleet_queue
    from codeforge.app.context import build_context
    from codeforge.app.queue import redis_queue
    from codeforge.jobs.config import job_config
    from codeforge.jobs.kinds import Owner, get_kind
    from codeforge.redaction import redact

    settings = settings_from(ctx)
    jobs = job_config(settings)
    app = build_context(settings)
    kind = get_kind(app, "update")

    def check(owner: fleet_queue.Owner, payload: dict[str, Any]) -> None:
        kind.check(app, Owner(owner.id, owner.name, owner.role), payload)

    found = fleet_queue.targets(app, blueprint)
    queue = redis_queue(str(jobs.redis_url))
    queued = fleet_queue.enqueue(app, queue, jobs.redis_url, jobs, found, pr=pr, check=check)
    if any(q.job_id is not None for q in queued):
        fleet_queue.record_request(app, _os_user(), blueprint, pr, queued)
    _say_queued(queued, f"queue {jobs.queue!r} on {redact(str(jobs.redis_url))}")
    if ctx.get_parameter_source("concurrency") is click.core.ParameterSource.COMMANDLINE:
        click.echo(
            "note: --concurrency applies to the folders updated in this process; the "
            "queued jobs run as many at once as there are workers",
            err=True,
        )

    def progress(done: int, total: int) -> None:
        if total:
            click.echo(f"{done} of {total} job(s) done", err=True)

    try:
        here = _update_here(ctx, blueprint, pr, concurrency)  # the workers start meanwhile
        outcomes = fleet_queue.wait(app, queued, progress)
    except KeyboardInterrupt:
        left = fleet_queue.pending(app, queued)
        click.echo(
            f"Stopped waiting; {len(left)} job(s) go on on the queue (GET /api/v1/jobs/ID): "
            + ", ".join(left),
            err=True,
        )
        raise
    return sorted([*here, *outcomes], key=lambda o: (o.name, o.path, o.id))


def _say_queued(queued: list[Queued], where: str) -> None:
    """On stderr: how many jobs were queued, and each job an earlier run had already made."""
    fresh = again = 0
    for q in queued:
        name = f"{q.target.entry.name} (project {q.target.entry.id})"
        if q.job_id is None:
            continue
        if q.earlier is None:
            fresh += 1
        elif q.earlier == "failed":
            again += 1
            click.echo(f"retrying failed job {q.job_id}: {name}", err=True)
        else:
            click.echo(f"already queued: job {q.job_id} ({q.earlier}): {name}", err=True)
    retried = f" ({again} retried)" if again else ""
    click.echo(f"Queued {fresh + again} update job(s){retried} on {where}.", err=True)


def _os_user() -> str:
    """The operating-system account running the command (for the Activity row)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}"


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
