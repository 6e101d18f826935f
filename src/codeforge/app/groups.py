"""Groups of users (a private blueprint can be shared with groups): create, delete, list,
add and remove members. Admins only, from the API (``/api/v1/groups``) and the CLI
(``codeforge groups``); each change writes its activity row in the caller's transaction.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final, Protocol

from codeforge.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

GROUP_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,99}$"


class Admin(Protocol):
    """Who acts (None: the local CLI user)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def check_name(name: str) -> str:
    if not re.match(GROUP_PATTERN, name):
        raise ValidationError(
            f"invalid group name {name!r}",
            where="group",
            hint="lowercase letters, digits, '.', '_' and '-', at most 100",
        )
    return name


def _log(session: Session, action: str, actor: Admin | None, name: str, **details: Any) -> None:
    from codeforge.db.repositories import log_activity

    log_activity(
        session,
        action,
        actor=actor.name if actor is not None else None,
        user_id=actor.id if actor is not None else None,
        target=f"group:{name}",
        details=details,
    )


def create(session: Session, name: str, actor: Admin | None = None) -> dict[str, Any]:
    """A new, empty group; ConflictError when the name is taken."""
    from codeforge.db.marketplace import create_group

    group = create_group(session, check_name(name))
    _log(session, "group.create", actor, name, group_id=group.id)
    return {"name": group.name, "members": []}


def delete(session: Session, name: str, actor: Admin | None = None) -> None:
    """Delete group ``name``: its blueprints are no longer shared with its members."""
    from codeforge.db.marketplace import delete_group

    delete_group(session, name)
    _log(session, "group.delete", actor, name)


def list_all(session: Session) -> list[dict[str, Any]]:
    """Every group by name, with its members' names."""
    from codeforge.db.marketplace import list_groups

    return [{"name": g.name, "members": members} for g, members in list_groups(session)]


def set_member(
    session: Session, name: str, user: str, member: bool, actor: Admin | None = None
) -> dict[str, Any]:
    """Add (``member``) or remove ``user`` in group ``name``; idempotent. The group after."""
    from codeforge.db import marketplace as db
    from codeforge.db.repositories import get_user_by_name

    group = db.get_group(session, name)
    row = get_user_by_name(session, user)
    if row is None:
        raise NotFoundError(f"no user named {user!r}", where="user")
    db.set_member(session, group, row.id, member)
    _log(session, "group.add" if member else "group.remove", actor, name, user=user)
    members = next(m for g, m in db.list_groups(session) if g.id == group.id)
    return {"name": group.name, "members": members}
