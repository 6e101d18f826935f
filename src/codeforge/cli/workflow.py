"""``codeforge workflow``: run a project's SDLC stages (verify, build, publish, deploy), show their state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codeforge.cli.common import CliReporter, echo_json, settings_from
from codeforge.templates.workflow import STAGES

if TYPE_CHECKING:
    from codeforge.core.sdlc_model import WorkflowRequest, WorkflowRun
    from codeforge.plugins.manager import Plugins

_PROJECT = click.option(
    "-C",
    "project",
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (default: the current one).",
)


def _plugins(ctx: click.Context) -> Plugins:
    """The plugin manager, built only when a stage has to run (a rerun of skips needs none)."""
    from codeforge.cli.plugins import plugins_from

    return plugins_from(ctx)


REGISTRY = click.option(
    "--registry",
    metavar="HOST[:PORT]/NAMESPACE",
    help="Push the image docker.build makes there (default: CODEFORGE_DOCKER_REGISTRY).",
)


def _request(
    ctx: click.Context, project: Path, registry: str | None = None, **options: Any
) -> WorkflowRequest:
    """The request, with the action defaults and the deploy target and environment filled in."""
    from codeforge.app.workflow import deploy_defaults, workflow_options
    from codeforge.core.sdlc_model import WorkflowRequest

    settings = settings_from(ctx)
    defaults = workflow_options(settings, os.environ)
    if registry:
        defaults.setdefault("docker.build", {})["registry"] = registry
    target, environment = deploy_defaults(settings, os.environ)
    options.setdefault("target", target)
    options.setdefault("environment", environment)
    if not options["target"]:
        options["target"] = target
    if not options["environment"]:
        options["environment"] = environment

    def credentials(provider: str, host: str) -> str | None:
        from codeforge.cli.credentials import lookup_secret  # only when an action asks

        return lookup_secret(ctx, provider, host)

    return WorkflowRequest(project=project, options=defaults, credentials=credentials, **options)


@click.group()
def workflow() -> None:
    """The project's lifecycle after generation: verify, build, publish, deploy."""


@workflow.command("run")
@click.argument("stages", nargs=-1, type=click.Choice(STAGES), metavar="[STAGE]...")
@_PROJECT
@click.option("--from", "start", type=click.Choice(STAGES), help="Start at this stage.")
@click.option("--dry-run", is_flag=True, help="Show what would run or be skipped; run nothing.")
@click.option("--force", is_flag=True, help="Run stages whose inputs are unchanged too.")
@click.option("--trust", is_flag=True, help="Run the blueprint's commands (a source you trust).")
@REGISTRY
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")
@click.pass_context
def run(
    ctx: click.Context,
    /,
    stages: tuple[str, ...],
    project: Path,
    start: str | None,
    dry_run: bool,
    force: bool,
    trust: bool,
    registry: str | None,
    quiet: bool,
) -> None:
    """Run the STAGEs the project's blueprint declares (default: all, in order).

    A stage whose inputs (the project's files, answers and target) are unchanged
    since its last success is skipped unless --force. A failed step stops the run
    with its last output lines (exit 11); Ctrl-C stops it (exit 130).
    """
    request = _request(
        ctx,
        project,
        registry,
        stages=stages,
        start=start,
        dry_run=dry_run,
        force=force,
        trust=trust,
    )
    execute(ctx, request, quiet=quiet)


def execute(ctx: click.Context, request: WorkflowRequest, *, quiet: bool) -> None:
    """Run the request, print each stage's result; a failed step shows its last lines."""
    from codeforge.app.workflow import run_workflow
    from codeforge.errors import CodeForgeError

    try:
        done = run_workflow(
            settings_from(ctx), lambda: _plugins(ctx), request, CliReporter(quiet=quiet)
        )
    except CodeForgeError as exc:  # a failed step carries its last output lines
        for line in getattr(exc, "tail", ()):
            click.echo(click.style("  | ", dim=True) + line, err=True)
        raise
    _summary(done)


def _summary(done: WorkflowRun) -> None:
    if done.dry_run:
        return
    for result in done.results:
        outputs = " ".join(f"{k}={v}" for k, v in result.outputs.items())
        click.echo(
            f"{result.stage:8} {result.status:11} {result.duration:7.1f} s  {outputs}".rstrip()
        )


@workflow.command("status")
@_PROJECT
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.pass_context
def status(ctx: click.Context, /, project: Path, as_json: bool) -> None:
    """Each stage's last result, and whether its inputs changed since."""
    from codeforge.app.workflow import workflow_status

    request = _request(ctx, project)
    stages = workflow_status(settings_from(ctx), lambda: _plugins(ctx), request)
    if as_json:
        echo_json(stages)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("stage", "last", "started", "took", "inputs", "outputs", title=str(project))
    for item in stages:
        last: dict[str, Any] = item["last"] or {}  # type: ignore[assignment]
        table.add_row(
            str(item["stage"]),
            str(last.get("status", "never run")),
            str(last.get("started_at", "")),
            f"{last['duration']:.1f} s" if last else "",
            "unchanged" if item["up_to_date"] else "changed" if last else "",
            " ".join(f"{k}={v}" for k, v in (last.get("outputs") or {}).items()),
        )
    Console().print(table)
