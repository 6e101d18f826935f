"""Small query and write helpers over a Session. None of them commits: the caller
owns the transaction (``with session_factory(url).begin() as session:``)."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from codeforge.core.records import GenerationRecord
from codeforge.db.models import (
    ROLES,
    Activity,
    ApiKey,
    Blueprint,
    BlueprintArchive,
    Project,
    User,
    Workflow,
    utcnow,
)
from codeforge.errors import ConflictError, NotFoundError, ValidationError

API_KEY_PREFIX: Final = "cf_"
_DISPLAY_PREFIX_LENGTH: Final = 10


class _Any(enum.Enum):
    ANY = "any"


ANY_OWNER: Final = _Any.ANY
"""``owner_id=ANY_OWNER`` lists every project; ``owner_id=None`` only local ones."""


# --- projects -----------------------------------------------------------------------


def _owner_clause(owner_id: int | None) -> Any:
    return Project.owner_id.is_(None) if owner_id is None else Project.owner_id == owner_id


def find_project_by_path(session: Session, path: str, owner_id: int | None) -> Project | None:
    """The project at ``path`` owned by ``owner_id`` (None: the local CLI user)."""
    stmt = select(Project).where(Project.path == path, _owner_clause(owner_id))
    return session.scalars(stmt).first()


def activity_for_record(session: Session, record_id: str) -> Activity | None:
    """The activity row written for ``record_id``, if it was already ingested."""
    return session.scalars(select(Activity).where(Activity.record_id == record_id)).first()


def record_generation(session: Session, record: GenerationRecord) -> Project:
    """Upsert the project a generation made and log it, idempotently on ``record_id``.

    A record already seen (same ``record_id``) changes nothing and returns its project.
    A concurrent writer inserting the same record or path surfaces as IntegrityError
    from the flush; the caller retries the whole transaction (``ProjectStore`` does).
    """
    if record.record_id:
        seen = activity_for_record(session, record.record_id)
        if seen is not None:
            project = session.get(Project, seen.project_id) if seen.project_id else None
            if project is not None:
                return project
            # The project was deleted since: the record stays consumed.
            return _detached_project(record)
    owner = get_user_by_name(session, record.actor) if record.actor else None
    if record.actor and owner is None:
        raise NotFoundError(f"unknown user {record.actor!r}", where="generation record")
    owner_id = owner.id if owner else None
    project = find_project_by_path(session, record.path, owner_id)
    if project is None:
        project = Project(
            name=record.project_name,
            path=record.path,
            owner_id=owner_id,
            created_at=record.created_at,
        )
        session.add(project)
    project.name = record.project_name
    project.blueprint_name = record.blueprint_name
    project.blueprint_version = record.blueprint_version
    project.blueprint_source = record.blueprint_source
    project.answers = dict(record.answers)
    project.updated_at = record.created_at
    session.flush()
    session.add(
        Activity(
            at=record.created_at,
            actor=record.actor,
            user_id=owner_id,
            action=record.action,
            project_id=project.id,
            target=record.path,
            details={
                "project_name": record.project_name,
                "blueprint": record.blueprint_name,
                "version": record.blueprint_version,
                "source": record.blueprint_source,
                "file_count": record.file_count,
                **record.details,
            },
            record_id=record.record_id or None,
        )
    )
    session.flush()
    return project


def record_publish(session: Session, record: GenerationRecord) -> Project | None:
    """Note a ``publish`` record on the local project at its path and log it (idempotent on
    ``record_id``); the project, or None when none is recorded there (logged all the same)."""
    if record.record_id:
        seen = activity_for_record(session, record.record_id)
        if seen is not None:
            return session.get(Project, seen.project_id) if seen.project_id else None
    provider, remote_url = str(record.details["provider"]), str(record.details["remote_url"])
    project = find_project_by_path(session, record.path, None)
    if project is not None:
        project.provider, project.remote_url = provider, remote_url
        project.published_at = record.created_at
    row = log_activity(
        session,
        "publish",
        project_id=project.id if project is not None else None,
        target=remote_url,
        details={"provider": provider, "path": record.path},
        at=record.created_at,
    )
    row.record_id = record.record_id or None
    session.flush()
    return project


def _detached_project(record: GenerationRecord) -> Project:
    return Project(
        name=record.project_name,
        path=record.path,
        blueprint_name=record.blueprint_name,
        blueprint_version=record.blueprint_version,
        blueprint_source=record.blueprint_source,
        answers=dict(record.answers),
    )


def list_projects(session: Session, owner_id: int | _Any | None = ANY_OWNER) -> list[Project]:
    """Projects ordered by name then path; ``owner_id=None`` means local projects."""
    stmt = select(Project).order_by(Project.name, Project.path, Project.id)
    if not isinstance(owner_id, _Any):
        stmt = stmt.where(_owner_clause(owner_id))
    return list(session.scalars(stmt))


def get_project(
    session: Session, project_id: int, owner_id: int | _Any | None = ANY_OWNER
) -> Project:
    """One project; NotFoundError when missing or owned by someone else."""
    project = session.get(Project, project_id)
    if project is None or (not isinstance(owner_id, _Any) and project.owner_id != owner_id):
        raise NotFoundError(f"project {project_id} not found")
    return project


def remove_project(
    session: Session, project: Project, *, actor: str | None = None, user_id: int | None = None
) -> None:
    """Delete the record of ``project`` (never its files), with a ``project.remove`` row.

    Its earlier activity rows stay, their project id cleared by the foreign key.
    """
    log_activity(
        session,
        "project.remove",
        actor=actor,
        user_id=user_id,
        target=f"project:{project.id}",
        details={"project_id": project.id, "name": project.name, "path": project.path},
    )
    # Not left to ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
    session.execute(delete(Workflow).where(Workflow.project_id == project.id))
    session.delete(project)
    session.flush()


def save_stage_result(
    session: Session, project: Project, result: dict[str, Any], at: datetime, record_id: str = ""
) -> Workflow:
    """Keep ``result`` as the last of its stage for ``project`` and log a ``workflow`` row
    (with ``record_id``, a journal record's idempotency key)."""
    row = workflow_of(session, project.id)
    if row is None:
        row = Workflow(project_id=project.id, stages={})
        session.add(row)
    stage = str(result["stage"])
    # A new dict: SQLAlchemy sees a changed JSON column only when it is reassigned.
    row.stages = {**(row.stages or {}), stage: result}
    row.last_stage, row.last_status, row.updated_at = stage, str(result["status"]), at
    log_activity(
        session, "workflow", project_id=project.id, target=stage, details=result, at=at
    ).record_id = record_id or None
    return row


def workflow_of(session: Session, project_id: int) -> Workflow | None:
    """The workflow record of a project (None until a stage ran)."""
    return session.scalars(select(Workflow).where(Workflow.project_id == project_id)).first()


def last_stages(session: Session, project_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(last stage, its status) of each of these projects that ran a workflow."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Workflow.project_id, Workflow.last_stage, Workflow.last_status).where(
            Workflow.project_id.in_(project_ids)
        )
    )
    return {pid: (stage, status) for pid, stage, status in rows}


