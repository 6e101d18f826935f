"""``/users`` (admins) and ``/me``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from codeforge.api.auth import Admin, Ctx, CurrentUser, Principal
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import ErrorPublic, UserCreate, UserPublic
from codeforge.app.context import AppContext
from codeforge.errors import ConflictError

router = APIRouter(prefix=API_PREFIX, tags=["users"])


@router.get("/me", response_model=UserPublic)
def me(ctx: Ctx, user: CurrentUser) -> UserPublic:
    """The user the API key belongs to."""
    from codeforge.db.repositories import get_user

    with ctx.read() as session:
        return UserPublic.model_validate(get_user(session, user.id))


@router.get("/users", response_model=list[UserPublic])
def list_users(ctx: Ctx, _admin: Admin) -> list[UserPublic]:
    from sqlalchemy import select

    from codeforge.db.models import User

    with ctx.read() as session:
        rows = session.scalars(select(User).order_by(User.name))
        return [UserPublic.model_validate(r) for r in rows]


@router.post(
    "/users", response_model=UserPublic, status_code=201, responses={409: {"model": ErrorPublic}}
)
def create_user(body: UserCreate, ctx: Ctx, admin: Admin) -> UserPublic:
    from codeforge.db.repositories import create_user as create_row
    from codeforge.db.repositories import log_activity

    with ctx.factory.begin() as session:
        row = create_row(session, body.name, body.role)
        log_activity(
            session,
            "user.create",
            actor=admin.name,
            user_id=admin.id,
            target=f"user:{row.name}",
            details={"user_id": row.id, "role": row.role},
        )
        return UserPublic.model_validate(row)


@router.get("/users/{user_id}", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
def get_user(
    ctx: Ctx, _admin: Admin, user_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> UserPublic:
    from codeforge.db.repositories import get_user as get_row

    with ctx.read() as session:
        return UserPublic.model_validate(get_row(session, user_id))


def _set_disabled(
    request: Request, ctx: AppContext, admin: Principal, user_id: int, disabled: bool
) -> UserPublic:
    from codeforge.db.repositories import get_user as get_row
    from codeforge.db.repositories import log_activity, set_user_disabled

    if disabled and user_id == admin.id:
        raise ConflictError("you cannot disable yourself", hint="ask another admin")
    with ctx.factory.begin() as session:
        row = get_row(session, user_id)
        if set_user_disabled(session, row, disabled):
            log_activity(
                session,
                "user.disable" if disabled else "user.enable",
                actor=admin.name,
                user_id=admin.id,
                target=f"user:{row.name}",
                details={"user_id": row.id},
            )
        public = UserPublic.model_validate(row)
    # This server forgets the user's verified keys now; see codeforge.cache.memo.
    ctx.keys.forget_user(user_id)
    if disabled:
        # Tidy: the epoch bump made by set_user_disabled already ended every session.
        request.app.state.sessions.revoke_user(user_id)
    return public


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic},
    409: {"model": ErrorPublic},
}


@router.post("/users/{user_id}/disable", response_model=UserPublic, responses=CHANGE_RESPONSES)
def disable_user(request: Request, ctx: Ctx, admin: Admin, user_id: UserId) -> UserPublic:
    """Disable a user: every key of theirs stops working and every login session ends
    for good, at once (idempotent)."""
    return _set_disabled(request, ctx, admin, user_id, True)


@router.post("/users/{user_id}/enable", response_model=UserPublic, responses=CHANGE_RESPONSES)
def enable_user(request: Request, ctx: Ctx, admin: Admin, user_id: UserId) -> UserPublic:
    """Enable a disabled user again (their unrevoked, unexpired keys work again; login
    sessions do not: they log in again)."""
    return _set_disabled(request, ctx, admin, user_id, False)
