"""The optional sections of a blueprint definition: validators, loops, components, tasks,
migrations, the CI pipeline and the cookiecutter/copier options.

Kept apart from :mod:`codeforge.templates.schema` because a definition without these
sections (most of them) never builds one: the parser imports this module only when a
section is present, so a plain ``codeforge init`` does not pay for creating these
dataclasses at start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codeforge.templates.schema import Variable


@dataclasses.dataclass(frozen=True, slots=True)
class Validator:
    kind: str  # regex | min | max | min_length | max_length | expr
    value: Any
    message: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Loop:
    path: str
    over: str
    as_: str


@dataclasses.dataclass(frozen=True, slots=True)
class Insertion:
    file: str
    anchor: str
    content: str
    position: str = "after"


@dataclasses.dataclass(frozen=True, slots=True)
class Component:
    name: str
    description: str = ""
    template_dir: str = ""
    variables: tuple[Variable, ...] = ()
    insertions: tuple[Insertion, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    command: tuple[str, ...]
    when: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """Tasks run by ``codeforge update`` when a project crosses ``version``.

    ``before`` runs on the project before the merge, ``after`` once the new
    version is merged; both only for trusted sources (see core/update.py).
    """

    version: str
    before: tuple[Task, ...] = ()
    after: tuple[Task, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineStep:
    name: str
    run: tuple[str, ...]  # shell commands, Jinja


@dataclasses.dataclass(frozen=True, slots=True)
class Pipeline:
    """What the project's CI runs; the CI provider that ``provider`` names writes the file.

    Providers come from the ``codeforge_ci_providers`` hook (built in: github,
    gitlab, jenkins). Every text is Jinja over the answers; a ``provider`` that
    renders empty or ``none`` gives no CI file.
    """

    provider: str
    install: str = ""  # pip arguments installing the project and its tools
    steps: tuple[PipelineStep, ...] = ()
    python: str = ""  # the lowest Python version to test on
    docker: str = ""  # true: also build the image from the project's Dockerfile


@dataclasses.dataclass(frozen=True)
class CompatOptions:
    """What a foreign format (cookiecutter, copier) adds to the model; see sources/compat.

    The adapter supplies the foreign tool's answer semantics and render context as
    callables, so the engine runs one pipeline whatever the format.
    """

    format: str  # cookiecutter | copier
    resolve: Callable[..., dict[str, Any]]  # (blueprint, evaluator, explicit, prompter, info)
    context: Callable[..., dict[str, Any]]  # (blueprint, evaluator, answers, info) -> context
    setup_env: Callable[..., None]  # (environment, trusted): envops, extensions, filters
    recorded: Callable[[Mapping[str, Any]], dict[str, Any]]  # answers written to the answers file
    run_hooks: Callable[..., None] | None = None  # (stage, cwd, context, trusted, info)
    cache_salt: str = ""  # env options and extensions: part of the compiled-code cache key
    strip_suffix: str = ""  # suffix removed from rendered file names ('' keeps names)
    suffix_only: bool = False  # only files ending in strip_suffix are templates (copier)
    exclude_output: tuple[str, ...] = ()  # gitignore-style globs over rendered paths
    # (evaluator, context) -> (exclude_output, skip_if_exists), when they hold Jinja (copier)
    rules: Callable[..., tuple[tuple[str, ...], tuple[str, ...]]] | None = None
    copy_fnmatch: tuple[str, ...] = ()  # fnmatch globs over template paths: copied verbatim
    keep_crlf: bool = True  # keep a template's CRLF line ends (cookiecutter) or not (copier)
    raw_migrations: tuple[Mapping[str, Any], ...] = ()  # copier `_migrations`, as written
    keep_links: bool = False  # copier `_preserve_symlinks`: relative links stay links