# --- users and API keys ---------------------------------------------------------------


def create_user(
    session: Session, name: str, role: str = "member", *, password_hash: str | None = None
) -> User:
    """A new user; ConflictError when the name is taken."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip():
        raise ValidationError("a user name cannot be empty")
    if get_user_by_name(session, name) is not None:
        raise ConflictError(f"user {name!r} already exists")
    user = User(name=name, role=role, password_hash=password_hash, disabled=False)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"user {name!r} already exists") from exc
    return user


def set_user_disabled(session: Session, user: User, disabled: bool) -> bool:
    """Disable (or enable) ``user``; a disabled user's keys stop authenticating.

    Disabling also bumps the session epoch, so every login session opened before it
    stays ended when the user is enabled again (keys come back; sessions never do).
    Returns whether anything changed.
    """
    if user.disabled == disabled:
        return False
    user.disabled = disabled
    if disabled:
        user.session_epoch += 1
    session.flush()
    announce_auth_change(session, f"user:{user.id}")
    return True


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).first()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


def hash_api_key(key: str) -> str:
    """SHA-256 hex of an API key: keys are long random tokens, so no salt or slow hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session, user: User, name: str, *, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for ``user``; returns the row and the clear key, which is never stored."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        user_id=user.id,
        name=name,
        prefix=key[:_DISPLAY_PREFIX_LENGTH],
        key_hash=hash_api_key(key),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, key


def find_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def authenticate_api_key(session: Session, key: str, *, now: datetime | None = None) -> User | None:
    """The enabled user owning an active ``key`` (and mark it used), else None."""
    now = now or utcnow()
    row = find_key_by_hash(session, hash_api_key(key))
    if row is None or not row.is_active(now):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    row.last_used_at = now
    return user


def list_api_keys(session: Session, user_id: int) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at, ApiKey.id)
    return list(session.scalars(stmt))


