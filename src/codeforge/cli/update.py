"""``codeforge update``, ``check`` and ``diff``: keep a project in step with its blueprint.

Exit codes beyond the usual ones: ``check`` exits 100 when a newer version
exists (0 when up to date), and 101 when it first had to resolve an interrupted
``init --force``, ``generate`` or ``update`` in the folder (rolled back or
completed, as its message says); ``diff --exit-code`` exits 100 when an update
would change something; ``update`` exits 4 (conflict) when the git working tree is
dirty, and 102 after an update that left conflicts (they are listed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codeforge.cli.common import (
    ClickPrompter,
    CliReporter,
    echo_conflicts,
    echo_json,
    parse_data,
    settings_from,
)
from codeforge.core.update import UPDATE_AVAILABLE_EXIT, UpdateOptions, UpdateResult

if TYPE_CHECKING:
    from codeforge.core.engine import SDLCEngine

RECOVERED_EXIT = 101  # `check` resolved an interrupted operation first (it says how)
UPDATE_CONFLICTS_EXIT = 102  # the update was written but left conflicts to resolve

_project_arg = click.argument(
    "path", type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
_template_opt = click.option(
    "-t",
    "--template",
    default=None,
    help="The blueprint to update to (default: the source recorded in the project).",
)


def _merge_options(func: Any) -> Any:
    options = [
        click.option(
            "--to", "to", default=None, metavar="REF", help="Target tag, branch or commit."
        ),
        _template_opt,
        click.option(
            "--base-template",
            default=None,
            help="The blueprint version the project was made from, when it cannot be "
            "rebuilt from the recorded source (a local folder without git).",
        ),
        click.option("--defaults", is_flag=True, help="Ask nothing; new questions take defaults."),
        click.option(
            "--data", "data_pairs", multiple=True, metavar="K=V", help="An answer (repeatable)."
        ),
        click.option(
            "--data-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Answers in YAML or JSON.",
        ),
        click.option(
            "--conflict",
            type=click.Choice(["inline", "rej"]),
            default=None,
            help="Conflicts as markers in the file, or the blueprint's change in FILE.rej "
            "(default: inline; rej with --pr).",
        ),
        click.option("--trust", is_flag=True, help="Allow the blueprint's migrations to run."),
        click.option("--skip-migrations", is_flag=True, help="Update without running migrations."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _engine(ctx: click.Context, *, quiet: bool, record: bool) -> SDLCEngine:
    from codeforge.app.update import lifecycle_engine

    return lifecycle_engine(settings_from(ctx), CliReporter(quiet=quiet), record=record)


def _request(options: dict[str, Any], *, dry_run: bool, force: bool) -> UpdateOptions:
    """The merge options from the command line (prompts only on an interactive stdin)."""
    interactive = not options.pop("defaults") and sys.stdin.isatty()
    data = parse_data(options.pop("data_pairs"), options.pop("data_file"))
    options["conflict"] = options.get("conflict") or "inline"
    return UpdateOptions(
        data=data,
        prompter=ClickPrompter() if interactive else None,
        dry_run=dry_run,
        force=force,
        **options,
    )


_COLORS = {
    "add": "green",
    "update": "yellow",
    "merge": "cyan",
    "conflict": "red",
    "delete": "magenta",
    "chmod": "blue",
}


@click.command()
@_project_arg
@_merge_options
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--force", is_flag=True, help="Update even if the git working tree is dirty.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and conflicts.")
@click.option(
    "--pr",
    is_flag=True,
    help="Make the update on the branch codeforge/update-<blueprint>-<version>, push it and "
    "open (or update) a pull request on the forge the project was published to.",
)
@click.pass_context
def update(
    ctx: click.Context,
    /,
    path: Path,
    dry_run: bool,
    force: bool,
    quiet: bool,
    pr: bool,
    **options: Any,
) -> None:
    """Bring the project at PATH (default: here) up to a newer blueprint version.

    Exits 102 when the update was written but left conflicts to resolve. With
    --pr the project's checkout is left as it is: the update goes to a branch
    and a pull request (GitHub) or merge request (GitLab).
    """
    from codeforge.app import update as lifecycle

    as_json = options.pop("as_json")
    if pr:
        from codeforge.cli.pulls import update_with_pull

        options["conflict"] = options.get("conflict") or "rej"
        request = _request(options, dry_run=dry_run, force=force)
        made = update_with_pull(ctx, path, request, quiet=quiet, as_json=as_json)
        if made.conflicts:
            ctx.exit(UPDATE_CONFLICTS_EXIT)
        return
    engine = _engine(ctx, quiet=quiet or as_json, record=not dry_run)
    result = lifecycle.update(engine, path, _request(options, dry_run=dry_run, force=force))
    if as_json:
        echo_json(lifecycle.update_summary(result))
    else:
        if not quiet:
            _print_changes(result, dry_run)
        if result.conflicts:
            echo_conflicts(result.conflicts, "resolve them, then commit.")
    if result.record_error is not None:
        click.echo(
            click.style("warning: ", fg="yellow")
            + f"the project was updated but not recorded: {result.record_error.message}",
            err=True,
        )
    if result.conflicts and not dry_run:
        ctx.exit(UPDATE_CONFLICTS_EXIT)


def _print_changes(result: UpdateResult, dry_run: bool) -> None:
    verb = "would update" if dry_run else "updated"
    head = f"{result.blueprint} {result.from_version} → {result.to_version}"
    if result.adopted_from:
        head += f" (adopted from {result.adopted_from})"
    if not result.changes:
        click.echo(f"{head}: nothing to change.")
    else:
        click.echo(f"{head}: {verb} {len(result.changes)} file(s).")
    for change in result.changes:
        color = _COLORS.get(change.action, "white")
        line = click.style(f"{change.action:9}", fg=color) + change.path
        click.echo(line + (f"  ({change.note})" if change.note else ""))
    for kept in result.kept:
        click.echo(click.style("kept     ", dim=True) + f"{kept.path}  ({kept.reason})")
    if result.migrations:
        ran = "would run" if dry_run else "ran"
        click.echo(f"migrations {ran}: {', '.join(result.migrations)}")


@click.command()
@_project_arg
@_merge_options
@click.option("--exit-code", is_flag=True, help="Exit 100 when the update would change something.")
@click.pass_context
def diff(ctx: click.Context, /, path: Path, exit_code: bool, **options: Any) -> None:
    """Show, as a unified diff, what `codeforge update` would change in PATH."""
    from codeforge.app import update as lifecycle

    as_json = options.pop("as_json")
    engine = _engine(ctx, quiet=True, record=False)
    result = lifecycle.diff(engine, path, _request(options, dry_run=True, force=True))
    if as_json:
        data = lifecycle.update_summary(result)
        data["diff"] = result.diff()
        echo_json(data)
    else:
        click.echo(result.diff(), nl=False)
        for kept in result.kept:
            click.echo(f"# kept {kept.path}: {kept.reason}", err=True)
    if exit_code and result.changes:
        ctx.exit(UPDATE_AVAILABLE_EXIT)


@click.command()
@_project_arg
@_template_opt
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def check(ctx: click.Context, path: Path, template: str | None, as_json: bool) -> None:
    """Say whether a newer blueprint version exists (exit 100 if so, 0 if up to date).

    An interrupted `init --force`, `generate` or `update` in PATH is resolved first
    (rolled back, or completed if it had made all its changes) and reported: exit 101.
    """
    from codeforge.app import update as lifecycle

    engine = _engine(ctx, quiet=as_json, record=False)
    result = lifecycle.check(engine, path, template=template)
    recovered = result.recovered
    if recovered is not None:
        click.echo(click.style("recovered: ", fg="yellow") + recovered.message, err=True)
    if as_json:
        echo_json(lifecycle.check_summary(result))
    elif result.update_available:
        click.echo(
            f"{result.blueprint}: {result.current} → {result.latest} available "
            "(run `codeforge update`)."
        )
    else:
        click.echo(f"{result.blueprint} {result.current} is up to date.")
    if recovered is not None:
        ctx.exit(RECOVERED_EXIT)  # before 100: the folder changed under this command
    if result.update_available:
        ctx.exit(UPDATE_AVAILABLE_EXIT)
