"""``codeforge init NAME -t TEMPLATE`` (or ``--describe "..."``: the model picks and fills)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codeforge.cli.common import (
    CliReporter,
    echo_json,
    parse_data,
    prompter_for,
    settings_from,
)
from codeforge.cli.init_publish import (
    PREFIX,
    prepare_publish,
    publish_created,
    publish_options_of,
    would_publish,
)
from codeforge.cli.publish import publish_options, show
from codeforge.errors import StoreError, UsageError

if TYPE_CHECKING:
    from codeforge.app.publish import PublishResult
    from codeforge.cli.publish import Target
    from codeforge.core.engine import CreateResult, SDLCEngine


@click.command()
@click.argument("name")
@click.option(
    "-t",
    "--template",
    default=None,
    help="Built-in or plugin name, blueprint folder, git URL, gh:owner/repo or gl:group/repo.",
)
@click.option(
    "--vcs-ref",
    default=None,
    metavar="REF",
    help="Git sources: the tag, branch or commit to use (default: the highest version tag, "
    "else the default branch).",
)
@click.option(
    "--refresh", is_flag=True, help="Git sources: fetch new tags and branches before resolving."
)
@click.option(
    "--dialect",
    type=click.Choice(["cookiecutter", "copier", "native"]),
    default=None,
    help="The format to use when the template ships several definitions "
    "(default: native, else copier, else cookiecutter).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to create the project in (default: the current folder).",
)
@click.option(
    "--defaults", is_flag=True, help="Ask nothing; use defaults for what --data leaves out."
)
@click.option("--data", "data_pairs", multiple=True, metavar="K=V", help="An answer (repeatable).")
@click.option(
    "--data-file", type=click.Path(dir_okay=False, path_type=Path), help="Answers in YAML or JSON."
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--force", is_flag=True, help="Write into a non-empty folder (never deletes other files)."
)
@click.option("--no-git", is_flag=True, help="Do not create a git repository.")
@click.option("--trust", is_flag=True, help="Allow the blueprint's tasks to run.")
@click.option(
    "--describe",
    "description",
    default=None,
    metavar="TEXT",
    help="Describe the project: the AI picks the blueprint (unless -t) and fills answers.",
)
@click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="With --describe: a folder of blueprints to choose from too (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option(
    "--publish",
    "publish_provider",
    default=None,
    metavar="github|gitlab",
    help="Then publish the project (as `codeforge publish --to`); the options below apply.",
)
@publish_options(PREFIX)
@click.pass_context
def init(
    ctx: click.Context,
    /,
    name: str,
    template: str | None,
    vcs_ref: str | None,
    refresh: bool,
    dialect: str | None,
    output_dir: Path | None,
    defaults: bool,
    data_pairs: tuple[str, ...],
    data_file: Path | None,
    dry_run: bool,
    force: bool,
    no_git: bool,
    trust: bool,
    description: str | None,
    catalogs: tuple[Path, ...],
    as_json: bool,
    quiet: bool,
    publish_provider: str | None,
    **publish: Any,
) -> None:
    """Create project NAME from a blueprint, in OUTPUT_DIR/NAME (--publish: then publish it)."""
    from codeforge.app.local import local_engine
    from codeforge.app.record import local_recorder

    options = publish_options_of(publish, publish_provider, no_git=no_git)
    target = None
    if publish_provider is not None:
        target = prepare_publish(ctx, publish_provider, options, name, dry_run=dry_run)
    settings = settings_from(ctx)
    data = parse_data(data_pairs, data_file)
    reporter = CliReporter(quiet=quiet or as_json)
    engine = local_engine(settings, reporter=reporter, recorder=local_recorder(settings))
    template, data = _pick_template(
        engine,
        name,
        template,
        data,
        description,
        defaults=defaults,
        quiet=quiet or as_json,
        catalogs=catalogs,
    )
    result = engine.create_project(
        template,
        name,
        output_dir=output_dir,
        data=data,
        prompter=prompter_for(defaults),
        dry_run=dry_run,
        force=force,
        git=not no_git,
        trust=trust,
        vcs_ref=vcs_ref,
        refresh=refresh,
        dialect=dialect,
    )
    _finish(ctx, result, target, options, dry_run=dry_run, as_json=as_json, quiet=quiet)


def _finish(
    ctx: click.Context,
    result: CreateResult,
    target: Target | None,
    options: dict[str, Any],
    *,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Show the result (and publish it when asked), then say if it could not be recorded."""
    _warn_deprecated(ctx, result.blueprint.name)
    if target is None:
        _present(result, dry_run=dry_run, as_json=as_json, quiet=quiet)
    else:
        _present_and_publish(
            ctx, result, target, options, dry_run=dry_run, as_json=as_json, quiet=quiet
        )
    if result.record_error is not None:
        _not_recorded(ctx, result.destination, result.record_error)


