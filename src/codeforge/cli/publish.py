"""``codeforge publish``: create the repository on GitHub or GitLab, push, configure it.

The forge clients are imported only when a publish runs (``--help`` stays fast).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from codeforge.cli.common import echo_json, settings_from
from codeforge.errors import UsageError

if TYPE_CHECKING:
    from codeforge.app.publish import PublishResult

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--host", help="The forge's host or URL (default: github.com, gitlab.com)."),
    click.option("--owner", help="User, organization or group (default: the token's user)."),
    click.option("--repo", help="Repository name (default: the project folder's name)."),
    click.option(
        "--private", "visibility", flag_value="private", default=True, help="Private (default)."
    ),
    click.option("--internal", "visibility", flag_value="internal", help="Internal (org/group)."),
    click.option("--public", "visibility", flag_value="public", help="Public."),
    click.option("--description", help="The repository's description."),
    click.option("--topic", "topics", multiple=True, help="A topic (repeatable)."),
    click.option("--protect-default-branch", is_flag=True, help="Protect the default branch."),
    click.option("--credential", default=None, help="Which stored credential (default: default)."),
]


def publish_options(func: F) -> F:
    """The options ``publish`` and ``init --publish`` share."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def run_publish(
    ctx: click.Context,
    path: Path,
    provider: str,
    options: Mapping[str, Any],
    *,
    dry_run: bool,
    secrets: Mapping[str, str] | None = None,
) -> PublishResult:
    """Resolve the forge and the token, then run the publish use case."""
    from datetime import UTC, datetime

    from codeforge.app.publish import Publisher, PublishRequest, https_pusher
    from codeforge.cli.credentials import _forge, _store
    from codeforge.core.credentials import check_credential, normalise_host

    forge = _forge(ctx, provider)
    if not hasattr(forge, "repos"):
        raise UsageError(f"the forge {provider!r} cannot publish", where="--to")
    host = normalise_host(options.get("host") or forge.default_host)
    account, resolved = check_credential(
        _store(ctx), forge, host, options.get("credential"), os.environ
    )
    repos = forge.repos(host, resolved.token, account.login)
    recorder = None if dry_run else _recorder(ctx)
    request = PublishRequest(
        path=path,
        provider=forge.name,
        host=host,
        owner=options.get("owner"),
        repo=options.get("repo"),
        visibility=options.get("visibility") or "private",
        description=options.get("description"),
        topics=tuple(options.get("topics") or ()),
        protect=bool(options.get("protect_default_branch")),
        dry_run=dry_run,
        secrets=dict(secrets or {}),
    )
    publisher = Publisher(repos, https_pusher(), recorder, lambda: datetime.now(UTC))
    return publisher.publish(request)


def _recorder(ctx: click.Context) -> Any:
    from codeforge.app.record import project_store

    return project_store(settings_from(ctx))


def show(result: PublishResult, as_json: bool) -> None:
    """Print what was (or would be) done."""
    if as_json:
        echo_json(result.to_dict())
        return
    where = f"{result.provider} {result.owner}/{result.name}"
    if result.dry_run:
        click.echo(f"Would publish {result.branch} to {where}:")
    else:
        click.echo(f"Published {result.branch} ({result.head[:12]}) to {where}: {result.web_url}")
    for step in result.steps:
        click.echo(f"  {step}")


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--to", "provider", required=True, metavar="github|gitlab", help="The forge.")
@publish_options
@click.option("--dry-run", is_flag=True, help="Check and show the plan; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def publish(
    ctx: click.Context,
    /,
    path: Path,
    provider: str,
    dry_run: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Publish the project at PATH (default: here) to GitHub or GitLab.

    \b
    Creates the repository (for the user, an organization or a group), pushes
    the current branch over https (fast-forward only; the token travels as an
    HTTP header, never in a URL), sets the default branch, description and
    topics, optionally protects the branch, and stores the CI secrets the
    blueprint declares. Running it again pushes new commits.
    """
    secrets = blueprint_secrets(ctx, path) if not dry_run else {}
    show(run_publish(ctx, path, provider, options, dry_run=dry_run, secrets=secrets), as_json)


def blueprint_secrets(ctx: click.Context, path: Path) -> dict[str, str]:
    """The CI secrets the project's blueprint declares (none yet read here)."""
    return {}
