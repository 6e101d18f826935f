"""Which blueprints the API offers: the built-ins plus the registered (non-retired) ones.

A name resolves to a built-in first; registered blueprints cannot take a built-in's
name. Registered sources live in the database, their files in each server's cache
(fetched again from the database or git when missing), so servers share no state.

Every reader names its ``caller`` (None only for the local CLI user): a private
blueprint the caller may not see (``codeforge.app.marketplace``) is left out of
lists and resolves to the same NotFoundError as a missing name.
"""

from __future__ import annotations

import dataclasses

from codeforge.app.blueprints import server_engine
from codeforge.app.context import AppContext
from codeforge.app.marketplace import Caller, Listing, Market, load_market, not_found
from codeforge.app.registry import materialise
from codeforge.cache.memo import TtlValue
from codeforge.core.engine import SDLCEngine
from codeforge.errors import NotFoundError
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


@dataclasses.dataclass(frozen=True)
class Registered:
    name: str
    version: str
    description: str
    source: str


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The catalog at one moment: what ``GET /blueprints`` shows and generation resolves."""

    entries: list[Entry]
    builtins: frozenset[str]
    registered: dict[str, list[Registered]]  # by name, oldest version first
    market: Market
    rows: dict[str, dict[str, object]]  # each entry as GET /blueprints shows it
    private: frozenset[str]  # the names only some users may see
    public_body: bytes  # the JSON of GET /blueprints for a caller who sees no private one

    def visible(self, caller: Caller | None) -> list[Entry]:
        """The entries ``caller`` may see, by name."""
        return [e for e in self.entries if self.market.can_see(e.name, caller)]

    def sees_only_public(self, caller: Caller | None) -> bool:
        """``caller`` sees no private blueprint (so ``public_body`` is their list by name)."""
        return not any(self.market.can_see(name, caller) for name in self.private)


def _row(entry: Entry, listing: Listing, stars: int) -> dict[str, object]:
    return {
        "name": entry.name,
        "version": entry.version,
        "description": entry.description,
        "tags": entry.tags,
        "source": entry.source,
        "versions": entry.versions,
        "owner": listing.owner,
        "visibility": listing.visibility,
        "featured": listing.featured,
        "deprecated": listing.deprecated,
        "replacement": listing.replacement,
        "stars": stars,
    }


def _load_snapshot(ctx: AppContext) -> Snapshot:
    import orjson

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
        rows = [
            Registered(r.name, r.version, r.description, r.source)
            for r in list_blueprints(session)
            if r.name not in builtins
        ]
        market = load_market(session, frozenset(builtins))
    registered: dict[str, list[Registered]] = {}
    for row in rows:
        registered.setdefault(row.name, []).append(row)
    for name, versions in registered.items():
        last = versions[-1]
        entries.append(
            Entry(
                name,
                last.version,
                last.description,
                [],
                last.source,
                [v.version for v in versions],
                "registered",
            )
        )
    entries.sort(key=lambda e: e.name)
    shown = {e.name: _row(e, market.listing(e.name), market.stars.get(e.name, 0)) for e in entries}
    private = frozenset(e.name for e in entries if market.listing(e.name).visibility != "public")
    body = orjson.dumps([shown[e.name] for e in entries if e.name not in private])
    return Snapshot(entries, frozenset(builtins), registered, market, shown, private, body)


def snapshot(ctx: AppContext) -> Snapshot:
    """The catalog, reused for ``catalog_cache_seconds`` (see ``codeforge.cache.memo``)."""
    cache = ctx.catalog_cache
    if cache is None:
        with ctx.lock:
            if ctx.catalog_cache is None:
                ctx.catalog_cache = TtlValue(
                    ctx.config.catalog_cache_seconds, lambda: _load_snapshot(ctx)
                )
            cache = ctx.catalog_cache
    result: Snapshot = cache.get()
    return result


def invalidate(ctx: AppContext) -> None:
    """Forget the cached catalog (after a registration or retirement on this server)."""
    if ctx.catalog_cache is not None:
        ctx.catalog_cache.invalidate()


def list_entries(ctx: AppContext, caller: Caller | None) -> list[Entry]:
    """The blueprints ``caller`` may see, by name."""
    return snapshot(ctx).visible(caller)


def find(ctx: AppContext, name: str, caller: Caller | None) -> Entry:
    """The entry ``name``; NotFoundError when it is missing or ``caller`` may not see it."""
    snap = snapshot(ctx)
    if snap.market.can_see(name, caller):
        for entry in snap.entries:
            if entry.name == name:
                return entry
    raise not_found(name)


def sort_entries(
    ctx: AppContext, entries: list[Entry], sort: str, uses: dict[str, int] | None = None
) -> list[Entry]:
    """``entries`` by ``sort``: name, stars, uses (recorded projects) or recent (newest
    registration; built-ins last), the name breaking ties."""
    market = snapshot(ctx).market
    by_name = sorted(entries, key=lambda e: e.name)
    if sort == "stars":
        return sorted(by_name, key=lambda e: -market.stars.get(e.name, 0))
    if sort == "uses":
        counts = usage_counts(ctx) if uses is None else uses
        return sorted(by_name, key=lambda e: -counts.get(e.name, 0))
    if sort == "recent":
        return sorted(by_name, key=lambda e: -market.registered_at.get(e.name, 0.0))
    return by_name


def resolve(
    ctx: AppContext, name: str, version: str | None = None, *, caller: Caller | None
) -> tuple[SDLCEngine, str]:
    """The engine to render ``name`` with and the reference to pass it (NotFoundError when
    ``caller`` may not see it)."""
    snap = snapshot(ctx)
    if not snap.market.can_see(name, caller):
        raise not_found(name)
    if name in snap.builtins:
        engine = server_engine(ctx)
        if version is not None:
            bp = ctx.parse(builtin_root() / name)
            if bp.version != version:
                raise NotFoundError(
                    f"blueprint {name} has no version {version}", hint=f"available: {bp.version}"
                )
        return engine, name
    rows = snap.registered.get(name, [])
    if version is not None:
        rows = [r for r in rows if r.version == version]
    if not rows:
        label = f"{name} {version}" if version else name
        raise NotFoundError(f"no blueprint named {label}", where="template")
    row = rows[-1]
    folder = materialise(ctx, row.source)
    ref = f"registered:{row.name}@{row.version}"
    return server_engine(ctx, {ref: (folder, row.source)}), ref


def load(
    ctx: AppContext, name: str, version: str | None = None, *, caller: Caller | None
) -> tuple[Blueprint, str]:
    """The parsed blueprint ``name`` and its source label."""
    engine, ref = resolve(ctx, name, version, caller=caller)
    loaded = engine.load_blueprint(ref)
    return loaded.blueprint, loaded.source.source


def usage_counts(ctx: AppContext) -> dict[str, int]:
    """How many recorded projects each blueprint made, by blueprint name."""
    from sqlalchemy import func, select

    from codeforge.db.models import Project

    with ctx.read() as session:
        rows = session.execute(
            select(Project.blueprint_name, func.count()).group_by(Project.blueprint_name)
        ).all()
    return {str(name): int(count) for name, count in rows}


def resolve_update(
    ctx: AppContext, name: str, version: str, *, caller: Caller | None
) -> tuple[SDLCEngine, str, str]:
    """The engine for updating a project made from ``name`` ``version`` to the newest version,
    with the references of both (the base rebuilt for the merge, and the target); a
    blueprint ``caller`` may not see is a NotFoundError, like a missing one."""
    snap = snapshot(ctx)
    if not snap.market.can_see(name, caller):
        raise not_found(name)
    if name in snap.builtins:
        bp = ctx.parse(builtin_root() / name)
        if bp.version != version:
            raise NotFoundError(
                f"the built-in blueprint {name} holds version {bp.version} now, so version "
                f"{version} cannot be rebuilt for the merge",
                where="project",
                hint="update the project where it was generated, with its blueprint in git",
            )
        return server_engine(ctx), name, name
    rows = snap.registered.get(name, [])
    base = [r for r in rows if r.version == version]
    if not rows or not base:
        label = f"{name} {version}" if rows else name
        raise NotFoundError(
            f"no registered blueprint {label} on this server",
            where="project",
            hint="a retired blueprint version cannot be rebuilt for the merge",
        )
    refs = {}
    for row in (base[-1], rows[-1]):
        refs[f"registered:{row.name}@{row.version}"] = (materialise(ctx, row.source), row.source)
    base_ref, target_ref = (f"registered:{r.name}@{r.version}" for r in (base[-1], rows[-1]))
    return server_engine(ctx, refs), base_ref, target_ref
