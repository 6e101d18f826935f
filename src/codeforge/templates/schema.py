"""The blueprint model and its strict validation.

Plain frozen dataclasses rather than pydantic: a warm ``codeforge init`` must
start in tens of milliseconds, and a hand-written checker gives every error the
file and line it came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codeforge.templates.publish import PublishSpec
    from codeforge.templates.sections import (
        CompatOptions,
        Component,
        Loop,
        Migration,
        Pipeline,
        Task,
        Validator,
    )
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
class FileRules:
    exclude: tuple[str, ...] = ()
    copy_only: tuple[str, ...] = ()
    skip_if_exists: tuple[str, ...] = ()
    loops: tuple[Loop, ...] = ()


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
