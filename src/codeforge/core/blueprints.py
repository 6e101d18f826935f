"""Finding and loading blueprints through the resolver and the dialects the engine was given."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from codeforge.core.answersfile import AnswersFile
from codeforge.core.collaborators import Collaborators
from codeforge.core.dialect import Dialect, dialect_of
from codeforge.core.errors import CodeForgeError, NotFoundError
from codeforge.core.source import ResolvedSource
from codeforge.templates.schema import Blueprint


@dataclasses.dataclass
class LoadedBlueprint:
    """A blueprint and where it was found."""

    blueprint: Blueprint
    source: ResolvedSource


@dataclasses.dataclass
class Recorded:
    """What a project says it was made from."""

    answers_file: AnswersFile
    adopted_from: str | None = None  # the other tool ("copier", "cruft") whose file was read


def load_folder(dialects: Sequence[Dialect], folder: Path, cache_dir: Path | None) -> Blueprint:
    """Load the blueprint in ``folder`` with the first dialect that recognises it."""
    folder = folder.resolve()
    for dialect in dialects:
        definition = dialect.detect(folder)
        if definition is not None:
            return dialect.load(folder, definition, cache_dir)
    if not folder.is_dir():
        raise NotFoundError(f"no blueprint folder at {folder}")
    # Named for the native format: what an author who meant to write a blueprint adds.
    raise NotFoundError(
        f"{folder} holds no blueprint.yaml or blueprint.toml",
        hint="a blueprint is a folder with blueprint.yaml (or .toml) and a template/ folder",
    )


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
) -> LoadedBlueprint:
    """Resolve ``ref`` (git: at ``vcs_ref``, fetched first with ``refresh``) and load it."""
    source = parts.resolver.resolve(
        ref, allow_local=allow_local, trust=trust, vcs_ref=vcs_ref, refresh=refresh
    )
    for warning in source.warnings:
        parts.reporter.warn(warning)
    if parts.parse is not None:
        blueprint = parts.parse(source.path)
    else:
        blueprint = load_folder(parts.dialects, source.path, parts.settings.cache_dir)
    # Named and versioned as its dialect says once the source is known: a cookiecutter or
    # copier template from git is its repository's name at its tag, not the checkout
    # folder's (a commit id) at 0.0.0, so init, the answers file, check and update agree.
    dialect = dialect_of(parts.dialects, blueprint)
    name, version = dialect.identity(blueprint, source, parts.resolver.versions)
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
