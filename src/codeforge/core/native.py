"""The native dialect: blueprints with ``blueprint.yaml`` (or ``.toml``) and a ``template/`` folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge import __version__
from codeforge.core.answers import Evaluator, Prompter, public_answers, resolve_answers
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, read_answers_file
from codeforge.core.dialect import DialectRun, EnvironmentMaker, Rendered, Versions
from codeforge.core.plan import PlanBuilder
from codeforge.core.postprocess import plain, run_tasks
from codeforge.core.source import ResolvedSource
from codeforge.errors import NotFoundError, UsageError
from codeforge.settings import Settings
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.loader import SharedLookup, find_definition, load_blueprint
from codeforge.templates.schema import Blueprint


def base_context(name: str) -> dict[str, Any]:
    """What every native template sees besides the answers."""
    return {"project_name": name, "codeforge": {"version": __version__}}


def config_defaults(settings: Settings, blueprint: Blueprint) -> dict[str, Any]:
    """The user's configured defaults for ``blueprint``'s questions (below explicit data)."""
    defaults = dict(settings.defaults)
    if settings.author_name and blueprint.variable("author_name") is not None:
        defaults.setdefault("author_name", settings.author_name)
    if settings.author_email and blueprint.variable("author_email") is not None:
        defaults.setdefault("author_email", settings.author_email)
    return defaults


def next_steps(run: DialectRun, answers: Mapping[str, Any], destination: Path) -> str:
    """The blueprint's ``next_steps`` for this project; secrets masked, since they are printed."""
    bp = run.blueprint
    context = {**base_context(run.name), **answers}
    masked = {v.name: "********" if context.get(v.name) else "" for v in bp.variables if v.secret}
    full = {**context, **masked, "project_dir": _shown_path(destination)}
    return Evaluator(run.env).render(bp.next_steps, full, "next_steps").strip()


def _shown_path(path: Path) -> str:
    """``path`` as a user types it from the current folder: relative below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class NativeDialect:
    """CodeForge's own format (see :class:`codeforge.core.dialect.Dialect`)."""

    name = "native"
    answers_file = ANSWERS_FILE
    made_by = "CodeForge"
    incremental = True

    def __init__(self, shared_definitions: SharedLookup | None = None) -> None:
        """``shared_definitions``: the fleet's cache of parsed definitions (Redis), if any."""
        self.shared_definitions = shared_definitions

    def detect(self, folder: Path) -> Path | None:
        """``blueprint.yaml``/``.yml``/``.toml`` (two of them is an error)."""
        try:
            return find_definition(folder)
        except NotFoundError:
            return None

    def load(self, folder: Path, definition: Path, cache_dir: Path | None) -> Blueprint:
        """Parse and validate (see :func:`codeforge.templates.loader.load_blueprint`)."""
        if self.shared_definitions is None:
            return load_blueprint(folder, cache_dir=cache_dir)
        return load_blueprint(folder, cache_dir=cache_dir, shared=self.shared_definitions)

    def environment(
        self, blueprint: Blueprint, trusted: bool, make: EnvironmentMaker
    ) -> CodeForgeEnvironment:
        """The sandbox on the template folder."""
        return make(blueprint.template_root, str(blueprint.template_root), None)

    def resolve(
        self,
        run: DialectRun,
        data: Mapping[str, Any],
        prompter: Prompter | None,
        saved: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The one precedence chain (see :func:`codeforge.core.answers.resolve_answers`)."""
        explicit = dict(data)
        if "project_name" in explicit and explicit["project_name"] != run.name:
            raise UsageError("project_name comes from the NAME argument; do not pass it in --data")
        explicit.pop("project_name", None)
        return resolve_answers(
            run.blueprint.variables,
            Evaluator(run.env),
            base=base_context(run.name),
            explicit=explicit,
            saved=saved,
            config_defaults=config_defaults(run.settings, run.blueprint),
            prompter=prompter,
        )

    def render(self, run: DialectRun, answers: Mapping[str, Any]) -> Rendered:
        """Every template file, named and rendered by the blueprint's file rules."""
        context = plain({**base_context(run.name), **answers})
        rules = run.blueprint.files
        plan = PlanBuilder(run.env, run.settings.limits).build(
            str(run.blueprint.template_root),
            context,
            exclude=rules.exclude,
            copy_only=rules.copy_only,
            skip_if_exists=rules.skip_if_exists,
            loops=rules.loops,
            progress=run.progress,
        )
        return Rendered(plan, context)

    def recorded(self, blueprint: Blueprint, answers: Mapping[str, Any]) -> dict[str, Any]:
        """All answers but secrets."""
        return public_answers(blueprint.variables, answers)

    def before_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """Native blueprints have no pre-generation hooks."""

    def after_write(
        self, run: DialectRun, answers: Mapping[str, Any], context: Mapping[str, Any], staging: Path
    ) -> None:
        """The blueprint's ``tasks`` (trusted sources only: see core/postprocess.py)."""
        bp = run.blueprint
        if not bp.tasks:
            return
        evaluator = Evaluator(run.env)
        task_context = {**base_context(run.name), **answers}
        run_tasks(
            bp.tasks,
            staging,
            trusted=run.source.trusted,
            render=lambda text, origin: evaluator.render(text, task_context, origin),
            truth=lambda expr, origin: evaluator.truth(expr, task_context, origin),
            answers_json=json.dumps(public_answers(bp.variables, answers)),
            info=run.info,
        )

    def adopt(self, project: Path) -> AnswersFile | None:
        """CodeForge's own ``.codeforge-answers.yml``."""
        if not (project / ANSWERS_FILE).is_file():
            return None
        return read_answers_file(project)

    def identity(
        self, blueprint: Blueprint, source: ResolvedSource, versions: Versions
    ) -> tuple[str, str]:
        """The definition's name and version."""
        return blueprint.name, blueprint.version

    def update_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Only ``data``: recorded answers enter as their own (saved) layer."""
        return dict(data)

    def base_given(
        self, blueprint: Blueprint, saved: Mapping[str, Any], target: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Secrets are not recorded: the recorded version gets the target's (a secret with no
        value, its ``when`` false, is no answer: the recorded version resolves its own)."""
        secret = {v.name for v in blueprint.variables if v.secret}
        return {k: v for k, v in target.items() if k in secret and v is not None}

    def project_name(self, project: Path, saved: dict[str, Any]) -> str:
        """The recorded ``project_name`` (taken out of the answers), else the folder name."""
        return str(saved.pop("project_name", project.name))

    def update_answers(
        self, blueprint: Blueprint, name: str, answers: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Public answers; the answers file adds ``project_name``."""
        public = public_answers(blueprint.variables, answers)
        return public, {"project_name": name, **public}

    def unsupported_migrations(self, blueprint: Blueprint, low: str, high: str) -> list[str]:
        """Native migrations always run (when trusted)."""
        return []
