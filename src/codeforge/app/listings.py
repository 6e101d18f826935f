"""Change a blueprint's listing (visibility, groups, featured, deprecated) and its stars.

Each change is checked against what the caller may see first (an invisible
blueprint is a NotFoundError, like a missing one), written with its activity row
in one transaction, and forgets this server's cached catalog.

The CLI (``codeforge blueprints feature|deprecate``) marks names on the configured
database with :func:`mark_local`: the same checks and the same activity row, for the
local user (who sees every blueprint and acts as no server user).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from codeforge.app import catalog
from codeforge.app.context import AppContext
from codeforge.app.marketplace import (
    Caller,
    check_visibility,
    group_ids,
    require_manager,
)
from codeforge.errors import ConflictError, NotFoundError, ValidationError
from codeforge.templates.schema import NAME_RE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.settings import Settings


@dataclasses.dataclass(frozen=True)
class ListingChange:
    """What to change; None leaves a field as it is."""

    visibility: str | None = None
    groups: Sequence[str] | None = None
    featured: bool | None = None
    deprecated: bool | None = None
    replacement: str | None = None


def _check(ctx: AppContext, name: str, change: ListingChange, caller: Caller) -> catalog.Snapshot:
    """The snapshot, once the change is allowed and well-formed."""
    catalog.find(ctx, name, caller)
    snap = catalog.snapshot(ctx)
    if change.visibility is not None or change.groups is not None:
        if name in snap.builtins:
            raise ConflictError(f"{name} is a built-in blueprint: always public")
        require_manager(snap.market, name, caller)
        if change.visibility is not None:
            check_visibility(change.visibility)
    replacement = _check_marks(name, change)
    if replacement is not None:
        catalog.find(ctx, replacement, caller)
    return snap


def _check_marks(name: str, change: ListingChange) -> str | None:
    """The replacement to look up, once ``deprecated`` and ``replacement`` agree."""
    if change.deprecated:
        if not change.replacement:
            raise ValidationError(
                "deprecating a blueprint needs the name of its replacement", where="replacement"
            )
        if not NAME_RE.match(change.replacement):
            raise ValidationError(
                f"the replacement {change.replacement!r} is not a blueprint name",
                where="replacement",
                hint="lowercase letters, digits, '.', '_' and '-', at most 100",
            )
        if change.replacement == name:
            raise ValidationError(f"{name} cannot replace itself", where="replacement")
        return change.replacement
    if change.replacement is not None:
        raise ValidationError("a replacement goes with deprecated: true", where="replacement")
    return None


def update_listing(
    ctx: AppContext, caller: Caller, actor: str, name: str, change: ListingChange
) -> None:
    """Apply ``change`` to the listing of ``name`` (made, unowned, when it has none)."""
    _check(ctx, name, change, caller)
    with ctx.factory.begin() as session:
        _write(session, name, change, actor, caller.id)
    catalog.invalidate(ctx)


def _write(
    session: Session, name: str, change: ListingChange, actor: str | None, user_id: int | None
) -> None:
    """The listing row changed, and its ``blueprint.listing`` activity row."""
    from codeforge.db import marketplace as db
    from codeforge.db.repositories import log_activity

    details: dict[str, Any] = {}
    row = db.ensure_listing(session, name, None)
    if change.visibility is not None:
        row.visibility = details["visibility"] = change.visibility
    if change.groups is not None:
        db.set_listing_groups(session, name, group_ids(session, change.groups))
        details["groups"] = sorted(set(change.groups))
    if change.featured is not None:
        row.featured = details["featured"] = change.featured
    if change.deprecated is not None:
        row.deprecated = details["deprecated"] = change.deprecated
        row.replacement = details["replacement"] = change.replacement if change.deprecated else None
    log_activity(
        session,
        "blueprint.listing",
        actor=actor,
        user_id=user_id,
        target=f"blueprint:{name}",
        details=details,
    )


def mark_local(settings: Settings, name: str, change: ListingChange, known: set[str]) -> None:
    """Mark ``name`` featured or deprecated on the configured database, from the CLI.

    ``known`` is what the CLI lists (``codeforge list blueprints``); the names registered
    on the database count too. Only the maintainers' marks: who sees a blueprint is
    changed through the API. The schema is created or upgraded first.
    """
    from codeforge.app.admin import transaction
    from codeforge.db.repositories import list_blueprints

    if change.visibility is not None or change.groups is not None:
        raise ValidationError("the CLI marks featured and deprecated only", where="listing")
    replacement = _check_marks(name, change)
    with transaction(settings) as session:
        names = known | {row.name for row in list_blueprints(session)}
        for wanted in (name, replacement):
            if wanted is not None and wanted not in names:
                raise NotFoundError(
                    f"no blueprint named {wanted}",
                    where="template" if wanted == name else "replacement",
                    hint="see `codeforge list blueprints`",
                )
        _write(session, name, change, None, None)


def set_star(ctx: AppContext, caller: Caller, name: str, on: bool) -> int:
    """Star (or unstar) ``name`` for ``caller``; its star count afterwards."""
    from codeforge.db import marketplace as db

    catalog.find(ctx, name, caller)
    with ctx.factory.begin() as session:
        db.set_star(session, caller.id, name, on)
        count = db.star_count(session, name)
    catalog.invalidate(ctx)
    return count


def starred(ctx: AppContext, caller: Caller) -> set[str]:
    """The names ``caller`` starred."""
    from codeforge.db.marketplace import starred_by

    with ctx.read() as session:
        return starred_by(session, caller.id)
