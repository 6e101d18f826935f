"""Change a blueprint's listing (visibility, groups, featured, deprecated) and its stars.

Each change is checked against what the caller may see first (an invisible
blueprint is a NotFoundError, like a missing one), written with its activity row
in one transaction, and forgets this server's cached catalog.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from codeforge.app import catalog
from codeforge.app.context import AppContext
from codeforge.app.marketplace import (
    Caller,
    check_visibility,
    group_ids,
    require_manager,
)
from codeforge.errors import ConflictError, ValidationError


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
    if change.deprecated:
        if not change.replacement:
            raise ValidationError(
                "deprecating a blueprint needs the name of its replacement", where="replacement"
            )
        if change.replacement == name:
            raise ValidationError(f"{name} cannot replace itself", where="replacement")
        catalog.find(ctx, change.replacement, caller)
    elif change.replacement is not None:
        raise ValidationError("a replacement goes with deprecated: true", where="replacement")
    return snap


def update_listing(
    ctx: AppContext, caller: Caller, actor: str, name: str, change: ListingChange
) -> None:
    """Apply ``change`` to the listing of ``name`` (made, unowned, when it has none)."""
    from codeforge.db import marketplace as db
    from codeforge.db.repositories import log_activity

    _check(ctx, name, change, caller)
    details: dict[str, Any] = {}
    with ctx.factory.begin() as session:
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
            row.replacement = details["replacement"] = (
                change.replacement if change.deprecated else None
            )
        log_activity(
            session,
            "blueprint.listing",
            actor=actor,
            user_id=caller.id,
            target=f"blueprint:{name}",
            details=details,
        )
    catalog.invalidate(ctx)


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
