"""``/groups`` (admins): groups of users, with which private blueprints can be shared."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from codeforge.api.auth import Admin, Ctx
from codeforge.api.config import API_PREFIX
from codeforge.api.marketplace_schemas import GroupCreate, GroupPublic
from codeforge.api.schemas import ErrorPublic
from codeforge.app import catalog, groups
from codeforge.app.groups import GROUP_PATTERN

router = APIRouter(prefix=f"{API_PREFIX}/groups", tags=["groups"])

GroupParam = Annotated[str, Path(pattern=GROUP_PATTERN, max_length=100)]
UserParam = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorPublic}}


@router.get("", response_model=list[GroupPublic])
def list_groups(ctx: Ctx, _admin: Admin) -> list[GroupPublic]:
    """Every group, with its members."""
    with ctx.read() as session:
        return [GroupPublic.model_validate(g) for g in groups.list_all(session)]


@router.post(
    "", response_model=GroupPublic, status_code=201, responses={409: {"model": ErrorPublic}}
)
def create_group(body: GroupCreate, ctx: Ctx, admin: Admin) -> GroupPublic:
    """A new, empty group."""
    with ctx.factory.begin() as session:
        made = groups.create(session, body.name, admin)
    return GroupPublic.model_validate(made)


@router.delete("/{group}", status_code=204, responses=NOT_FOUND)
def delete_group(ctx: Ctx, admin: Admin, group: GroupParam) -> Response:
    """Delete a group: the blueprints shared with it no longer are."""
    with ctx.factory.begin() as session:
        groups.delete(session, group, admin)
    catalog.invalidate(ctx)
    return Response(status_code=204)


def _member(ctx: Ctx, admin: Admin, group: str, user: str, member: bool) -> GroupPublic:
    with ctx.factory.begin() as session:
        changed = groups.set_member(session, group, user, member, admin)
    catalog.invalidate(ctx)
    return GroupPublic.model_validate(changed)


@router.put("/{group}/members/{user}", response_model=GroupPublic, responses=NOT_FOUND)
def add_member(ctx: Ctx, admin: Admin, group: GroupParam, user: UserParam) -> GroupPublic:
    """Add a user to the group (idempotent)."""
    return _member(ctx, admin, group, user, True)


@router.delete("/{group}/members/{user}", response_model=GroupPublic, responses=NOT_FOUND)
def remove_member(ctx: Ctx, admin: Admin, group: GroupParam, user: UserParam) -> GroupPublic:
    """Remove a user from the group (idempotent)."""
    return _member(ctx, admin, group, user, False)
