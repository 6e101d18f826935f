"""Queries and writes for the marketplace: listings, groups and their members, stars.

None of them commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from codeforge.db.models import (
    Blueprint,
    BlueprintGroup,
    BlueprintListing,
    BlueprintStar,
    Group,
    GroupMember,
    User,
)
from codeforge.errors import ConflictError, NotFoundError

# --- listings -------------------------------------------------------------------------


def get_listing(session: Session, name: str) -> BlueprintListing | None:
    return session.get(BlueprintListing, name)


def ensure_listing(
    session: Session, name: str, owner_id: int | None, visibility: str = "public"
) -> BlueprintListing:
    """The listing of ``name``, made (owned by ``owner_id``) when it has none."""
    row = session.get(BlueprintListing, name)
    if row is None:
        row = BlueprintListing(
            name=name,
            owner_id=owner_id,
            visibility=visibility,
            featured=False,
            deprecated=False,
        )
        session.add(row)
        session.flush()
    return row


def all_listings(session: Session) -> list[tuple[BlueprintListing, str | None, list[int]]]:
    """Every listing with its owner's name and the ids of the groups it is shared with."""
    shared: dict[str, list[int]] = {}
    for name, group_id in session.execute(
        select(BlueprintGroup.name, BlueprintGroup.group_id).order_by(BlueprintGroup.group_id)
    ):
        shared.setdefault(str(name), []).append(int(group_id))
    stmt = select(BlueprintListing, User.name).outerjoin(User, User.id == BlueprintListing.owner_id)
    return [(row, owner, shared.get(row.name, [])) for row, owner in session.execute(stmt)]


def set_listing_groups(session: Session, name: str, group_ids: Sequence[int]) -> None:
    """Share the listing ``name`` with exactly ``group_ids``."""
    session.execute(delete(BlueprintGroup).where(BlueprintGroup.name == name))
    for group_id in sorted(set(group_ids)):
        session.add(BlueprintGroup(name=name, group_id=group_id))
    session.flush()


def newest_registrations(session: Session) -> dict[str, float]:
    """When each registered (non-retired) name last got a version, as a POSIX timestamp."""
    stmt = (
        select(Blueprint.name, func.max(Blueprint.created_at))
        .where(Blueprint.retired_at.is_(None))
        .group_by(Blueprint.name)
    )
    found: dict[str, float] = {}
    for name, at in session.execute(stmt):
        if at is not None:
            # SQLite hands aggregates back as naive text or datetimes: read them as UTC.
            found[str(name)] = _timestamp(at)
    return found


def _timestamp(value: object) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# --- stars ----------------------------------------------------------------------------


def star_counts(session: Session) -> dict[str, int]:
    stmt = select(BlueprintStar.name, func.count()).group_by(BlueprintStar.name)
    return {str(name): int(count) for name, count in session.execute(stmt)}


def star_count(session: Session, name: str) -> int:
    stmt = select(func.count()).select_from(BlueprintStar).where(BlueprintStar.name == name)
    return int(session.scalar(stmt) or 0)


def set_star(session: Session, user_id: int, name: str, on: bool) -> None:
    """Star (or unstar) ``name`` for ``user_id``; idempotent."""
    row = session.get(BlueprintStar, (user_id, name))
    if on and row is None:
        session.add(BlueprintStar(user_id=user_id, name=name))
        session.flush()
    elif not on and row is not None:
        session.delete(row)
        session.flush()


def starred_by(session: Session, user_id: int) -> set[str]:
    stmt = select(BlueprintStar.name).where(BlueprintStar.user_id == user_id)
    return {str(name) for name in session.scalars(stmt)}


# --- groups ---------------------------------------------------------------------------


def get_group(session: Session, name: str) -> Group:
    group = session.scalars(select(Group).where(Group.name == name)).first()
    if group is None:
        raise NotFoundError(f"no group named {name!r}", where="group")
    return group


def create_group(session: Session, name: str) -> Group:
    if session.scalars(select(Group).where(Group.name == name)).first() is not None:
        raise ConflictError(f"group {name!r} already exists", where="group")
    group = Group(name=name)
    session.add(group)
    session.flush()
    return group


def delete_group(session: Session, name: str) -> None:
    group = get_group(session, name)
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    session.execute(delete(BlueprintGroup).where(BlueprintGroup.group_id == group.id))
    session.delete(group)
    session.flush()


def list_groups(session: Session) -> list[tuple[Group, list[str]]]:
    """Every group by name, with its members' names (sorted)."""
    members: dict[int, list[str]] = {}
    stmt = select(GroupMember.group_id, User.name).join(User, User.id == GroupMember.user_id)
    for group_id, user in session.execute(stmt.order_by(User.name)):
        members.setdefault(int(group_id), []).append(str(user))
    groups = session.scalars(select(Group).order_by(Group.name))
    return [(g, members.get(g.id, [])) for g in groups]


def set_member(session: Session, group: Group, user_id: int, member: bool) -> None:
    """Add (or remove) ``user_id`` to ``group``; idempotent."""
    row = session.get(GroupMember, (group.id, user_id))
    if member and row is None:
        session.add(GroupMember(group_id=group.id, user_id=user_id))
        session.flush()
    elif not member and row is not None:
        session.delete(row)
        session.flush()


def memberships(session: Session) -> dict[int, frozenset[int]]:
    """Each user's group ids."""
    found: dict[int, set[int]] = {}
    for group_id, user_id in session.execute(select(GroupMember.group_id, GroupMember.user_id)):
        found.setdefault(int(user_id), set()).add(int(group_id))
    return {user: frozenset(ids) for user, ids in found.items()}


def group_names(session: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(Group.id, Group.name))}
