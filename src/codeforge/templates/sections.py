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
    from codeforge.templates.definition import KeyPath
    from codeforge.templates.schema import Variable
    from codeforge.templates.validation import _Checker


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


_PIPELINE_KEYS = ("provider", "install", "steps", "python", "docker")


def parse_pipeline(c: _Checker, value: Any, keys: KeyPath) -> Pipeline:
    """The ``pipeline`` section checked strictly; errors name the file, line and key."""
    spec = c.mapping(value, keys, _PIPELINE_KEYS)
    if "provider" not in spec:
        raise c.fail(keys, "missing `provider` (the CI provider's name, e.g. '{{ ci }}')")
    python = spec.get("python", "")
    if isinstance(python, int | float) and not isinstance(python, bool):
        # YAML reads 3.10 as the number 3.1: only a string keeps the version.
        raise c.fail((*keys, "python"), f"expected a string, got the number {python!r}",
                     hint=f'quote the version: python: "{python}"')  # fmt: skip
    docker = spec.get("docker", "")
    return Pipeline(
        provider=c.str_(spec["provider"], (*keys, "provider")),
        install=c.str_(spec.get("install", ""), (*keys, "install")),
        steps=_steps(c, spec.get("steps", []), (*keys, "steps")),
        python=c.str_(python, (*keys, "python")),
        # `docker: true` as YAML writes it, or Jinja such as "{{ use_docker }}".
        docker=str(docker).lower()
        if isinstance(docker, bool)
        else c.str_(docker, (*keys, "docker")),
    )


def _steps(c: _Checker, value: Any, keys: KeyPath) -> tuple[PipelineStep, ...]:
    steps: list[PipelineStep] = []
    for item, skeys in c.entries(value, keys, ("name", "run"), ("name", "run")):
        name = c.str_(item["name"], (*skeys, "name"))
        if not name.strip() or name in (s.name for s in steps):
            raise c.fail((*skeys, "name"), f"step name {name!r} is empty or used twice")
        run = c.str_list(item["run"], (*skeys, "run"))
        if not run:
            raise c.fail((*skeys, "run"), "a step needs at least one command")
        steps.append(PipelineStep(name=name, run=run))
    return tuple(steps)
