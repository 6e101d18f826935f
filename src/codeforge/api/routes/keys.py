"""``/keys``: API keys. Everyone manages their own; admins anyone's. Keys are shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import ErrorPublic, KeyCreate, KeyCreated, KeyPublic

router = APIRouter(prefix=f"{API_PREFIX}/keys", tags=["keys"])


@router.get("", response_model=list[KeyPublic])
def list_keys(
    ctx: Ctx,
    user: CurrentUser,
    user_name: Annotated[str | None, Query(alias="user", max_length=200)] = None,
) -> list[KeyPublic]:
    """Your keys (admins: ``?user=NAME`` for someone else's). Never the key itself."""
    from codeforge.db.repositories import get_user_by_name, list_api_keys
    from codeforge.errors import NotFoundError

    with ctx.read() as session:
        user_id = user.id
        if user_name is not None and user_name != user.name:
            target = get_user_by_name(session, user_name) if user.is_admin else None
            if target is None:
                raise NotFoundError(f"user {user_name!r} not found")
            user_id = target.id
        return [KeyPublic.model_validate(k) for k in list_api_keys(session, user_id)]


@router.post(
    "", response_model=KeyCreated, status_code=201, responses={404: {"model": ErrorPublic}}
)
def create_key(body: KeyCreate, ctx: Ctx, user: CurrentUser) -> KeyCreated:
    """A new key for you (admins: for ``user``). The response is the only time it is shown."""
    from codeforge.db.models import utcnow
    from codeforge.db.repositories import create_api_key, get_user, get_user_by_name, log_activity
    from codeforge.errors import NotFoundError

    with ctx.factory.begin() as session:
        owner = get_user(session, user.id)
        if body.user is not None and body.user != user.name:
            target = get_user_by_name(session, body.user) if user.is_admin else None
            if target is None:
                raise NotFoundError(f"user {body.user!r} not found")
            owner = target
        expires = utcnow() + timedelta(days=body.expires_days) if body.expires_days else None
        row, key = create_api_key(session, owner, body.name, expires_at=expires)
        log_activity(
            session,
            "key.create",
            actor=user.name,
            user_id=user.id,
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner": owner.name, "name": row.name},
        )
        public = KeyPublic.model_validate(row)
    return KeyCreated(**public.model_dump(), key=key)


@router.delete("/{key_id}", response_model=KeyPublic, responses={404: {"model": ErrorPublic}})
def revoke_key(
    ctx: Ctx, user: CurrentUser, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> KeyPublic:
    """Revoke a key (idempotent). Someone else's key answers 404 unless you are an admin."""
    from codeforge.db.repositories import log_activity, revoke_api_key

    with ctx.factory.begin() as session:
        row = revoke_api_key(session, key_id, user_id=None if user.is_admin else user.id)
        log_activity(
            session,
            "key.revoke",
            actor=user.name,
            user_id=user.id,
            target=f"key:{row.prefix}",
            details={"key_id": row.id, "owner_id": row.user_id},
        )
        public = KeyPublic.model_validate(row)
    ctx.keys.forget_key(key_id)
    return public
