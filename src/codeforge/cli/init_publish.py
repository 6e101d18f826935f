"""``codeforge init ... --publish github|gitlab``: create the project, then publish it.

The token is resolved and checked with the forge before anything is written, so a
bad token or a missing scope creates nothing. If the publish fails after the
project was made, the project stays and the error says how to retry with
``codeforge publish``. The publish modules are imported only when ``--publish``
is given: a plain ``init`` stays as fast as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from codeforge.cli.publish import OPTION_KEYS
from codeforge.errors import CodeForgeError, UsageError

if TYPE_CHECKING:
    from codeforge.app.publish import PublishResult
    from codeforge.cli.publish import Target
    from codeforge.core.engine import CreateResult

# init's own --description (set by --describe) and --dry-run/--json stay init's: the
# publish options are kept apart under this prefix.
PREFIX: Final = "publish_"
_FLAGS: Final = {
    "host": "--host",
    "owner": "--owner",
    "repo": "--repo",
    "description": "--description",
    "topics": "--topic",
    "credential": "--credential",
}


def publish_options_of(
    given: Mapping[str, Any], provider: str | None, *, no_git: bool
) -> dict[str, Any]:
    """The publish options without their prefix; UsageError when they cannot apply."""
    options = {key: given.get(PREFIX + key) for key in OPTION_KEYS}
    if provider is None:
        used = [key for key, value in options.items() if value not in (None, False, ())]
        if used:
            raise UsageError(
                f"{_flag(used[0])} applies to publishing only",
                hint="add --publish github|gitlab, or run `codeforge publish` afterwards",
            )
    elif no_git:
        raise UsageError(
            "--publish needs the project's git history, and --no-git skips it",
            hint="drop --no-git, or publish later with `codeforge publish`",
        )
    return options


def _flag(key: str) -> str:
    if key == "visibility":
        return "--private/--internal/--public"
    if key == "protect_default_branch":
        return "--protect-default-branch"
    return _FLAGS[key]


def prepare_publish(
    ctx: click.Context, provider: str, options: Mapping[str, Any], name: str, *, dry_run: bool
) -> Target:
    """Check the options, then the token, before the project is created."""
    from codeforge.app.publish import check_request, request_from
    from codeforge.cli.publish import prepare

    check_request(request_from(Path(name), provider, options.get("host") or "", options, dry_run))
    return prepare(ctx, provider, options)


def publish_created(
    ctx: click.Context, target: Target, result: CreateResult, options: Mapping[str, Any]
) -> PublishResult:
    """Publish the project just created (with the CI secrets its blueprint declares, from
    its answers); on failure the error says how to retry."""
    from codeforge.app.local import local_engine
    from codeforge.app.publish import request_from
    from codeforge.app.publish_secrets import created_secrets
    from codeforge.cli.common import settings_from
    from codeforge.cli.publish import credential_lookup, publish_to

    destination = result.destination
    try:
        answers = {
            **result.answers,
            **result.secrets,
            "project_name": destination.resolve().name,
        }
        secrets: dict[str, str] = {}
        if result.blueprint.publish is not None and result.blueprint.publish.secrets:
            engine = local_engine(settings_from(ctx))
            where = (target.provider, target.host)
            lookup = credential_lookup(ctx)
            secrets = created_secrets(
                engine,
                result.blueprint,
                answers,
                where,
                lookup,
                source=result.source,
                trust=bool(ctx.params.get("trust")),
            )
        request = request_from(destination, target.provider, target.host, options, False, secrets)
        return publish_to(ctx, target, request)
    except CodeForgeError as exc:
        raise PublishAfterInitError(
            exc, destination, retry_command(target, destination, options)
        ) from exc


class PublishAfterInitError(CodeForgeError):
    """The project was created but publishing it failed: keeps the cause's exit code."""

    def __init__(self, cause: CodeForgeError, destination: Path, retry: str) -> None:
        hint = f"{cause.hint}; then " if cause.hint else ""
        super().__init__(
            f"created {destination}, but publishing it failed: {cause.message}",
            where=cause.where,
            hint=f"{hint}retry with `{retry}`",
        )
        self.exit_code = cause.exit_code
        self.kind = cause.kind


def retry_command(target: Target, destination: Path, options: Mapping[str, Any]) -> str:
    """The ``codeforge publish`` command that publishes ``destination`` as asked."""
    import shlex  # here: only a failed publish needs it, and every `init` imports this module

    argv = ["codeforge", "publish", str(destination), "--to", target.provider]
    for key, flag in _FLAGS.items():
        values = options.get(key)
        for value in values if isinstance(values, tuple | list) else [values]:
            if value:
                argv += [flag, str(value)]
    if options.get("visibility"):
        argv.append(f"--{options['visibility']}")
    if options.get("protect_default_branch"):
        argv.append("--protect-default-branch")
    return shlex.join(argv)


def would_publish(target: Target, options: Mapping[str, Any], name: str) -> str:
    """The dry run's line about the publish that would follow."""
    owner = options.get("owner") or target.repos.login
    repo = options.get("repo") or name
    visibility = options.get("visibility") or "private"
    return f"Then would publish to {target.provider} {owner}/{repo} ({visibility}); nothing sent."
