"""``codeforge deploy``: run a project's workflow up to and including its deploy stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from codeforge.cli.workflow import REGISTRY, _request, execute
from codeforge.errors import UsageError

TARGETS = ("docker", "compose", "kubernetes")


@click.command()
@click.argument(
    "project", default=".", required=False, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    help="Where to deploy (default: CODEFORGE_DEPLOY_TARGET, the config's deploy.target, docker).",
)
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="The environment, such as dev or prod (default: CODEFORGE_DEPLOY_ENV, "
    "the config's deploy.env, dev).",
)
@click.option(
    "--context",
    "kube_context",
    metavar="NAME",
    help="kubernetes: the kubeconfig context to apply to (default: the current one, "
    "when KUBECONFIG or ~/.kube/config is present).",
)
@click.option(
    "--kube-version",
    metavar="X.Y",
    help="kubernetes: the Kubernetes version the manifests are validated against "
    "(default: CODEFORGE_KUBE_VERSION, 1.32).",
)
@click.option("--down", is_flag=True, help="Stop and remove what the deploy stage started.")
@click.option("--force", is_flag=True, help="Run stages whose inputs are unchanged too.")
@click.option("--trust", is_flag=True, help="Run the blueprint's commands (a source you trust).")
@click.option("--dry-run", is_flag=True, help="Show what would run or be skipped; run nothing.")
@REGISTRY
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")
@click.pass_context
def deploy(
    ctx: click.Context,
    /,
    project: Path,
    target: str | None,
    environment: str | None,
    kube_context: str | None,
    kube_version: str | None,
    down: bool,
    force: bool,
    trust: bool,
    dry_run: bool,
    registry: str | None,
    quiet: bool,
) -> None:
    """Verify, build, publish and deploy the project at PROJECT (default: here).

    Runs the stages its blueprint declares, in order, up to and including deploy;
    a stage whose inputs (the project's files, answers, target and environment)
    are unchanged since its last success is skipped unless --force. With --down,
    only the deploy stage runs, and it takes down what it had started.
    """
    if environment is not None and not environment.replace("-", "").replace("_", "").isalnum():
        raise UsageError(
            f"{environment!r} is not an environment name", where="--env", hint="like dev or prod"
        )
    request = _request(
        ctx,
        project,
        registry,
        stages=("deploy",) if down else (),
        until="deploy",
        force=force or down,
        trust=trust,
        dry_run=dry_run,
        target=target or "",
        environment=environment or "",
        down=down,
    )
    asked = {"context": kube_context, "kube_version": kube_version}
    if any(asked.values()):
        k8s = {**request.options.get("k8s.apply", {}), **{k: v for k, v in asked.items() if v}}
        request = dataclasses.replace(request, options={**request.options, "k8s.apply": k8s})
    execute(ctx, request, quiet=quiet)
