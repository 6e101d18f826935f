"""Which blueprints the API offers: the built-ins plus the registered (non-retired) ones.

A name resolves to a built-in first; registered blueprints cannot take a built-in's
name. Registered sources live in the database, their files in each server's cache
(fetched again from the database or git when missing), so servers share no state.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from codeforge.api.context import ApiEngine, AppContext
from codeforge.core.errors import NotFoundError
from codeforge.sources import BUILTIN_PREFIX, builtin_names, builtin_root
from codeforge.templates.schema import Blueprint


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    version: str
    description: str
    tags: list[str]
    source: str
    versions: list[str]
    kind: str  # builtin | registered


def list_entries(ctx: AppContext) -> list[Entry]:
    from codeforge.db.repositories import list_blueprints

    entries = []
    builtins = builtin_names()
    for name in builtins:
        bp = ctx.parse(builtin_root() / name)
        entries.append(
            Entry(
                bp.name,
                bp.version,
                bp.description,
                list(bp.tags),
                BUILTIN_PREFIX + name,
                [bp.version],
                "builtin",
            )
        )
    with ctx.read() as session:
        rows = list_blueprints(session)
    latest: dict[str, Entry] = {}
    for row in rows:
        if row.name in builtins:
            continue
        versions = (
            [*latest[row.name].versions, row.version] if row.name in latest else [row.version]
        )
        latest[row.name] = Entry(
            row.name, row.version, row.description, [], row.source, versions, "registered"
        )
    entries.extend(latest.values())
    return sorted(entries, key=lambda e: e.name)


def resolve(ctx: AppContext, name: str, version: str | None = None) -> tuple[ApiEngine, str]:
    """The engine to render ``name`` with and the reference to pass it."""
    from codeforge.db.repositories import list_blueprints

    if name in builtin_names():
        engine = ctx.engine()
        if version is not None:
            bp = ctx.parse(builtin_root() / name)
            if bp.version != version:
                raise NotFoundError(
                    f"blueprint {name} has no version {version}", hint=f"available: {bp.version}"
                )
        return engine, name
    with ctx.read() as session:
        rows = list_blueprints(session, name=name)
    if version is not None:
        rows = [r for r in rows if r.version == version]
    if not rows:
        label = f"{name} {version}" if version else name
        raise NotFoundError(f"no blueprint named {label}", where="template")
    row = rows[-1]
    from codeforge.api.registry import materialise

    folder = materialise(ctx, row.source)
    ref = f"registered:{row.name}@{row.version}"
    return ctx.engine({ref: (folder, row.source)}), ref


def load(ctx: AppContext, name: str, version: str | None = None) -> tuple[Blueprint, str]:
    """The parsed blueprint ``name`` and its source label."""
    engine, ref = resolve(ctx, name, version)
    loaded = engine.load_blueprint(ref)
    return loaded.blueprint, loaded.source.source


def folder_of(engine: ApiEngine, ref: str) -> Path:
    return engine.load_blueprint(ref).source.path
