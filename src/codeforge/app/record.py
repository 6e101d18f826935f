"""Record what a server generation made: the project row and its activity, exactly once.

A server project lives in the caller's download, not on a server path, so each
generation is its own project, at ``api:<record id>/<name>``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from codeforge.app.context import AppContext
from codeforge.app.generate import Rendered
from codeforge.core.records import GenerationRecord


def server_record(
    rendered: Rendered,
    name: str,
    actor: str,
    *,
    record_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> GenerationRecord:
    """The record of ``rendered`` made for ``actor``; ``record_id`` defaults to a new id."""
    record_id = record_id or uuid.uuid4().hex
    bp = rendered.loaded.blueprint
    return GenerationRecord(
        project_name=name,
        path=f"api:{record_id}/{name}",
        blueprint_name=bp.name,
        blueprint_version=bp.version,
        blueprint_source=rendered.loaded.source.source,
        answers=rendered.answers,
        action="generate",
        actor=actor,
        file_count=len(rendered.plan.files),
        record_id=record_id,
        details=details or {},
    )


def record_in(session: Session, record: GenerationRecord) -> int:
    """Store ``record`` (project and activity) in the caller's transaction; the project id."""
    from codeforge.db.repositories import record_generation

    return record_generation(session, record).id


def record(ctx: AppContext, rendered: Rendered, name: str, actor: str) -> int:
    """Store the generation in one transaction of its own; returns the project id."""
    with ctx.factory.begin() as session:
        project_id = record_in(session, server_record(rendered, name, actor))
    ctx.metrics.generations.labels(rendered.loaded.blueprint.name, "zip").inc()
    return project_id
