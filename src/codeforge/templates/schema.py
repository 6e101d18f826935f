"""The blueprint model and its strict validation.

Plain frozen dataclasses rather than pydantic: a warm ``codeforge init`` must
start in tens of milliseconds, and a hand-written checker gives every error the
file and line it came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from codeforge.templates.publish import PublishSpec
from codeforge.templates.workflow import Workflow

VARIABLE_TYPES = ("str", "int", "float", "bool", "choice", "multichoice", "list", "dict", "secret")
FORMATTERS = ("ruff-format", "ruff-fix")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclasses.dataclass(frozen=True, slots=True)
class Validator:
    kind: str  # regex | min | max | min_length | max_length | expr
    value: Any
    message: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: str = "str"
    help: str = ""
    default: Any = MISSING
    choices: Any = None  # list | dict(label -> value) | str (Jinja rendering a list) | None
    when: str | None = None
    validators: tuple[Validator, ...] = ()
    required: bool = True
    line: int | None = None

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@dataclasses.dataclass(frozen=True, slots=True)
class Loop:
    path: str
    over: str
    as_: str


@dataclasses.dataclass(frozen=True, slots=True)
class FileRules:
    exclude: tuple[str, ...] = ()
    copy_only: tuple[str, ...] = ()
    skip_if_exists: tuple[str, ...] = ()
    loops: tuple[Loop, ...] = ()


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


@dataclasses.dataclass(frozen=True)
class Blueprint:
    name: str
    version: str
    root: Path
    definition_file: Path
    description: str = ""
    tags: tuple[str, ...] = ()
    min_codeforge_version: str | None = None
    template_dir: str = "template"
    variables: tuple[Variable, ...] = ()
    files: FileRules = dataclasses.field(default_factory=FileRules)
    components: Mapping[str, Component] = dataclasses.field(default_factory=dict)
    formatters: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()
    gitignore: str | None = None
    content_hash: str = ""
    migrations: tuple[Migration, ...] = ()
    compat: CompatOptions | None = None  # set for cookiecutter/copier templates only
    next_steps: str = ""  # Jinja text shown after a successful `init`
    dialect: str = "native"  # the name of the dialect that loaded it (core/dialect.py)
    # Other dialects' definition files beside this one (a dual-format template): the
    # answers file then records which dialect was used, so update and check use it too.
    other_definitions: tuple[str, ...] = ()
    pipeline: Pipeline | None = None  # the `pipeline` key: CI files from a CI provider
    workflow: Workflow | None = None  # the `workflow` key: verify, build, publish, deploy
    publish: PublishSpec | None = None  # the `publish` key: CI secrets `codeforge publish` stores

    @property
    def template_root(self) -> Path:
        return self.root / self.template_dir

    def variable(self, name: str) -> Variable | None:
        for var in self.variables:
            if var.name == name:
                return var
        return None