def revoke_api_key(session: Session, key_id: int, *, user_id: int | None = None) -> ApiKey:
    """Revoke a key (idempotent); with ``user_id``, only that user's key is found."""
    row = session.get(ApiKey, key_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFoundError(f"API key {key_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        announce_auth_change(session, f"key:{row.id}")
    return row


AUTH_CHANNEL: Final = "codeforge_auth"


def announce_auth_change(session: Session, payload: str) -> None:
    """On PostgreSQL, tell running servers (LISTEN codeforge_auth) at commit to forget
    cached keys: ``key:ID`` or ``user:ID``. Elsewhere a no-op (servers' caches lapse)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": AUTH_CHANNEL, "payload": payload},
        )


# --- activity ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Every field set narrows the result; None means any."""

    actor: str | None = None
    user_id: int | None = None
    action: str | None = None
    project_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def log_activity(
    session: Session,
    action: str,
    *,
    actor: str | None = None,
    user_id: int | None = None,
    project_id: int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Activity:
    row = Activity(
        at=at or utcnow(),
        actor=actor,
        user_id=user_id,
        action=action,
        project_id=project_id,
        target=target,
        details=dict(details or {}),
    )
    session.add(row)
    session.flush()
    return row


def _filtered(stmt: Select[tuple[Activity]], filters: ActivityFilter) -> Select[tuple[Activity]]:
    if filters.actor is not None:
        stmt = stmt.where(Activity.actor == filters.actor)
    if filters.user_id is not None:
        stmt = stmt.where(Activity.user_id == filters.user_id)
    if filters.action is not None:
        stmt = stmt.where(Activity.action == filters.action)
    if filters.project_id is not None:
        stmt = stmt.where(Activity.project_id == filters.project_id)
    if filters.since is not None:
        stmt = stmt.where(Activity.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Activity.at < filters.until)
    return stmt


def list_activity(
    session: Session,
    filters: ActivityFilter | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Activity]:
    """Newest first."""
    if limit < 0 or offset < 0:
        raise ValidationError("limit and offset cannot be negative")
    stmt = _filtered(select(Activity), filters or ActivityFilter())
    stmt = stmt.order_by(Activity.at.desc(), Activity.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


# --- blueprint registry ---------------------------------------------------------------


def store_archive(session: Session, sha256: str, data: bytes) -> BlueprintArchive:
    """Keep an uploaded archive by its SHA-256 (a no-op when it is already stored)."""
    row = session.get(BlueprintArchive, sha256)
    if row is None:
        row = BlueprintArchive(sha256=sha256, data=data, size=len(data))
        session.add(row)
        session.flush()
    return row


def get_archive(session: Session, sha256: str) -> bytes | None:
    """The bytes of the archive with this SHA-256, or None."""
    row = session.get(BlueprintArchive, sha256)
    return None if row is None else bytes(row.data)


def register_blueprint(
    session: Session,
    name: str,
    version: str,
    source: str,
    *,
    description: str = "",
    registered_by: int | None = None,
) -> Blueprint:
    """Register ``name@version``; re-registering the same source is a no-op (and revives
    a retired one), a different source for a registered version is a ConflictError."""
    stmt = select(Blueprint).where(Blueprint.name == name, Blueprint.version == version)
    row = session.scalars(stmt).first()
    if row is not None:
        if row.source != source:
            raise ConflictError(
                f"blueprint {name} {version} is already registered from another source",
                hint="register a new version instead",
            )
        row.retired_at = None
        if description:
            row.description = description
        return row
    row = Blueprint(
        name=name,
        version=version,
        source=source,
        description=description,
        registered_by=registered_by,
    )
    session.add(row)
    session.flush()
    return row


def retire_blueprint(session: Session, name: str, version: str | None = None) -> list[Blueprint]:
    """Retire one version, or every version when ``version`` is None."""
    stmt = select(Blueprint).where(Blueprint.name == name)
    if version is not None:
        stmt = stmt.where(Blueprint.version == version)
    rows: Sequence[Blueprint] = session.scalars(stmt).all()
    if not rows:
        label = f"{name} {version}" if version else name
        raise NotFoundError(f"blueprint {label} is not registered")
    now = utcnow()
    for row in rows:
        if row.retired_at is None:
            row.retired_at = now
    return list(rows)


def list_blueprints(
    session: Session, *, name: str | None = None, include_retired: bool = False
) -> list[Blueprint]:
    stmt = select(Blueprint).order_by(Blueprint.name, Blueprint.created_at, Blueprint.id)
    if name is not None:
        stmt = stmt.where(Blueprint.name == name)
    if not include_retired:
        stmt = stmt.where(Blueprint.retired_at.is_(None))
    return list(session.scalars(stmt))
