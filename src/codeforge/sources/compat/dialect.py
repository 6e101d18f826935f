"""The cookiecutter and copier dialects (:class:`codeforge.core.dialect.Dialect`).

Both share one shape: the adapter module (:mod:`.cookiecutter`, :mod:`.copier`)
loads the template into a Blueprint whose ``compat`` options carry the foreign
tool's answer rules, render context, Jinja options and hooks; :mod:`.stages`
runs them. They differ in the definition file, the adopted answers file and the
migrations only copier has.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.answers import Prompter, public_answers
from codeforge.core.answersfile import AnswersFile
from codeforge.core.dialect import DialectRun, EnvironmentMaker, Rendered, Versions
from codeforge.core.source import ResolvedSource
from codeforge.sources.compat import (
    COOKIECUTTER,
    COPIER,
    compat_definition,
    load_compat_blueprint,
    stages,
)
from codeforge.sources.compat.adopt import COPIER_ANSWERS, CRUFT_FILE, from_copier, from_cruft
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.loader import semver_key
from codeforge.templates.schema import SEMVER_RE, Blueprint

if TYPE_CHECKING:
    from codeforge.templates.sections import CompatOptions


def _compat(blueprint: Blueprint) -> CompatOptions:
    if blueprint.compat is None:
        raise TypeError(f"{blueprint.name} is not a {blueprint.dialect} template")
    return blueprint.compat


def _run_info(run: DialectRun) -> dict[str, Any]:
    return stages.info(run.name, run.destination, run.source, run.source.trusted)


class _ForeignDialect:
    """What cookiecutter and copier templates share (see the module docstring)."""

    name = ""
    answers_file = ""
    made_by = ""
    incremental = False  # their render rules (hooks, rendered excludes) can touch any file

    definitions: tuple[str, ...] = ()  # the tool's definition file names

    def detect(self, folder: Path) -> Path | None:
        """This tool's definition file (the other tool's beside it is the engine's choice)."""
        return compat_definition(folder, self.definitions) if folder.is_dir() else None

    def load(self, folder: Path, definition: Path, cache_dir: Path | None) -> Blueprint:
        """Map the foreign definition onto a Blueprint (:mod:`codeforge.sources.compat`)."""
        return load_compat_blueprint(folder, definition)

    def environment(
        self, blueprint: Blueprint, trusted: bool, make: EnvironmentMaker
    ) -> CodeForgeEnvironment:
        """The sandbox with the template's own Jinja options, filters and extensions.

        Includes resolve from copier's template root or cookiecutter's project folder;
        the compiled-code cache is keyed by those options too.
        """
        compat = _compat(blueprint)
        root = blueprint.root if compat.format == "copier" else blueprint.template_root
        return make(root, f"{root}|{compat.cache_salt}", lambda env: compat.setup_env(env, trusted))

    def resolve(
        self,
        run: DialectRun,
        data: Mapping[str, Any],
        prompter: Prompter | None,
        saved: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The answers, by the foreign tool's rules."""
        return stages.resolve(run.blueprint, run.env, data, prompter, _run_info(run), saved)

    def render(self, run: DialectRun, answers: Mapping[str, Any]) -> Rendered:
        """The tool's context, names and file rules."""
        context = stages.context(run.blueprint, run.env, answers, _run_info(run))
        plan = stages.build_plan(run.blueprint, run.env, run.settings.limits, context, run.progress)
        return Rendered(plan, context)

    def recorded(self, blueprint: Blueprint, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Only what the tool itself records: no private ``_x`` values, no secrets."""
        return stages.recorded(blueprint, answers)

    def before_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """cookiecutter's pre_gen_project hook (trusted sources only)."""
        self._hooks(run, "pre", None, context)

    def after_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any], staging: Path
    ) -> None:
        """cookiecutter's post_gen_project hook, copier's tasks (trusted sources only)."""
        self._hooks(run, "post", staging, context)

    def _hooks(
        self, run: DialectRun, stage: str, cwd: Path | None, context: Mapping[str, Any]
    ) -> None:
        if _compat(run.blueprint).run_hooks is None:
            return
        stages.run_hooks(run.blueprint, stage, cwd, run.env, context, run.source.trusted, run.info)

    def adopt(self, project: Path) -> AnswersFile | None:
        raise NotImplementedError

    def identity(
        self, blueprint: Blueprint, source: ResolvedSource, versions: Versions
    ) -> tuple[str, str]:
        """The source's last path segment, and the git tag it was loaded at.

        Loaded at a commit, the version is the highest version tag on that commit.
        """
        label = source.source.rstrip("/")
        name = label.rsplit("/", 1)[-1].removesuffix(".git") or blueprint.name
        ref = source.ref or ""
        if not SEMVER_RE.match(ref.removeprefix("v")) and source.commit:
            tags = versions(source.source)
            ref = next((t for t, c in reversed(tags) if c == source.commit), ref)
        version = ref.removeprefix("v")
        return name, version if SEMVER_RE.match(version) else blueprint.version

    def update_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The tools' answer rules take no "saved" layer: recorded answers count as given."""
        known = {v.name for v in blueprint.variables}
        return {**{k: v for k, v in saved.items() if k in known}, **data}

    def base_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], target: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The recorded answers the recorded version asks."""
        known = {v.name for v in blueprint.variables}
        return {k: v for k, v in saved.items() if k in known}

    def project_name(self, project: Path, saved: dict[str, Any]) -> str:
        """NAME is the project folder; ``project_name`` is one of the template's variables."""
        return project.name

    def update_answers(
        self, blueprint: Blueprint, name: str, answers: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Public answers without ``_private`` ones; the answers file adds ``project_name``
        (unless the template asks one), as ``init`` writes it."""
        public = public_answers(blueprint.variables, answers)
        public = {k: v for k, v in public.items() if not k.startswith("_")}
        return public, {"project_name": name, **public}

    def unsupported_migrations(self, blueprint: Blueprint, low: str, high: str) -> list[str]:
        """copier ``_migrations`` left unmapped that this update would cross.

        A version that does not parse (even without its ``v``) counts as crossed: it
        cannot be placed, so it is not skipped silently.
        """
        low_key, high_key = semver_key(low), semver_key(high)
        crossed = []
        for item in _compat(blueprint).raw_migrations:
            version = str(item.get("version", "?"))
            try:
                key = semver_key(version.removeprefix("v"))
            except ValueError:
                crossed.append(version)
                continue
            if low_key < key <= high_key:
                crossed.append(version)
        return crossed


class CookiecutterDialect(_ForeignDialect):
    """cookiecutter templates (``cookiecutter.json``); cruft-made projects are adopted."""

    name = "cookiecutter"
    answers_file = CRUFT_FILE
    made_by = "cruft"
    definitions = (COOKIECUTTER,)

    def adopt(self, project: Path) -> AnswersFile | None:
        """cruft's ``.cruft.json`` (``template``, ``commit``, ``context.cookiecutter``)."""
        path = project / CRUFT_FILE
        return from_cruft(path, project) if path.is_file() else None


class CopierDialect(_ForeignDialect):
    """copier templates (``copier.yml``/``copier.yaml``) and copier-made projects."""

    name = "copier"
    answers_file = COPIER_ANSWERS
    made_by = "copier"
    definitions = COPIER

    def adopt(self, project: Path) -> AnswersFile | None:
        """copier's ``.copier-answers.yml`` (``_src_path``, ``_commit``, answers)."""
        path = project / COPIER_ANSWERS
        return from_copier(path, project) if path.is_file() else None
