"""Recorded projects on the server: list, show and forget them. Members see their own
projects; admins everyone's (someone else's project is simply not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeforge.app.accounts import Actor
from codeforge.app.context import AppContext

if TYPE_CHECKING:
    from codeforge.db.models import Project


def list_projects(ctx: AppContext, actor: Actor) -> list[Project]:
    """The actor's projects (admins: everyone's)."""
    from codeforge.db.repositories import ANY_OWNER
    from codeforge.db.repositories import list_projects as list_rows

    with ctx.read() as session:
        return list_rows(session, ANY_OWNER if actor.is_admin else actor.id)


def get_project(ctx: AppContext, actor: Actor, project_id: int) -> Project:
    """One of the actor's projects; NotFoundError for someone else's (unless admin)."""
    from codeforge.db.repositories import ANY_OWNER
    from codeforge.db.repositories import get_project as get_row

    with ctx.read() as session:
        return get_row(session, project_id, ANY_OWNER if actor.is_admin else actor.id)


def remove_project(ctx: AppContext, actor: Actor, project_id: int) -> None:
    """Forget one of the actor's projects (admins: anyone's), with its Activity row."""
    from codeforge.db.repositories import ANY_OWNER
    from codeforge.db.repositories import get_project as get_row
    from codeforge.db.repositories import remove_project as remove_row

    with ctx.factory.begin() as session:
        row = get_row(session, project_id, ANY_OWNER if actor.is_admin else actor.id)
        remove_row(session, row, actor=actor.name, user_id=actor.id)
