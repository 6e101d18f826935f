"""``/keys``: API keys. Everyone manages their own; admins anyone's. Keys are shown once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import ErrorPublic, KeyCreate, KeyCreated, KeyPublic
from codeforge.app import accounts

router = APIRouter(prefix=f"{API_PREFIX}/keys", tags=["keys"])


@router.get("", response_model=list[KeyPublic])
def list_keys(
    ctx: Ctx,
    user: CurrentUser,
    user_name: Annotated[str | None, Query(alias="user", max_length=200)] = None,
) -> list[KeyPublic]:
    """Your keys (admins: ``?user=NAME`` for someone else's). Never the key itself."""
    return [KeyPublic.model_validate(k) for k in accounts.list_keys(ctx, user, user_name)]


@router.post(
    "", response_model=KeyCreated, status_code=201, responses={404: {"model": ErrorPublic}}
)
def create_key(body: KeyCreate, ctx: Ctx, user: CurrentUser) -> KeyCreated:
    """A new key for you (admins: for ``user``). The response is the only time it is shown."""
    row, key = accounts.create_key(
        ctx, user, body.name, user_name=body.user, expires_days=body.expires_days
    )
    public = KeyPublic.model_validate(row)
    return KeyCreated(**public.model_dump(), key=key)


@router.delete("/{key_id}", response_model=KeyPublic, responses={404: {"model": ErrorPublic}})
def revoke_key(
    ctx: Ctx, user: CurrentUser, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> KeyPublic:
    """Revoke a key (idempotent). Someone else's key answers 404 unless you are an admin."""
    return KeyPublic.model_validate(accounts.revoke_key(ctx, user, key_id))
