"""Recorded projects on the server: list, show and forget them. Members see their own
projects; admins everyone's (someone else's project is simply not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def get_workflow(ctx: AppContext, actor: Actor, project_id: int) -> dict[str, Any]:
    """The workflow state of one of the actor's projects: its last stage and each stage's result."""
    from codeforge.db.repositories import ANY_OWNER, workflow_of
    from codeforge.db.repositories import get_project as get_row
    from codeforge.templates.workflow import STAGES

    with ctx.read() as session:
        project = get_row(session, project_id, ANY_OWNER if actor.is_admin else actor.id)
        row = workflow_of(session, project.id)
        if row is None:
            return {
                "project_id": project.id,
                "last_stage": None,
                "last_status": None,
                "updated_at": None,
                "stages": [],
            }
        stages = [dict(row.stages[s]) for s in STAGES if s in (row.stages or {})]
        return {
            "project_id": project.id,
            "last_stage": row.last_stage,
            "last_status": row.last_status,
            "updated_at": row.updated_at,
            "stages": stages,
        }
