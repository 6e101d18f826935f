"""The fleet on the server: the caller's recorded projects (admins: everyone's) against the
newest version of their blueprint in the server's catalog (built-in and registered)."""

from __future__ import annotations

from codeforge.app import catalog, projects
from codeforge.app.accounts import Actor
from codeforge.app.context import AppContext
from codeforge.app.fleet import FleetEntry
from codeforge.templates.loader import semver_key


def _newest(versions: list[str]) -> str | None:
    """The highest semantic version (versions that are not semantic are skipped)."""
    valid = []
    for version in versions:
        try:
            valid.append((semver_key(version), version))
        except ValueError:
            continue
    return max(valid)[1] if valid else None


def _lags(version: str, latest: str | None) -> bool:
    if latest is None:
        return False
    try:
        return semver_key(latest) > semver_key(version)
    except ValueError:
        return False


def status(
    ctx: AppContext, actor: Actor, blueprint: str | None = None, *, own_only: bool = False
) -> list[FleetEntry]:
    """Each project with its blueprint, version, the catalog's newest version, remote and
    last update (its newest ``update`` or ``update-pr`` Activity row, else its record) and
    owner's name.

    ``own_only`` keeps the actor's own projects, an admin's too."""
    from codeforge.db.activities import last_activities, user_names

    newest = {entry.name: _newest(entry.versions) for entry in catalog.list_entries(ctx, actor)}
    rows = [
        row
        for row in projects.list_projects(ctx, actor)
        if (blueprint is None or row.blueprint_name == blueprint)
        and (not own_only or row.owner_id == actor.id)
    ]
    with ctx.read() as session:
        last = last_activities(session, ("update", "update-pr"), [row.id for row in rows])
        updated = {row_id: activity.at for row_id, activity in last.items()}
        names = user_names(session, (r.owner_id for r in rows if r.owner_id is not None))
    entries = []
    for row in rows:
        latest = newest.get(row.blueprint_name)
        at = updated.get(row.id, row.updated_at)
        lags = _lags(row.blueprint_version, latest)
        entry = FleetEntry(
            row.id, row.name, row.path, row.blueprint_name, row.blueprint_version, latest,
            lags, row.remote_url, at.isoformat() if at else None,
            owner=names.get(row.owner_id) if row.owner_id is not None else None,
        )  # fmt: skip
        entries.append(entry)
    return entries
