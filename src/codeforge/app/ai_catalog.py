"""The blueprints every AI path ranks: exactly the ones the user can generate from.

``ai recommend``, ``ai describe`` and ``init --describe`` all go through
:func:`user_catalog`: the folders given with ``--catalog DIR`` (any definition
the engine reads: ``blueprint.yaml``, ``blueprint.yml``, ``blueprint.toml``,
copier and cookiecutter files), the built-ins and installed plugins' blueprints,
and the blueprints registered in the configured database (the one ``codeforge
serve`` uses). Each comes with the ``-t`` reference that generates from it, so
what the model picks is what ``init`` renders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from codeforge.core.engine import SDLCEngine
from codeforge.errors import CodeForgeError, NotFoundError
from codeforge.settings import Settings
from codeforge.sources import source_label
from codeforge.templates.schema import Blueprint

DEFINITION_FILES = (
    "blueprint.yaml",
    "blueprint.yml",
    "blueprint.toml",
    "copier.yml",
    "copier.yaml",
    "cookiecutter.json",
)


@dataclasses.dataclass(frozen=True)
class Choice:
    """One blueprint the user can generate from, and how to ask for it."""

    blueprint: Blueprint
    use: str  # what `init -t` takes to generate from it
    kind: str  # catalog | builtin | plugin | registered


def _is_blueprint(folder: Path) -> bool:
    return any((folder / name).is_file() for name in DEFINITION_FILES)


def catalog_folders(root: Path) -> list[Path]:
    """``root`` itself when it holds a definition, else its sub-folders that do."""
    if _is_blueprint(root):
        return [root]
    return [p for p in sorted(root.iterdir()) if p.is_dir() and _is_blueprint(p)]


def _from_catalogs(engine: SDLCEngine, roots: Sequence[Path]) -> list[Choice]:
    found = []
    for root in roots:
        folders = catalog_folders(root)
        if not folders:
            raise NotFoundError(
                "no blueprints found",
                where=str(root),
                hint="a catalog folder holds blueprint folders (blueprint.yaml or blueprint.toml)",
            )
        for folder in folders:
            bp = engine.load_blueprint(str(folder)).blueprint
            found.append(Choice(bp, str(folder.resolve()), "catalog"))
    return found


def _installed(engine: SDLCEngine) -> list[Choice]:
    found = []
    for bp in engine.load_blueprints():
        use = source_label(bp.root)
        found.append(Choice(bp, use, "plugin" if use.startswith("plugin:") else "builtin"))
    return found


def registered(settings: Settings, warn: Callable[[str], None]) -> list[Choice]:
    """The blueprints registered in the configured database (none when it does not exist yet).

    Each is fetched into the cache folder (as a server does) and offered by that folder.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from codeforge.db.engine import parse_url, sqlite_path

    path = sqlite_path(parse_url(settings.store_url))
    if path is not None and not path.is_file():
        return []  # never create a database just to read it
    from codeforge.app import catalog
    from codeforge.app.context import build_context

    found = []
    try:
        ctx = build_context(settings, migrate=False)
        # The local user (None) owns the database: every blueprint in it is theirs to see.
        names = [e.name for e in catalog.list_entries(ctx, None) if e.kind == "registered"]
        for name in names:
            try:
                bp, _ = catalog.load(ctx, name, caller=None)
            except CodeForgeError as exc:
                warn(f"registered blueprint {name} skipped: {exc.message}")
                continue
            found.append(Choice(bp, str(bp.root), "registered"))
    except SQLAlchemyError as exc:
        warn(f"registered blueprints not read: {type(exc).__name__} on the database")
    return found


def user_catalog(
    engine: SDLCEngine,
    catalogs: Sequence[Path] = (),
    *,
    warn: Callable[[str], None] | None = None,
) -> list[Choice]:
    """Every blueprint the user can generate from, one per name, sorted by name.

    On a name taken twice the first wins: ``--catalog`` folders (the user named
    them), then built-ins and plugins, then registered blueprints.
    """
    warn = warn or (lambda _message: None)
    by_name: dict[str, Choice] = {}
    sources: list[Callable[[], list[Choice]]] = [
        lambda: _from_catalogs(engine, catalogs),
        lambda: _installed(engine),
        lambda: registered(engine.settings, warn),
    ]
    for source in sources:
        for choice in source():
            by_name.setdefault(choice.blueprint.name, choice)
    if not by_name:
        raise NotFoundError("no blueprints found", hint="pass --catalog DIR with blueprint folders")
    return [by_name[name] for name in sorted(by_name)]


def pick(choices: Sequence[Choice], name: str) -> Choice:
    """The choice named ``name``."""
    for choice in choices:
        if choice.blueprint.name == name:
            return choice
    raise NotFoundError(f"unknown blueprint {name!r}", hint="see `codeforge ai recommend`")


def resolver(engine: SDLCEngine, choices: Sequence[Choice]) -> Callable[[str], Blueprint]:
    """Name to blueprint: a choice by its name, else anything ``init -t`` takes (a folder, a URL)."""
    named = {c.blueprint.name: c.blueprint for c in choices}

    def resolve(ref: str) -> Blueprint:
        if ref in named:
            return named[ref]
        return engine.load_blueprint(ref).blueprint

    return resolve


def use_of(choices: Sequence[Choice], bp: Blueprint, asked: str | None) -> str:
    """The ``-t`` reference that generates ``bp``: what the user asked for, else its choice's."""
    if asked is None or asked == bp.name:
        return pick(choices, bp.name).use
    return asked
