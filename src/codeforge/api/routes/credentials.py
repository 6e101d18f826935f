"""``/credentials``: each user's own forge tokens and registry logins (``docker``:
USER:PASSWORD per registry host, for the workflow job's pushes). Write-only; listings show
metadata only.

There is no way to name another user: every query is scoped to the caller, so
someone else's credential is simply not found (404).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.schemas import CredentialCreate, CredentialPublic, ErrorPublic
from codeforge.app import activity, user_credentials
from codeforge.app.authentication import Principal
from codeforge.app.context import AppContext
from codeforge.app.registries import REGISTRY
from codeforge.core.credentials import (
    DEFAULT_NAME,
    CredentialInfo,
    check_name,
    forge_named,
    normalise_host,
)

router = APIRouter(prefix=f"{API_PREFIX}/credentials", tags=["credentials"])
Provider = Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _key(ctx: AppContext, provider: str, host: str | None, name: str) -> tuple[str, str, str]:
    forge = forge_named([*ctx.plugins.forges().values(), REGISTRY], provider)
    return forge.name, normalise_host(host or forge.default_host), check_name(name)


def _log(session: Session, user: Principal, action: str, key: tuple[str, str, str]) -> None:
    """An Activity row naming the credential (never the token)."""
    target = f"credential:{key[0]}:{key[1]}:{key[2]}"
    activity.record(session, action, actor=user.name, user_id=user.id, target=target)


def _public(info: CredentialInfo) -> CredentialPublic:
    return CredentialPublic(**dataclasses.asdict(info))


@router.get("", response_model=list[CredentialPublic])
def list_credentials(ctx: Ctx, user: CurrentUser) -> list[CredentialPublic]:
    """Your credentials: provider, host, name, created and last used. Never the token."""
    return [_public(info) for info in user_credentials.list_for(ctx, user.id)]


@router.put(
    "/{provider}",
    response_model=CredentialPublic,
    responses={404: {"model": ErrorPublic}, 422: {"model": ErrorPublic}},
)
def put_credential(
    provider: Provider, body: CredentialCreate, ctx: Ctx, user: CurrentUser
) -> CredentialPublic:
    """Store (or replace) your token for ``provider``; it is sealed and never shown again."""
    key = _key(ctx, provider, body.host, body.name)
    with ctx.factory.begin() as session:
        info = user_credentials.put(session, ctx, user.id, key, body.token.get_secret_value())
        _log(session, user, "credential.set", key)
    return _public(info)


@router.delete(
    "/{provider}", response_model=CredentialPublic, responses={404: {"model": ErrorPublic}}
)
def delete_credential(
    provider: Provider,
    ctx: Ctx,
    user: CurrentUser,
    host: Annotated[str | None, Query(max_length=300, pattern=PLAIN_TEXT)] = None,
    name: Annotated[str, Query(max_length=64, pattern=PLAIN_TEXT)] = DEFAULT_NAME,
) -> CredentialPublic:
    """Delete your credential for ``provider`` (``?host=`` and ``?name=`` pick which)."""
    key = _key(ctx, provider, host, name)
    with ctx.factory.begin() as session:
        info = user_credentials.remove(session, user.id, key)
        _log(session, user, "credential.remove", key)
    return _public(info)
