"""Record what a generation made: the project row and its activity, exactly once.

Locally (the CLI and the library) ``local_recorder`` appends to the journal in the
data folder (the embedded default) or writes to the configured database. On a
server a project lives in the caller's download, not on a server path, so each
generation is its own project, at ``api:<record id>/<name>``.

Imports stay light: the CLI records every ``init`` through this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.generation import new_record
from codeforge.core.records import GenerationRecord, publish_record
from codeforge.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.app.context import AppContext
    from codeforge.app.generate import Rendered
    from codeforge.core.publishing import PublishRecorder
    from codeforge.db.store import ProjectStore


def local_recorder(settings: Settings) -> Callable[[GenerationRecord], None]:
    """The CLI's recorder: the journal for the embedded default, else the database."""

    def record(rec: GenerationRecord) -> None:
        if settings.database_url:
            from codeforge.db.store import ProjectStore

            ProjectStore(settings.database_url).record(rec)
        else:
            from codeforge.core import journal

            journal.append(settings.data_dir, rec, store_url=settings.store_url)

    return record


class JournalPublishes:
    """The CLI's publish recorder on the embedded default: a journal line, no SQLAlchemy.

    The store applies it when it next reads the journal (``codeforge list projects``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def record_publish(self, path: Path, provider: str, remote_url: str, at: datetime) -> bool:
        from codeforge.core import journal

        record = publish_record(str(path), provider, remote_url, at)
        journal.append(self.settings.data_dir, record, store_url=self.settings.store_url)
        return True


def local_publish_recorder(settings: Settings) -> PublishRecorder:
    """Where the CLI records a publish: the journal (embedded default), else the database."""
    if settings.database_url:
        return project_store(settings)
    return JournalPublishes(settings)


def project_store(settings: Settings) -> ProjectStore:
    """The configured database (SQLite in the data folder by default), journal ingested on read."""
    from codeforge.db.store import ProjectStore

    return ProjectStore.for_data_dir(settings.data_dir, settings.database_url)


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
    return new_record(
        name,
        f"api:{record_id}/{name}",
        rendered.loaded,
        rendered.answers,
        "generate",
        len(rendered.plan.files),
        actor=actor,
        record_id=record_id,
        details=details,
    )


def record_in(session: Session, record: GenerationRecord) -> int:
    """Store ``record`` (project and activity) in the caller's transaction; the project id."""
    from codeforge.db.repositories import record_generation

    return record_generation(session, record).id


def record(
    ctx: AppContext, rendered: Rendered, name: str, actor: str, *, record_id: str | None = None
) -> int:
    """Store the generation in one transaction of its own; returns the project id."""
    with ctx.factory.begin() as session:
        project_id = record_in(session, server_record(rendered, name, actor, record_id=record_id))
    ctx.metrics.generations.labels(rendered.loaded.blueprint.name, "zip").inc()
    return project_id
