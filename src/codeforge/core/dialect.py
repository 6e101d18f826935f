"""Blueprint dialects: one interface for every template format the engine can run.

A dialect knows one format end to end: how to recognise its definition, load it
into a :class:`~codeforge.templates.schema.Blueprint`, resolve answers by its
rules, render paths and content into a plan, run its trusted tasks or hooks,
write what its answers file records, and adopt a project its own tool made for
``codeforge update``. The engine holds no format-specific branch: it asks the
dialect that loaded the blueprint. Native blueprints are :mod:`codeforge.core.native`;
cookiecutter and copier live in :mod:`codeforge.sources.compat`; a plugin can add one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from codeforge.core.answers import Prompter
from codeforge.core.answersfile import AnswersFile
from codeforge.core.plan import RenderPlan
from codeforge.core.source import ResolvedSource
from codeforge.errors import BlueprintError
from codeforge.settings import Settings
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.schema import Blueprint

EnvSetup = Callable[[CodeForgeEnvironment], None]
# (root, cache key, setup) -> environment: the engine's environment pool
EnvironmentMaker = Callable[[Path, str, EnvSetup | None], CodeForgeEnvironment]
Versions = Callable[[str], list[tuple[str, str]]]  # a git source's (tag, commit), lowest first


class DialectRun(NamedTuple):
    """One operation on one blueprint, as its dialect sees it."""

    blueprint: Blueprint
    source: ResolvedSource
    name: str  # the project's NAME
    destination: Path | None  # None when rendering in memory (API, zip)
    env: CodeForgeEnvironment
    settings: Settings
    info: Callable[[str], None]
    progress: Callable[[int, int], None] | None = None


class Rendered(NamedTuple):
    """A rendered plan and the context it was rendered with."""

    plan: RenderPlan
    context: dict[str, Any]


class Dialect(Protocol):
    """A blueprint format (see the module docstring)."""

    name: str  # what Blueprint.dialect holds for blueprints this dialect loaded
    answers_file: str  # the file in which a project made by this format's tool records answers
    made_by: str  # that tool, for messages
    incremental: bool  # an update may render only the template files that changed

    def detect(self, folder: Path) -> Path | None:
        """This format's definition file in ``folder``, if any."""
        ...

    def load(self, folder: Path, definition: Path, cache_dir: Path | None) -> Blueprint:
        """Load and validate the blueprint ``definition`` describes."""
        ...

    def environment(
        self, blueprint: Blueprint, trusted: bool, make: EnvironmentMaker
    ) -> CodeForgeEnvironment:
        """The sandbox to render ``blueprint`` in, made through the engine's pool."""
        ...

    def resolve(
        self,
        run: DialectRun,
        data: Mapping[str, Any],
        prompter: Prompter | None,
        saved: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Every answer: ``data`` over ``saved`` (a project's, on update) over defaults."""
        ...

    def render(self, run: DialectRun, answers: Mapping[str, Any]) -> Rendered:
        """Paths and content, in memory."""
        ...

    def recorded(self, blueprint: Blueprint, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers shown and stored: no secrets, nothing the format keeps private."""
        ...

    def before_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """Trusted hooks that run before anything is written."""
        ...

    def after_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any], staging: Path
    ) -> None:
        """Trusted tasks or hooks, in the staging folder, before it moves into place."""
        ...

    def adopt(self, project: Path) -> AnswersFile | None:
        """What ``project`` records in this format's answers file, if it has one."""
        ...

    def identity(
        self, blueprint: Blueprint, source: ResolvedSource, versions: Versions
    ) -> tuple[str, str]:
        """(name, version) of a loaded blueprint."""
        ...

    def update_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The answers an update passes as given for the target version."""
        ...

    def base_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], target: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The answers an update passes as given to rebuild the recorded version."""
        ...

    def project_name(self, project: Path, saved: dict[str, Any]) -> str:
        """The NAME of an existing project (may take it out of ``saved``)."""
        ...

    def update_answers(
        self, blueprint: Blueprint, name: str, answers: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(public answers, answers written to the answers file) after an update."""
        ...

    def unsupported_migrations(self, blueprint: Blueprint, low: str, high: str) -> list[str]:
        """Versions of migrations above ``low`` up to ``high`` that CodeForge cannot run."""
        ...


def dialect_of(dialects: Sequence[Dialect], blueprint: Blueprint) -> Dialect:
    """The dialect that loaded ``blueprint``."""
    for dialect in dialects:
        if dialect.name == blueprint.dialect:
            return dialect
    raise BlueprintError(
        f"no dialect {blueprint.dialect!r} is installed for this blueprint",
        where=str(blueprint.definition_file),
    )
