"""``codeforge generate KIND [ARGS]...`` inside a generated project."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codeforge.cli.common import (
    ClickPrompter,
    CliReporter,
    echo_json,
    parse_data,
    settings_from,
)


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("kind")
@click.argument("args", nargs=-1)
@click.option(
    "-C",
    "--project",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The generated project (default: the current folder).",
)
@click.option("--defaults", is_flag=True, help="Ask nothing; use defaults.")
@click.option("--data", "data_pairs", multiple=True, metavar="K=V", help="An answer (repeatable).")
@click.option(
    "--data-file", type=click.Path(dir_okay=False, path_type=Path), help="Answers in YAML or JSON."
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite files the component would add.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def generate(
    ctx: click.Context,
    kind: str,
    args: tuple[str, ...],
    project: Path,
    defaults: bool,
    data_pairs: tuple[str, ...],
    data_file: Path | None,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Add component KIND (for example `router orders`) to a generated project."""
    from codeforge.app.local import local_engine
    from codeforge.app.record import local_recorder

    settings = settings_from(ctx)
    engine = local_engine(
        settings, reporter=CliReporter(quiet=as_json), recorder=local_recorder(settings)
    )
    interactive = not defaults and sys.stdin.isatty()
    result = engine.generate_component(
        project,
        kind,
        args,
        data=parse_data(data_pairs, data_file),
        prompter=ClickPrompter() if interactive else None,
        force=force,
        dry_run=dry_run,
    )
    if as_json:
        echo_json(
            {
                "project": str(result.project),
                "component": kind,
                "answers": result.answers,
                "added": result.added,
                "edited": result.edited,
                "dry_run": dry_run,
                "report": [e._asdict() for e in result.report] if dry_run else None,
            }
        )
    elif dry_run:
        for entry in result.report:
            click.echo(f"{entry.action:9} {entry.path}")
    else:
        for rel in result.added:
            click.echo(click.style("added   ", fg="green") + rel)
        for rel in result.edited:
            click.echo(click.style("edited  ", fg="yellow") + rel)
    if result.record_error is not None:
        click.echo(
            click.style("warning: ", fg="yellow")
            + f"the component was added but not recorded: {result.record_error.message}",
            err=True,
        )
