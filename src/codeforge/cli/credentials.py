"""``codeforge credentials``: tokens for GitHub and GitLab, and logins for container registries
(``docker``), sealed at rest, never printed."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Final

import click

from codeforge.app.registries import REGISTRY, check_secret
from codeforge.cli.common import settings_from
from codeforge.cli.plugins import plugins_from
from codeforge.core.credentials import (
    DEFAULT_NAME,
    CredentialInfo,
    CredentialStore,
    Forge,
    check_credential,
    check_name,
    check_token,
    forge_named,
    normalise_host,
    resolve_token,
)
from codeforge.errors import CredentialError, NotFoundError

STORE_ENV: Final = "CODEFORGE_CREDENTIAL_STORE"

_provider = click.argument("provider")
_host = click.option("--host", help="The forge's host (default: github.com, gitlab.com).")
_name = click.option(
    "--name", help=f"Which of your credentials for that host (default: {DEFAULT_NAME})."
)


def _store(ctx: click.Context) -> CredentialStore:
    """The store ``CODEFORGE_CREDENTIAL_STORE`` names (a plugin may add one), default ``local``."""
    wanted = os.environ.get(STORE_ENV) or "local"
    stores = plugins_from(ctx).credential_stores()
    if wanted not in stores:
        raise NotFoundError(
            f"unknown credential store {wanted!r}",
            where=STORE_ENV,
            hint=f"installed stores: {', '.join(sorted(stores))}",
        )
    return stores[wanted].open(settings_from(ctx), os.environ)


def _forge(ctx: click.Context, provider: str) -> Forge:
    """A forge (``github``, ``gitlab``, a plugin's), or ``docker``: container registries."""
    if provider == REGISTRY.name:
        return REGISTRY
    return forge_named([*plugins_from(ctx).forges().values(), REGISTRY], provider)


def lookup_secret(ctx: click.Context, provider: str, host: str) -> str | None:
    """What a workflow action asks for (docker.build's push): the provider's variable (CI),
    else the stored default credential for ``host``; None when there is neither."""
    forge = _forge(ctx, provider)
    try:
        return resolve_token(_store(ctx), forge, normalise_host(host), None, os.environ).token
    except CredentialError:
        return None


def _key(
    ctx: click.Context, provider: str, host: str | None, name: str | None
) -> tuple[str, str, str]:
    forge = _forge(ctx, provider)
    return forge.name, normalise_host(host or forge.default_host), check_name(name or DEFAULT_NAME)


@click.group()
def credentials() -> None:
    """Tokens for forges (GitHub, GitLab) and registry logins (docker), encrypted at rest.

    \b
    The key comes from CODEFORGE_SECRET_KEY, else the OS keyring, else
    credentials.key (0600) in the config folder. In CI, GITHUB_TOKEN,
    GITLAB_TOKEN and CODEFORGE_DOCKER_AUTH are used when no --name is given.
    A docker credential is USER:PASSWORD for one registry host
    (--host HOST[:PORT]); `deploy --registry` pushes with it.
    """


@credentials.command("set")
@_provider
@_host
@_name
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.pass_context
def set_(
    ctx: click.Context, provider: str, host: str | None, name: str | None, token_stdin: bool
) -> None:
    """Store a token for PROVIDER (prompted without echo unless --token-stdin)."""
    key = _key(ctx, provider, host, name)
    if token_stdin:
        raw = sys.stdin.readline()
    else:
        what = "USER:PASSWORD" if key[0] == REGISTRY.name else "token"
        raw = click.prompt(f"{key[0]} {what} for {key[1]}", hide_input=True, err=True)
    token = check_token(raw)
    if key[0] == REGISTRY.name:
        check_secret(token)
    info = _store(ctx).put(*key, token)
    click.echo(f"stored {info.provider} credential {info.name!r} for {info.host}", err=True)


def _row(info: CredentialInfo) -> dict[str, str | None]:
    data = dataclasses.asdict(info)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Provider, host, name, created and last used of each credential (never the token)."""
    found = _store(ctx).list()
    if as_json:
        from codeforge.cli.common import echo_json

        echo_json([_row(info) for info in found])
        return
    if not found:
        click.echo("no credentials stored", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("provider", "host", "name", "created", "last used", title="Credentials")
    for info in found:
        used = info.last_used_at.isoformat(timespec="seconds") if info.last_used_at else "never"
        table.add_row(
            info.provider, info.host, info.name, info.created_at.isoformat(timespec="seconds"), used
        )
    Console().print(table)


@credentials.command("remove")
@_provider
@_host
@_name
@click.pass_context
def remove(ctx: click.Context, provider: str, host: str | None, name: str | None) -> None:
    """Forget a stored token."""
    key = _key(ctx, provider, host, name)
    if not _store(ctx).remove(*key):
        raise NotFoundError(f"no {key[0]} credential {key[2]!r} for {key[1]}")
    click.echo(f"removed {key[0]} credential {key[2]!r} for {key[1]}", err=True)


@credentials.command("test")
@_provider
@_host
@_name
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def test(
    ctx: click.Context, provider: str, host: str | None, name: str | None, as_json: bool
) -> None:
    """Ask PROVIDER who the token belongs to; print the account and the token's scopes."""
    forge = _forge(ctx, provider)
    account, resolved = check_credential(
        _store(ctx), forge, host, check_name(name) if name else None, os.environ
    )
    if as_json:
        from codeforge.cli.common import echo_json

        echo_json({**dataclasses.asdict(account), "origin": resolved.origin})
        return
    scopes = (
        "not listed (fine-grained token)"
        if account.scopes is None
        else ", ".join(account.scopes) or "none"
    )
    shown = f"{account.login} ({account.display_name})" if account.display_name else account.login
    click.echo(f"{account.provider} at {account.host}: {shown}")
    click.echo(f"token: {resolved.origin}; scopes: {scopes}")


@credentials.command("rotate-key")
@click.option(
    "--server",
    is_flag=True,
    help="Re-encrypt the server's per-user credentials in the database instead.",
)
@click.pass_context
def rotate_key(ctx: click.Context, server: bool) -> None:
    """Re-encrypt every stored token under a new key.

    \b
    With --server: after changing the server secret, set CODEFORGE_SECRET_KEY to
    the new one and CODEFORGE_PREVIOUS_SECRET_KEY to the old one.
    """
    count = _rotate_server(ctx) if server else _store(ctx).rotate_key()
    click.echo(f"re-encrypted {count} credential(s) under a new key", err=True)


def _rotate_server(ctx: click.Context) -> int:
    from codeforge.app.user_credentials import rotate_server

    return rotate_server(settings_from(ctx), os.environ)
