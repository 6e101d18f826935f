"""Finding and loading blueprints through the resolver and the dialects the engine was given."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from codeforge.core.answersfile import AnswersFile
from codeforge.core.collaborators import Collaborators
from codeforge.core.dialect import Dialect, dialect_of
from codeforge.core.source import ResolvedSource
from codeforge.errors import BlueprintError, CodeForgeError, NotFoundError, UsageError
from codeforge.templates.schema import Blueprint


class LoadedBlueprint(NamedTuple):
    """A blueprint and where it was found."""

    blueprint: Blueprint
    source: ResolvedSource


class Recorded(NamedTuple):
    """What a project says it was made from."""

    answers_file: AnswersFile
    adopted_from: str | None = None  # the other tool ("copier", "cruft") whose file was read


def load_folder(
    dialects: Sequence[Dialect], folder: Path, cache_dir: Path | None, choice: str | None = None
) -> Blueprint:
    """Load the blueprint in ``folder`` with the dialect named ``choice``.

    Without a choice, the first dialect that recognises the folder wins: native, then
    copier (it supports update), then cookiecutter, then plugins' dialects.
    """
    folder = folder.resolve()
    found = [(d, definition) for d in dialects if (definition := d.detect(folder)) is not None]
    if choice is not None:
        chosen = [(d, definition) for d, definition in found if d.name == choice]
        if not chosen:
            raise _no_such_definition(dialects, folder, choice, [f.name for _, f in found])
        found = chosen + [pair for pair in found if pair not in chosen]
    if found:
        dialect, definition = found[0]
        blueprint = dialect.load(folder, definition, cache_dir)
        others = tuple(f.name for _, f in found[1:])
        return dataclasses.replace(blueprint, other_definitions=others) if others else blueprint
    if not folder.is_dir():
        raise NotFoundError(f"no blueprint folder at {folder}")
    # Named for the native format: what an author who meant to write a blueprint adds.
    raise NotFoundError(
        f"{folder} holds no blueprint.yaml or blueprint.toml",
        hint="a blueprint is a folder with blueprint.yaml (or .toml) and a template/ folder",
    )


def _no_such_definition(
    dialects: Sequence[Dialect], folder: Path, choice: str, present: list[str]
) -> CodeForgeError:
    known = [d.name for d in dialects]
    if choice not in known:
        return UsageError(f"unknown dialect {choice!r}", hint=f"choose one of: {', '.join(known)}")
    holds = f"it has {' and '.join(present)}" if present else "it has no definition at all"
    return BlueprintError(
        f"the template holds no {choice} definition ({holds})",
        where=str(folder),
        hint="choose a dialect whose definition the template has, or leave out --dialect",
    )


def dialect_note(blueprint: Blueprint) -> str:
    """The line saying which dialect a dual-format template was loaded with ('' if only one)."""
    if not blueprint.other_definitions:
        return ""
    names = sorted((blueprint.definition_file.name, *blueprint.other_definitions))
    listed = (
        f"both {names[0]} and {names[1]}"
        if len(names) == 2
        else f"{', '.join(names[:-1])} and {names[-1]}"
    )
    return f"dialect: {blueprint.dialect} ({listed} present)"


def read_recorded(dialects: Sequence[Dialect], project: Path) -> Recorded:
    """The project's answers file: CodeForge's own, else one another tool wrote."""
    for index, dialect in enumerate(dialects):
        found = dialect.adopt(project)
        if found is not None:
            return Recorded(found, dialect.made_by if index else None)
    names = [d.answers_file for d in dialects]
    makers = [d.made_by for d in dialects]
    raise NotFoundError(
        f"{project} has no {names[0]} (nor {' or '.join(names[1:])})",
        hint=f"run the command in a project made by {', '.join(makers[:-1])} or {makers[-1]}, "
        "or pass its path",
    )


def load_blueprint(
    parts: Collaborators,
    ref: str,
    *,
    allow_local: bool = True,
    trust: bool = False,
    vcs_ref: str | None = None,
    refresh: bool = False,
    dialect: str | None = None,
) -> LoadedBlueprint:
    """Resolve ``ref`` (git: at ``vcs_ref``, fetched first with ``refresh``) and load it.

    ``dialect`` chooses the format of a template that ships several definitions.
    """
    source = parts.resolver.resolve(
        ref, allow_local=allow_local, trust=trust, vcs_ref=vcs_ref, refresh=refresh
    )
    for warning in source.warnings:
        parts.reporter.warn(warning)
    if parts.parse is not None and dialect is None:
        blueprint = parts.parse(source.path)
    else:
        blueprint = load_folder(parts.dialects, source.path, parts.settings.cache_dir, dialect)
    # Named and versioned as its dialect says once the source is known: a cookiecutter or
    # copier template from git is its repository's name at its tag, not the checkout
    # folder's (a commit id) at 0.0.0, so init, the answers file, check and update agree.
    loader = dialect_of(parts.dialects, blueprint)
    name, version = loader.identity(blueprint, source, parts.resolver.versions)
    if (name, version) != (blueprint.name, blueprint.version):
        blueprint = dataclasses.replace(blueprint, name=name, version=version)
    return LoadedBlueprint(blueprint, source)


def load_blueprints(parts: Collaborators) -> list[Blueprint]:
    """Every blueprint known without a network: the built-ins, then installed plugins'."""
    cache = parts.settings.cache_dir
    found = [
        load_folder(parts.dialects, folder, cache) for folder in parts.resolver.builtin_folders()
    ]
    for name, folder in parts.resolver.plugin_folders(parts.reporter.warn):
        try:
            found.append(load_folder(parts.dialects, folder, cache))
        except CodeForgeError as exc:
            parts.reporter.warn(f"plugin blueprint {name!r} skipped: {exc}")
    return found
