"""The project's SDLC workflow: the ``workflow:`` stages of its blueprint, run and recorded.

:func:`plan_workflow` loads the blueprint the project was made from (its answers
file says which), renders every step with the recorded answers and works out each
stage's inputs key: the project tree hash, the answers, the rendered steps and the
action inputs (the target: an index URL, say). :func:`run_workflow` runs the stages in order
(``core/sdlc_run.py``), skipping one whose last recorded success had the same key
(unless ``force``), and records each result through a :class:`WorkflowStore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codeforge.core.answers import Evaluator
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, read_answers_file
from codeforge.core.blueprints import LoadedBlueprint, load_blueprint
from codeforge.core.collaborators import Collaborators
from codeforge.core.sdlc_model import (
    PlannedStage,
    RenderedStep,
    StageResult,
    WorkflowPlan,
    WorkflowRequest,
    WorkflowRun,
    WorkflowStore,
    inputs_key,
    plan_cache,
    plan_fingerprint,
)
from codeforge.core.sdlc_run import (
    ActionContext,
    WorkflowAction,
    check_runnable,
    detail_of,
    run_plan,
)
from codeforge.core.treehash import tree_hash
from codeforge.errors import NotFoundError, UsageError
from codeforge.templates.workflow import STAGES, Scalar, WorkflowStep

__all__ = [
    "ActionContext",
    "StageResult",
    "WorkflowAction",
    "WorkflowPlan",
    "WorkflowRequest",
    "WorkflowRun",
    "WorkflowStore",
    "check_runnable",
    "plan_workflow",
    "run_plan",
    "run_workflow",
    "select_stages",
]


def select_stages(
    declared: Sequence[str], asked: Sequence[str], start: str | None, until: str | None = None
) -> list[str]:
    """The stages to run, in workflow order; unknown or undeclared names are usage errors."""
    named = [*((s, "STAGE") for s in asked), *([(start, "--from")] if start else [])]
    for name, where in [*named, *([(until, "until")] if until else [])]:
        if name not in STAGES:
            raise UsageError(
                f"unknown stage {name!r}", where=where, hint=f"one of: {', '.join(STAGES)}"
            )
        if name not in declared:
            raise UsageError(
                f"the blueprint declares no {name} stage",
                where=where,
                hint=f"its stages: {', '.join(declared) or 'none'}",
            )
    chosen = [s for s in declared if not asked or s in asked]
    if start is not None:
        chosen = [s for s in chosen if STAGES.index(s) >= STAGES.index(start)]
    if until is not None:
        chosen = [s for s in chosen if STAGES.index(s) <= STAGES.index(until)]
    return chosen


def _loaded(
    parts: Collaborators, project: Path, trust: bool
) -> tuple[LoadedBlueprint, AnswersFile]:
    af = read_answers_file(project)
    loaded = load_blueprint(
        parts, af.source, trust=trust, vcs_ref=af.commit or af.ref, dialect=af.dialect
    )
    return loaded, af


class _Renderer:
    """Renders step texts with the answers; the Jinja environment only when a text needs it."""

    def __init__(
        self,
        parts: Collaborators,
        loaded: LoadedBlueprint,
        context: dict[str, Any],
        defaults: Mapping[str, Mapping[str, str]],
    ) -> None:
        self._parts, self._loaded, self._context = parts, loaded, context
        self._defaults = defaults
        self._evaluator: Evaluator | None = None

    def _eval(self) -> Evaluator:
        if self._evaluator is None:
            root = self._loaded.blueprint.template_root
            self._evaluator = Evaluator(self._parts.environments.open(root, str(root)))
        return self._evaluator

    def text(self, value: str, origin: str) -> str:
        if "{{" not in value and "{%" not in value:
            return value
        return self._eval().render(value, self._context, origin)

    def truth(self, expr: str, origin: str) -> bool:
        return self._eval().truth(expr, self._context, origin)

    def _inputs(self, step: WorkflowStep, origin: str) -> dict[str, Scalar]:
        """The step's ``with``, rendered, over the caller's defaults for its action."""
        inputs: dict[str, Scalar] = dict(self._defaults.get(step.action, {}))
        for key, value in step.inputs.items():
            rendered = self.text(value, f"{origin}.with.{key}") if isinstance(value, str) else value
            if rendered != "":  # an answer left empty leaves the default
                inputs[key] = rendered
        return inputs

    def step(self, step: WorkflowStep, origin: str) -> RenderedStep | None:
        if step.when is not None and not self.truth(step.when, f"{origin}.when"):
            return None
        return RenderedStep(
            label=step.label,
            run=tuple(self.text(arg, f"{origin}.run") for arg in step.run),
            action=step.action,
            inputs=self._inputs(step, origin),
            env={k: self.text(v, f"{origin}.env.{k}") for k, v in step.env.items()},
            timeout=step.timeout,
        )


def plan_workflow(
    parts: Collaborators, request: WorkflowRequest, store: WorkflowStore | None
) -> WorkflowPlan:
    """Load the project's blueprint, choose the stages, render their steps, key their inputs."""
    project = request.project.resolve()
    loaded, af = _loaded(parts, project, request.trust)
    bp = loaded.blueprint
    if bp.workflow is None or not bp.workflow.declared():
        raise NotFoundError(
            f"the blueprint {bp.name} {bp.version} declares no workflow",
            where=str(project),
            hint="a blueprint declares one under `workflow:` (docs/blueprint-format.md)",
        )
    chosen = select_stages(bp.workflow.declared(), request.stages, request.start, request.until)
    chosen = [stage for stage in chosen if stage not in request.exclude]
    context = {**af.answers, "project_name": project.name, "deploy": request.deploy()}
    renderer = _Renderer(parts, loaded, context, request.options)
    tree = tree_hash(project)
    last = store.last_results(project) if store is not None else {}
    planned = []
    for stage in chosen:
        steps = []
        for index, step in enumerate(bp.workflow.stages[stage]):
            rendered = renderer.step(step, f"workflow.{stage}.{index}")
            if rendered is not None:
                steps.append(rendered)
        if stage == "deploy" and request.target and not steps:
            raise UsageError(
                f"the deploy stage of {bp.name} {bp.version} has no step for "
                f"target {request.target!r}",
                where="--target",
                hint="its steps choose a target with `when: \"{{ deploy.target == '...' }}\"`",
            )
        key = inputs_key(tree, af.answers, steps, request.deploy() if stage == "deploy" else None)
        planned.append(PlannedStage(stage, tuple(steps), key, last.get(stage)))
    return WorkflowPlan(
        project,
        f"{bp.name} {bp.version}",
        loaded.source.trusted,
        af.answers,
        tuple(planned),
        str(bp.definition_file),
    )


def run_workflow(
    parts: Collaborators,
    request: WorkflowRequest,
    actions: Mapping[str, WorkflowAction],
    store: WorkflowStore | None,
) -> WorkflowRun:
    """Plan, then run each stage in order, recording its result; the first failure stops the run."""
    plan = plan_workflow(parts, request, store)
    if store is not None:
        _remember(parts, request, plan, store)
    reporter = parts.reporter
    return run_plan(plan, request, actions, store, reporter.info, detail_of(reporter))


def _remember(
    parts: Collaborators, request: WorkflowRequest, plan: WorkflowPlan, store: WorkflowStore
) -> None:
    """Let the store keep the rendered plan, so the next run can skip without loading it."""
    try:
        fingerprint = plan_fingerprint(
            request,
            plan.project / ANSWERS_FILE,
            Path(plan.definition),
            parts.settings.trusted_sources,
        )
    except OSError:
        return  # nothing to key the cache on: the next run plans again
    store.remember_plan(plan.project, plan_cache(plan, fingerprint))
