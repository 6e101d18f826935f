"""``codeforge publish``: create the repository on GitHub or GitLab, push, configure it.

The forge clients are imported only when a publish runs (``--help`` stays fast).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from codeforge.cli.common import echo_json, settings_from
from codeforge.errors import UsageError

if TYPE_CHECKING:
    from codeforge.app.publish import PublishRequest, PublishResult
    from codeforge.core.publishing import ForgeRepos, PublishRecorder
    from codeforge.templates.publish import SecretSource

F = TypeVar("F", bound=Callable[..., Any])

# (flags, dest, keyword arguments) of the options ``publish`` and ``init --publish`` share.
_OPTIONS: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (("--host",), "host", {"help": "The forge's host or URL (default: github.com, gitlab.com)."}),
    (("--owner",), "owner", {"help": "User, organization or group (default: the token's user)."}),
    (("--repo",), "repo", {"help": "Repository name (default: the project folder's name)."}),
    (("--private",), "visibility", {"flag_value": "private", "help": "Private (default)."}),
    (("--internal",), "visibility", {"flag_value": "internal", "help": "Internal (org/group)."}),
    (("--public",), "visibility", {"flag_value": "public", "help": "Public."}),
    (("--description",), "description", {"help": "The repository's description."}),
    (("--topic",), "topics", {"multiple": True, "help": "A topic (repeatable)."}),
    (
        ("--protect-default-branch",),
        "protect_default_branch",
        {"is_flag": True, "help": "Protect the default branch."},
    ),
    (("--credential",), "credential", {"help": "Which stored credential (default: default)."}),
]
# The keys of the options mapping ``prepare`` and ``publish_to`` read.
OPTION_KEYS: tuple[str, ...] = tuple(dict.fromkeys(dest for _, dest, _ in _OPTIONS))


def publish_options(prefix: str = "") -> Callable[[F], F]:
    """The options ``publish`` and ``init --publish`` share; ``prefix`` goes before each dest."""

    def decorate(func: F) -> F:
        for flags, dest, kwargs in reversed(_OPTIONS):
            func = click.option(*flags, prefix + dest, **kwargs)(func)
        return func

    return decorate


class Target(NamedTuple):
    """A forge, host and checked token, ready to publish to (the token stays in ``repos``)."""

    provider: str
    host: str
    repos: ForgeRepos


def prepare(ctx: click.Context, provider: str, options: Mapping[str, Any]) -> Target:
    """Resolve the forge and the token and ask the forge whose it is (bad tokens fail here)."""
    from codeforge.cli.credentials import _forge, _store
    from codeforge.core.credentials import OpenOnUse, check_credential, normalise_host

    forge = _forge(ctx, provider)
    if not hasattr(forge, "repos"):
        raise UsageError(f"the forge {provider!r} cannot publish", where="--to")
    host = normalise_host(options.get("host") or forge.default_host)
    store = OpenOnUse(lambda: _store(ctx))  # GITHUB_TOKEN / GITLAB_TOKEN need no store
    account, resolved = check_credential(store, forge, host, options.get("credential"), os.environ)
    return Target(forge.name, host, forge.repos(host, resolved.token, account.login))


def publish_to(ctx: click.Context, target: Target, request: PublishRequest) -> PublishResult:
    """Run the publish use case against a prepared target."""
    from datetime import UTC, datetime

    from codeforge.app.publish import Publisher, https_pusher

    recorder = None if request.dry_run else _recorder(ctx)
    publisher = Publisher(target.repos, https_pusher(), recorder, lambda: datetime.now(UTC))
    return publisher.publish(request)


def _recorder(ctx: click.Context) -> PublishRecorder:
    from codeforge.app.record import local_publish_recorder

    return local_publish_recorder(settings_from(ctx))


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
@publish_options()
@click.option("--dry-run", is_flag=True, help="Check and show the plan; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--trust",
    is_flag=True,
    help="Let the blueprint store your stored credentials as CI secrets (publish.secrets).",
)
@click.pass_context
def publish(
    ctx: click.Context,
    /,
    path: Path,
    provider: str,
    dry_run: bool,
    as_json: bool,
    trust: bool,
    **options: Any,
) -> None:
    """Publish the project at PATH (default: here) to GitHub or GitLab.

    \b
    Creates the repository (for the user, an organization or a group), pushes
    the current branch over https (fast-forward only; the token travels as an
    HTTP header, never in a URL), sets the default branch, description and
    topics, optionally protects the branch, and stores the CI secrets the
    blueprint declares (a secret from an answer is read from
    CODEFORGE_PUBLISH_SECRET_<NAME>, or asked on a terminal). Running it again
    pushes new commits.
    """
    from codeforge.app.publish import request_from

    target = prepare(ctx, provider, options)
    secrets = blueprint_secrets(ctx, path, target, trust=trust)
    request = request_from(path, target.provider, target.host, options, dry_run, secrets)
    show(publish_to(ctx, target, request), as_json)


def credential_lookup(ctx: click.Context) -> Callable[[str, str, str | None], str]:
    """The token of a stored credential (or ``$GITHUB_TOKEN``...) by provider, host and name."""
    from codeforge.cli.credentials import _forge, _store
    from codeforge.core.credentials import OpenOnUse, normalise_host, resolve_token

    store = OpenOnUse(lambda: _store(ctx))

    def lookup(provider: str, host: str, name: str | None) -> str:
        forge = _forge(ctx, provider)
        wanted = normalise_host(host or forge.default_host)
        return resolve_token(store, forge, wanted, name, os.environ).token

    return lookup


def _prompt(secret: SecretSource) -> str | None:
    if not sys.stdin.isatty():
        return None
    text = f"Value of the CI secret {secret.name} ({secret.origin})"
    value: str = click.prompt(text, hide_input=True, default="", show_default=False, err=True)
    return value


def blueprint_secrets(
    ctx: click.Context, path: Path, target: Target, *, trust: bool = False
) -> dict[str, str]:
    """The CI secrets the project's blueprint declares (``publish.secrets``), with values."""
    from codeforge.app.local import local_engine
    from codeforge.app.publish_secrets import env_asker, project_secrets

    engine = local_engine(settings_from(ctx))
    where = (target.provider, target.host)
    ask = env_asker(os.environ, _prompt)
    return project_secrets(engine, path, where, credential_lookup(ctx), ask, trust=trust)