def _warn_deprecated(ctx: click.Context, name: str) -> None:
    """Warn (on stderr) when the database marks the blueprint deprecated, naming its
    replacement."""
    from codeforge.app.deprecation import init_warning

    warning = init_warning(settings_from(ctx), name)
    if warning is not None:
        CliReporter().warn(warning)


def _present_and_publish(
    ctx: click.Context,
    result: CreateResult,
    target: Target,
    options: dict[str, Any],
    *,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Show the new project, publish it (unless a dry run), show that: JSON shows both at once."""
    published = None
    if not dry_run:
        if not as_json:
            _present(result, dry_run=False, as_json=False, quiet=quiet)
        published = publish_created(ctx, target, result, options)
        if not as_json and not quiet:
            show(published, as_json=False)
    if as_json or dry_run:
        _present(result, dry_run=dry_run, as_json=as_json, quiet=quiet, published=published)
    if dry_run and not as_json:
        click.echo(would_publish(target, options, result.destination.name))


def _pick_template(
    engine: SDLCEngine,
    name: str,
    template: str | None,
    data: dict[str, Any],
    description: str | None,
    *,
    defaults: bool,
    quiet: bool,
    catalogs: tuple[Path, ...] = (),
) -> tuple[str, dict[str, Any]]:
    """``-t TEMPLATE`` as given, or with ``--describe`` what the AI picks (once accepted)."""
    if catalogs and description is None:
        raise UsageError("--catalog chooses among blueprints for --describe; pass --describe TEXT")
    if description is not None:
        from codeforge.cli.ai import describe_for_init

        interactive = not defaults and sys.stdin.isatty()
        return describe_for_init(
            engine,
            description,
            name,
            template,
            data,
            confirm=interactive,
            accept=defaults,
            quiet=quiet,
            catalogs=catalogs,
        )
    if template is None:
        raise UsageError(
            "give a blueprint with -t TEMPLATE, or describe the project with --describe"
        )
    return template, data


def _present(
    result: CreateResult,
    *,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    published: PublishResult | None = None,
) -> None:
    if as_json:
        echo_json(
            {
                "destination": str(result.destination),
                "blueprint": {
                    "name": result.blueprint.name,
                    "version": result.blueprint.version,
                    "source": result.source,
                },
                "answers": result.answers,
                "files": result.files if not dry_run else None,
                "dry_run": dry_run,
                "report": [e._asdict() for e in result.report] if dry_run else None,
                "commit": result.commit,
                "recorded": result.record_error is None,
                "next_steps": result.next_steps or None,
                **({"publish": published.to_dict()} if published is not None else {}),
            }
        )
    elif dry_run:
        _print_report(result.destination, result.report)
    elif not quiet:
        click.echo(
            f"Created {result.destination} from {result.blueprint.name} {result.blueprint.version} "
            f"({len(result.files)} files{', first commit ' + result.commit[:8] if result.commit else ''})."
        )
        if result.next_steps:
            click.echo(
                "\nNext steps:\n"
                + "\n".join(f"  {line}" for line in result.next_steps.splitlines())
            )


def _not_recorded(ctx: click.Context, destination: Path, error: StoreError) -> None:
    """The files are in place but the record failed: say how to register them, exit non-zero."""
    from codeforge.cli.main import report_error

    err = StoreError(
        f"the project is in place but was not recorded: {error.message}",
        hint=f"run `codeforge projects add {destination}` to register it",
    )
    report_error(err)
    ctx.exit(err.exit_code)


def _print_report(destination: Path, report: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.markup import escape
    from rich.tree import Tree

    console = Console()
    tree = Tree(f"[bold]{destination}[/] (dry run: nothing written)")
    nodes: dict[str, Tree] = {}
    colors = {"create": "green", "overwrite": "yellow", "skip": "dim", "unchanged": "dim"}
    for entry in report:
        parts = entry.path.split("/")
        parent = tree
        for depth in range(len(parts) - 1):
            key = "/".join(parts[: depth + 1])
            if key not in nodes:
                nodes[key] = parent.add(f"[bold blue]{parts[depth]}/[/]")
            parent = nodes[key]
        color = colors.get(entry.action, "white")
        size = f"-> {escape(entry.link)}" if entry.link is not None else f"{entry.size} B"
        parent.add(f"[{color}]{parts[-1]}[/] [dim]{size}, {entry.action}[/]")
    console.print(tree)
    counts: dict[str, int] = {}
    for entry in report:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    console.print(", ".join(f"{n} to {a}" for a, n in sorted(counts.items())))
