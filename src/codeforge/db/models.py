"""Typed declarative models; the schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

ROLES: Final = ("admin", "maintainer", "member")
VISIBILITIES: Final = ("public", "private")

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that is always timezone-aware UTC in Python, on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    converted to UTC and stored naive, then marked UTC again when read. A naive
    value handed in is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite (and elsewhere), JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: json_type(),
    }


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'maintainer', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    # Slow hash made by the auth layer; None for users who log in with API keys only.
    password_hash: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False)
    # Bumped on password change and logout of a signed session: every login session
    # opened before it ends (codeforge.cache.sessions).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r}, role={self.role!r})"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))  # shown in listings; not enough to log in
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def is_active(self, now: datetime | None = None) -> bool:
        """True when the key is neither revoked nor expired."""
        now = now or utcnow()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def __repr__(self) -> str:  # never the hash
        return f"ApiKey(id={self.id!r}, user_id={self.user_id!r}, prefix={self.prefix!r})"


class Blueprint(Base):
    __tablename__ = "blueprints"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlueprintArchive(Base):
    """An uploaded blueprint archive, by the SHA-256 of its bytes (shared by all servers)."""

    __tablename__ = "blueprint_archives"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # Projects of API users: one row per (owner, path).
        UniqueConstraint("owner_id", "path"),
        # NULL owner (the local CLI user) never collides in a plain unique constraint,
        # because NULL != NULL; this partial index makes local paths unique too.
        Index(
            "uq_projects_local_path",
            "path",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    blueprint_name: Mapped[str] = mapped_column(String(200))
    blueprint_version: Mapped[str] = mapped_column(String(100))
    blueprint_source: Mapped[str] = mapped_column(Text)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set by `codeforge publish`: the forge, the repository's web URL, when.
    provider: Mapped[str | None] = mapped_column(String(50), default=None)
    remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:
        return f"Project(id={self.id!r}, name={self.name!r}, path={self.path!r})"


class Activity(Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(200))  # user name; None = local CLI user
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(50), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    target: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Idempotency key of the GenerationRecord that produced this row.
    record_id: Mapped[str | None] = mapped_column(String(64), unique=True)


JOB_STATUSES: Final = ("queued", "started", "finished", "failed")


class Job(Base):
    """A unit of long work (generate, register, ...); the API's source of truth for it.

    RQ (or the in-process executor) carries only the id; the row holds the request,
    the state machine (queued -> started -> finished | failed), attempts, the lease of
    the worker running it, and where the result went.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'started', 'finished', 'failed')", name="status"),
        # One job per (owner, idempotency key); NULL keys never collide.
        UniqueConstraint("owner_id", "idempotency_key"),
        Index("ix_jobs_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    queue: Mapped[str] = mapped_column(String(100), default="default")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    # The validated request body (never secrets: the handler redacts them first).
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    timeout: Mapped[int] = mapped_column(Integer, default=300)  # seconds per attempt
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(50))
    result: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    artifact_id: Mapped[str | None] = mapped_column(String(200))
    artifact_size: Mapped[int | None] = mapped_column(Integer)
    # Who runs the current attempt and until when the claim holds (then it may be retaken).
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    # When a retry may start (exponential backoff after a transient failure).
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


__all__ = [
    "JOB_STATUSES",
    "ROLES",
    "VISIBILITIES",
    "Activity",
    "ApiKey",
    "Base",
    "Blueprint",
    "BlueprintArchive",
    "BlueprintGroup",
    "BlueprintListing",
    "BlueprintStar",
    "Group",
    "GroupMember",
    "Job",
    "Project",
    "UTCDateTime",
    "User",
    "Workflow",
    "json_type",
    "utcnow",
]


class Credential(Base):
    """A user's integration token, sealed with a key derived from the server secret.

    ``secret`` is the sealed value (``codeforge.integrations.cipher``), bound to the
    owner, provider, host and name; ``key_id`` names the key that sealed it, so a
    changed server secret is reported, and ``codeforge credentials rotate-key --server``
    can find what to re-encrypt.
    """

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("user_id", "provider", "host", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(50))
    host: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never the secret
        return f"Credential(id={self.id!r}, user_id={self.user_id!r}, provider={self.provider!r})"


class Workflow(Base):
    """A project's SDLC workflow: the last result of each stage (``codeforge workflow run``).

    ``stages`` maps a stage name to its last result (status, inputs key, start,
    duration, outputs); ``last_stage`` and ``last_status`` are the newest of them,
    for listings. Each result is also an ``workflow`` Activity row (the history).
    """

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    last_stage: Mapped[str] = mapped_column(String(20))
    last_status: Mapped[str] = mapped_column(String(20))
    stages: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Workflow(project_id={self.project_id!r}, last_stage={self.last_stage!r})"


class BlueprintListing(Base):
    """How the marketplace shows a blueprint *name* (every version): its owner, who may see
    it, and the maintainers' marks. A name without a row is public and unowned (built-ins,
    plugins, and blueprints registered before owners existed)."""

    __tablename__ = "blueprint_listings"
    __table_args__ = (CheckConstraint("visibility IN ('public', 'private')", name="visibility"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    featured: Mapped[bool] = mapped_column(default=False)
    deprecated: Mapped[bool] = mapped_column(default=False)
    replacement: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Group(Base):
    """A named set of users; a private blueprint can be shared with groups."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class BlueprintGroup(Base):
    """A group that may see a private blueprint."""

    __tablename__ = "blueprint_groups"

    name: Mapped[str] = mapped_column(
        ForeignKey("blueprint_listings.name", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class BlueprintStar(Base):
    """A user's star on a blueprint name (built-in or registered)."""

    __tablename__ = "blueprint_stars"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
