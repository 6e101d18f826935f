"""``/users`` (admins) and ``/me``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from codeforge.api.auth import Admin, Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import (
    ErrorPublic,
    PasswordChange,
    PasswordReset,
    RoleChange,
    UserCreate,
    UserPublic,
)
from codeforge.app import accounts
from codeforge.app.authentication import Principal
from codeforge.app.context import AppContext

router = APIRouter(prefix=API_PREFIX, tags=["users"])


@router.get("/me", response_model=UserPublic)
def me(ctx: Ctx, user: CurrentUser) -> UserPublic:
    """The user the API key belongs to."""
    return UserPublic.model_validate(accounts.get_user(ctx, user.id))


@router.post("/me/password", status_code=204, responses={422: {"model": ErrorPublic}})
def change_password(
    body: PasswordChange, request: Request, ctx: Ctx, user: CurrentUser
) -> Response:
    """Change your password (the current one is required). Every login session of yours
    ends, this one included: log in again with the new password."""
    accounts.change_password(ctx, user, body.current_password, body.new_password)
    request.app.state.sessions.revoke_user(user.id)  # tidy: the epoch bump ended them
    return Response(status_code=204)


@router.get("/users", response_model=list[UserPublic])
def list_users(ctx: Ctx, _admin: Admin) -> list[UserPublic]:
    return [UserPublic.model_validate(r) for r in accounts.list_users(ctx)]


@router.post(
    "/users", response_model=UserPublic, status_code=201, responses={409: {"model": ErrorPublic}}
)
def create_user(body: UserCreate, ctx: Ctx, admin: Admin) -> UserPublic:
    return UserPublic.model_validate(accounts.create_user(ctx, admin, body.name, body.role))


@router.get("/users/{user_id}", response_model=UserPublic, responses={404: {"model": ErrorPublic}})
def get_user(
    ctx: Ctx, _admin: Admin, user_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> UserPublic:
    return UserPublic.model_validate(accounts.get_user(ctx, user_id))


def _set_disabled(
    request: Request, ctx: AppContext, admin: Principal, user_id: int, disabled: bool
) -> UserPublic:
    public = UserPublic.model_validate(accounts.set_user_disabled(ctx, admin, user_id, disabled))
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


@router.post("/users/{user_id}/role", response_model=UserPublic, responses=CHANGE_RESPONSES)
def change_role(body: RoleChange, ctx: Ctx, admin: Admin, user_id: UserId) -> UserPublic:
    """Give a user another role (not yourself); it applies to their next request."""
    return UserPublic.model_validate(accounts.set_user_role(ctx, admin, user_id, body.role))


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    responses={**CHANGE_RESPONSES, 422: {"model": ErrorPublic}},
)
def reset_password(
    body: PasswordReset, request: Request, ctx: Ctx, admin: Admin, user_id: UserId
) -> Response:
    """Set a user's password (a forgotten one); every login session of theirs ends."""
    accounts.reset_password(ctx, admin, user_id, body.new_password)
    request.app.state.sessions.revoke_user(user_id)  # tidy: the epoch bump ended them
    return Response(status_code=204)
