"""Register and retire blueprints on a server: from git, from an uploaded archive, or by job.

Fetching (``codeforge.app.registry``) checks what comes in; ``check_registrable``
refuses a built-in's name; ``record_registration`` writes the Blueprint and Activity
rows in the caller's transaction (a job writes them in the one that finishes it).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from codeforge.app import catalog
from codeforge.app.context import AppContext
from codeforge.app.marketplace import check_visibility, not_found
from codeforge.app.registry import archive_digest, fetch_archive, fetch_git, keep_archive
from codeforge.errors import ConflictError, ForbiddenError, ValidationError
from codeforge.sources import builtin_names
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from codeforge.db import models


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who registers: the user's id and name, and whether they are an admin."""

    id: int
    name: str
    admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.admin


@dataclasses.dataclass(frozen=True)
class RegisteredBlueprint:
    """One registered blueprint version, detached from the database session."""

    id: int
    name: str
    version: str
    source: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, row: models.Blueprint) -> RegisteredBlueprint:
        """The values of a Blueprint row."""
        return cls(row.id, row.name, row.version, row.source, row.description, row.created_at)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "created_at": self.created_at.isoformat()}


def check_registrable(ctx: AppContext, folder: Path) -> Blueprint:
    """The blueprint in ``folder``; a ConflictError when it takes a built-in's name."""
    bp = ctx.parse(folder)
    if bp.name in builtin_names():
        raise ConflictError(
            f"{bp.name} is a built-in blueprint name", hint="rename the blueprint (its `name`)"
        )
    return bp


def claim_listing(session: Session, name: str, actor: Actor, visibility: str | None) -> None:
    """Make ``actor`` the owner of a new name (``visibility``, default public); a name owned
    by another user takes new versions from its owner or an admin only."""
    from codeforge.db.marketplace import ensure_listing, get_listing

    if visibility is not None:
        check_visibility(visibility)
    row = get_listing(session, name)
    if row is None:
        ensure_listing(session, name, actor.id, visibility or "public")
        return
    if row.owner_id not in (None, actor.id) and not actor.admin:
        raise ConflictError(
            f"blueprint {name} belongs to another user",
            hint="its owner or an admin registers its new versions; or rename yours",
        )
    if visibility is not None and visibility != row.visibility:
        if row.owner_id != actor.id and not actor.admin:
            raise ForbiddenError(
                f"only the owner of {name} or an admin may change who sees it",
                where="visibility",
            )
        row.visibility = visibility


def record_registration(
    session: Session,
    bp: Blueprint,
    source: str,
    actor: Actor,
    *,
    archive: bytes | None = None,
    job_id: str | None = None,
    visibility: str | None = None,
) -> RegisteredBlueprint:
    """Write the Blueprint row (and the archive, so every server can fetch it), its
    listing and the activity, in the caller's transaction."""
    from codeforge.db.repositories import log_activity, register_blueprint, store_archive

    claim_listing(session, bp.name, actor, visibility)
    if archive is not None:
        store_archive(session, archive_digest(archive), archive)
    row = register_blueprint(
        session, bp.name, bp.version, source, description=bp.description, registered_by=actor.id
    )
    details: dict[str, Any] = {
        "source": source,
        "blueprint_id": row.id,
        "tasks_ignored": bool(bp.tasks),
    }
    if job_id is not None:
        details["job_id"] = job_id
    log_activity(
        session,
        "blueprint.register",
        actor=actor.name,
        user_id=actor.id,
        target=f"blueprint:{bp.name}@{bp.version}",
        details=details,
    )
    return RegisteredBlueprint.of(row)


def register(
    ctx: AppContext,
    actor: Actor,
    folder: Path,
    source: str,
    archive: bytes | None = None,
    visibility: str | None = None,
) -> RegisteredBlueprint:
    """Register the fetched blueprint in ``folder`` in one transaction of its own."""
    bp = check_registrable(ctx, folder)
    if archive is not None and keep_archive(ctx, archive):
        archive = None  # in the artifact store, written before the row that points at it
    with ctx.factory.begin() as session:
        registered = record_registration(
            session, bp, source, actor, archive=archive, visibility=visibility
        )
    catalog.invalidate(ctx)
    return registered


def register_git(
    ctx: AppContext, actor: Actor, url: str, ref: str | None, visibility: str | None = None
) -> RegisteredBlueprint:
    """Register the blueprint of a public https git repository at ``ref``."""
    folder, source = fetch_git(ctx, url, ref)
    return register(ctx, actor, folder, source, visibility=visibility)


def register_archive(
    ctx: AppContext, actor: Actor, data: bytes, visibility: str | None = None
) -> RegisteredBlueprint:
    """Register the blueprint in an uploaded zip or tar(.gz) archive."""
    if len(data) > ctx.config.max_upload_bytes:
        raise ValidationError(f"the archive is larger than {ctx.config.max_upload_bytes} bytes")
    folder, source = fetch_archive(ctx, data)
    return register(ctx, actor, folder, source, archive=data, visibility=visibility)


def retire(
    ctx: AppContext, actor: Actor, name: str, version: str | None
) -> list[RegisteredBlueprint]:
    """Retire a registered blueprint (every version, or ``version``); built-ins cannot be."""
    from codeforge.db.repositories import log_activity, retire_blueprint

    if name in builtin_names():
        raise ConflictError(f"{name} is a built-in blueprint and cannot be retired")
    if not catalog.snapshot(ctx).market.can_see(name, actor):
        raise not_found(name)
    with ctx.factory.begin() as session:
        rows = retire_blueprint(session, name, version)
        log_activity(
            session,
            "blueprint.retire",
            actor=actor.name,
            user_id=actor.id,
            target=f"blueprint:{name}" + (f"@{version}" if version else ""),
            details={"versions": [r.version for r in rows]},
        )
        retired = [RegisteredBlueprint.of(r) for r in rows]
    catalog.invalidate(ctx)
    return retired
