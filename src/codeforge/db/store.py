"""``ProjectStore``: the one object the CLI talks to for recorded projects."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from codeforge.core import journal
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, read_answers_file
from codeforge.core.records import (
    PUBLISH,
    WORKFLOW,
    BlueprintIdentity,
    GenerationRecord,
    new_record,
    publish_record,
    workflow_record,
)
from codeforge.db import activities, repositories
from codeforge.db.engine import default_database_url, redact_url, session_factory, store_error
from codeforge.db.migrate import ensure_schema
from codeforge.db.models import Project
from codeforge.errors import CodeForgeError, NotFoundError, StoreError, ValidationError

# Two writers racing on the same new path or record: the loser's transaction fails on
# a unique constraint, and its retry finds the winner's row.
_WRITE_ATTEMPTS: Final = 3


def project_to_dict(project: Project, workflow: str | None = None) -> dict[str, Any]:
    """A project as plain JSON-ready data; ``workflow`` is its last stage (``build: succeeded``)."""
    return {
        "id": project.id,
        "name": project.name,
        "path": project.path,
        "blueprint_name": project.blueprint_name,
        "blueprint_version": project.blueprint_version,
        "blueprint_source": project.blueprint_source,
        "answers": dict(project.answers or {}),
        "owner_id": project.owner_id,
        "created_at": project.created_at.isoformat() if project.created_at else None,
        "updated_at": project.updated_at.isoformat() if project.updated_at else None,
        "provider": project.provider,
        "remote_url": project.remote_url,
        "published_at": project.published_at.isoformat() if project.published_at else None,
        "workflow": workflow,
    }


class ProjectStore:
    """Records and lists generated projects in one database.

    ``data_dir`` (optional) is where the journal lives: reads ingest it first.
    """

    def __init__(self, url: str, *, data_dir: Path | None = None) -> None:
        self._url = url
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._ensured = False

    @classmethod
    def for_data_dir(cls, data_dir: Path, url: str | None = None) -> ProjectStore:
        """The store for a data dir: ``url`` when given, else its SQLite file."""
        return cls(url or default_database_url(data_dir), data_dir=data_dir)

    @property
    def url(self) -> str:
        """The database URL with credentials redacted (safe to show)."""
        return redact_url(self._url)

    def __repr__(self) -> str:
        return f"ProjectStore({self.url!r})"

    def ensure(self) -> str:
        """Create or migrate the schema if needed; returns the schema revision."""
        revision = ensure_schema(self._url)
        self._ensured = True
        return revision

    @contextlib.contextmanager
    def transaction(self, action: str) -> Iterator[Session]:
        """One transaction; database failures become StoreError naming ``action``."""
        if not self._ensured:
            self.ensure()
        try:
            with session_factory(self._url).begin() as session:
                yield session
        except IntegrityError:
            raise  # callers decide whether a retry makes sense
        except SQLAlchemyError as exc:
            raise store_error(action, self._url, exc) from exc

    def _write(self, record: GenerationRecord) -> tuple[dict[str, Any], bool]:
        """Record one generation; returns the project and whether anything was written."""
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                with self.transaction("recording a project") as session:
                    seen = bool(record.record_id) and (
                        repositories.activity_for_record(session, record.record_id) is not None
                    )
                    if record.action == PUBLISH:
                        published = repositories.record_publish(session, record)
                        return (project_to_dict(published) if published else {}), not seen
                    if record.action == WORKFLOW:
                        staged = None if seen else _save_stage(session, record)
                        return (project_to_dict(staged) if staged else {}), not seen
                    project = repositories.record_generation(session, record)
                    return project_to_dict(project), not seen
            except IntegrityError as exc:
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise store_error("recording a project", self._url, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def record(self, record: GenerationRecord) -> dict[str, Any]:
        """Record one generation directly (idempotent on ``record.record_id``)."""
        return self._write(record)[0]

    def ingest_journal(self, data_dir: Path | None = None) -> int:
        """Ingest every pending journal record written for this database; returns how many were new.

        Each record is its own transaction. Lines leave the journal only after all of
        them are in the database; a crash midway leaves them claimed, and the next
        ingest redoes them, skipping those already recorded (same ``record_id``).
        """
        directory = Path(data_dir) if data_dir is not None else self.data_dir
        if directory is None:
            raise StoreError("no data dir: cannot find the journal")
        # Only this database's lines: others wait for their own store (see core/journal.py).
        key = journal.StoreKey.for_url(self._url, default_database_url(directory))
        if not journal.has_pending(directory, key):
            return 0
        written = 0
        try:
            with journal.claim(directory, key) as batch:
                for record in batch.records:
                    try:
                        _, new = self._write(record)
                    except NotFoundError:
                        batch.reject(record)  # e.g. an unknown user: retrying cannot help
                        continue
                    written += int(new)
        except OSError as exc:
            raise StoreError(
                f"cannot read the journal: {exc.strerror or exc}",
                where=str(journal.journal_path(directory)),
            ) from exc
        return written

    def list_projects(self, *, ingest: bool = True) -> list[dict[str, Any]]:
        """Every local project (the CLI user's), after ingesting the journal."""
        if ingest and self.data_dir is not None:
            self.ingest_journal()
        with self.transaction("listing projects") as session:
            projects = repositories.list_projects(session, owner_id=None)
            stages = repositories.last_stages(session, [p.id for p in projects])
            return [
                {**project_to_dict(p), "workflow": _stage_text(stages.get(p.id))} for p in projects
            ]

    def record_workflow(self, path: Path, result: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Keep a workflow stage's ``result`` for the project at ``path`` (recorded first
        from its answers file when it is not yet), and log it as an Activity row."""
        if self.data_dir is not None:
            self.ingest_journal()
        root = Path(path).expanduser().resolve()
        return self._write(workflow_record(str(root), result, at))[0]

    def record_publish(self, path: Path, provider: str, remote_url: str, at: datetime) -> bool:
        """Note where the project at ``path`` was published, and log a ``publish`` Activity.

        False when no project is recorded at ``path`` (the Activity row is written anyway).
        """
        if self.data_dir is not None:
            self.ingest_journal()
        record = publish_record(str(path), provider, remote_url, at)
        with self.transaction("recording a publish") as session:
            return repositories.record_publish(session, record) is not None

    def record_activity(
        self, path: Path, action: str, target: str, details: dict[str, object], at: datetime
    ) -> bool:
        """Log ``action`` (e.g. ``update-pr``) for the project at ``path``; False when none is
        recorded there (the Activity row is written anyway)."""
        if self.data_dir is not None:
            self.ingest_journal()
        with self.transaction(f"recording {action}") as session:
            project = repositories.find_project_by_path(session, str(path), None)
            repositories.log_activity(
                session,
                action,
                project_id=project.id if project is not None else None,
                target=target,
                details={"path": str(path), **details},
                at=at,
            )
            return project is not None

    def last_updates(self, actions: Sequence[str] = ("update", "update-pr")) -> dict[int, Any]:
        """``{project id: {"at", "action", "target", "details"}}``: each local project's newest
        Activity row with one of ``actions``."""
        with self.transaction("reading the activity") as session:
            rows = activities.last_activities(session, actions)
            return {
                project_id: {
                    "at": row.at.isoformat(),
                    "action": row.action,
                    "target": row.target,
                    "details": dict(row.details or {}),
                }
                for project_id, row in rows.items()
            }

    def find(self, ref: str) -> dict[str, Any]:
        """The local project with id ``ref`` (all digits) or recorded at path ``ref``."""
        with self.transaction("finding a project") as session:
            return project_to_dict(self._find(session, ref))

    def _find(self, session: Session, ref: str) -> Project:
        if ref.isdigit() and int(ref) < 2**31:  # an id column's range
            by_id = session.get(Project, int(ref))
            if by_id is not None and by_id.owner_id is None:
                return by_id
        # The folder may be gone (that is often why its record is removed): resolve
        # without requiring it to exist, and also try the path exactly as typed.
        for path in (str(Path(ref).expanduser().resolve()), ref):
            found = repositories.find_project_by_path(session, path, owner_id=None)
            if found is not None:
                return found
        raise NotFoundError(
            f"no recorded project with id or path {ref!r}",
            hint="see `codeforge projects list`",
        )

    def remove(self, ref: str) -> dict[str, Any]:
        """Delete the record of the local project ``ref`` (id or path); its files stay."""
        with self.transaction("removing a project record") as session:
            project = self._find(session, ref)
            removed = project_to_dict(project)
            repositories.remove_project(session, project)
            return removed

    def missing_folders(self) -> list[dict[str, Any]]:
        """Local projects whose recorded folder no longer exists."""
        return [p for p in self.list_projects() if not Path(p["path"]).is_dir()]

    def remove_ids(self, ids: list[int]) -> int:
        """Delete the records of these local projects in one transaction; how many were."""
        with self.transaction("removing project records") as session:
            rows = [session.get(Project, i) for i in ids]
            local = [row for row in rows if row is not None and row.owner_id is None]
            for row in local:
                repositories.remove_project(session, row)
            return len(local)

    def add_from_answers_file(self, project_path: Path) -> dict[str, Any]:
        """Record an existing project from its ``.codeforge-answers.yml``."""
        root = Path(project_path).expanduser().resolve()
        return self.record(record_from_answers(root, read_answers_file(root)))


def _save_stage(session: Session, record: GenerationRecord) -> Project | None:
    """Apply a ``workflow`` record: the stage's result on the project at its path, registered
    from its answers file when not yet recorded; the project (None when there is none and
    its answers file is gone: the Activity row is written all the same)."""
    result = dict(record.details["result"])
    project = repositories.find_project_by_path(session, record.path, None)
    if project is None:
        try:
            made = record_from_answers(Path(record.path), read_answers_file(Path(record.path)))
        except CodeForgeError:
            made = None
        if made is not None:
            project = repositories.record_generation(session, made)
    if project is None:
        row = repositories.log_activity(
            session, WORKFLOW, target=str(result.get("stage", "")), details=result,
            at=record.created_at,
        )  # fmt: skip
        row.record_id = record.record_id or None
        return None
    repositories.save_stage_result(session, project, result, record.created_at, record.record_id)
    return project


def _stage_text(last: tuple[str, str] | None) -> str | None:
    """How listings show a project's last workflow stage: ``build: succeeded``."""
    return None if last is None else f"{last[0]}: {last[1]}"


def record_from_answers(root: Path, answers_file: AnswersFile) -> GenerationRecord:
    """A ``register`` record for the project in ``root`` made from its answers file."""
    answers = answers_file.answers
    name = answers.get("project_name")
    return new_record(
        name if isinstance(name, str) and name else root.name,
        str(root),
        BlueprintIdentity(
            answers_file.blueprint_name, answers_file.blueprint_version, answers_file.source
        ),
        _json_safe(answers, root / ANSWERS_FILE),
        "register",
    )


def _json_safe(value: Any, where: Path) -> Any:
    """Answers as JSON data: YAML dates become ISO strings; other types are refused."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        return [_json_safe(item, where) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item, where) for key, item in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ValidationError(
        f"unsupported answer value of type {type(value).__name__}", where=str(where)
    )
