"""CI files from CI providers: a blueprint's ``pipeline`` says what runs, a provider writes the file.

A provider (``codeforge_ci_providers`` hook; built in: github, gitlab, jenkins) is a
``name`` and a ``template_dir``: a folder rendered like a blueprint's template into
the project root, with the project's context plus ``pipeline`` (the blueprint's
``pipeline`` key, rendered): ``install`` (pip arguments), ``steps`` (each a
``name`` and its ``run`` commands), ``python_versions`` (``python`` and every newer
supported version) and ``docker`` (a bool).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from codeforge.core.answers import Evaluator
from codeforge.core.answersfile import FALSE_WORDS, TRUE_WORDS
from codeforge.core.dialect import DialectRun, Rendered
from codeforge.core.plan import PlanBuilder
from codeforge.errors import BlueprintError

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")  # what the built-in providers test on
NO_CI = ("", "none")
_PYTHON_RE = re.compile(r"^3\.\d{1,2}$")


class CIProvider(Protocol):
    """A CI system a project can get its pipeline file for."""

    @property
    def name(self) -> str:
        """What ``pipeline.provider`` renders to for this provider (e.g. ``github``)."""

    @property
    def template_dir(self) -> Path:
        """The folder rendered into the project root (e.g. ``.github/workflows/ci.yml``)."""


class FolderProvider(NamedTuple):
    """A CI provider whose files are one template folder."""

    name: str
    template_dir: Path


def builtin_ci_providers() -> dict[str, CIProvider]:
    """github (Actions workflow), gitlab (``.gitlab-ci.yml``), jenkins (declarative Jenkinsfile)."""
    import codeforge.templates

    root = Path(codeforge.templates.__file__).resolve().parent / "ci"
    return {name: FolderProvider(name, root / name) for name in ("github", "gitlab", "jenkins")}


def _versions(lowest: str) -> list[str]:
    if not lowest:
        return []
    newer = [v for v in PYTHON_VERSIONS if tuple(map(int, v.split("."))) > _key(lowest)]
    return [lowest, *newer]


def _key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


def _check_rendered(run: DialectRun, python: str, docker: str) -> None:
    """What ``python`` and ``docker`` rendered to must mean something to a provider."""
    where = str(run.blueprint.definition_file)
    if python and not _PYTHON_RE.match(python):
        raise BlueprintError(
            f"pipeline.python: renders to {python!r}, not a Python version such as 3.12",
            where=where,
        )
    if docker not in TRUE_WORDS | FALSE_WORDS | {"none"}:
        raise BlueprintError(
            f"pipeline.docker: renders to {docker!r}, not true or false", where=where
        )


def add_pipeline(
    run: DialectRun, rendered: Rendered, providers: Mapping[str, CIProvider]
) -> str | None:
    """Render the blueprint's CI provider into ``rendered.plan``; the provider's name, or None."""
    spec = run.blueprint.pipeline
    if spec is None:
        return None
    evaluator = Evaluator(run.env)
    context = rendered.context

    def text(value: str, key: str) -> str:
        return evaluator.render(value, context, f"pipeline.{key}").strip()

    name = text(spec.provider, "provider")
    if name.lower() in NO_CI:
        return None
    provider = providers.get(name)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        raise BlueprintError(
            f"pipeline.provider: no CI provider {name!r} is installed (known: {known})",
            where=str(run.blueprint.definition_file),
            hint="install the plugin that adds it, or choose another",
        )
    python, docker = text(spec.python, "python"), text(spec.docker, "docker").lower()
    _check_rendered(run, python, docker)
    pipeline: dict[str, Any] = {
        "provider": name,
        "install": text(spec.install, "install"),
        "steps": [
            {"name": step.name, "run": [text(c, f"steps.{step.name}") for c in step.run]}
            for step in spec.steps
        ],
        "python_versions": _versions(python),
        "docker": docker not in FALSE_WORDS | {"none"},
    }
    plan = PlanBuilder(run.env, run.settings.limits).build(
        str(provider.template_dir), {**context, "pipeline": pipeline}
    )
    taken = rendered.plan.by_path()
    for planned in plan.files:
        if planned.path in taken:
            raise BlueprintError(
                f"CI provider {name!r} writes {planned.path}, which the blueprint's template"
                " also has",
                where=str(run.blueprint.definition_file),
            )
        rendered.plan.add(planned)
    return name
