"""The project's SDLC workflow: the ``workflow:`` stages of its blueprint, run and recorded.

:func:`plan_workflow` loads the blueprint the project was made from (its answers
file says which), renders every step with the recorded answers and works out each
stage's inputs key: the project tree hash, the answers, the rendered steps and the
action inputs (the target: an index URL, say). :func:`run_workflow` runs the stages in order,
skipping one whose last recorded success had the same key (unless ``force``),
and records each result through a :class:`WorkflowStore`. A failed step stops the
run (:class:`~codeforge.core.steps.StepFailed`, exit 11); Ctrl-C stops the running
step and records the stage as interrupted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from codeforge.core.answers import Evaluator
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, read_answers_file
from codeforge.core.blueprints import LoadedBlueprint, load_blueprint
from codeforge.core.collaborators import Collaborators
from codeforge.core.sdlc_model import (
    FAILED,
    INTERRUPTED,
    SKIPPED,
    SUCCEEDED,
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
    skip_message,
)
from codeforge.core.steps import StepFailed, run_step
from codeforge.core.treehash import tree_hash
from codeforge.errors import CodeForgeError, NotFoundError, SecurityError, UsageError
from codeforge.redaction import redact
from codeforge.templates.workflow import BUILTIN_ACTIONS, STAGES, Scalar, WorkflowStep

__all__ = [
    "ActionContext",
    "StageResult",
    "WorkflowAction",
    "WorkflowPlan",
    "WorkflowRequest",
    "WorkflowRun",
    "WorkflowStore",
    "plan_workflow",
    "run_workflow",
    "select_stages",
]


@dataclasses.dataclass(frozen=True)
class ActionContext:
    """What a workflow action gets: the project, its rendered inputs, and a command runner."""

    project: Path
    stage: str
    inputs: Mapping[str, Scalar]
    answers: Mapping[str, Any]
    step: str  # the step's label, for messages
    timeout: float
    info: Callable[[str], None]
    # From `codeforge deploy` (empty under `workflow run`): the target, the environment,
    # and --down (take down what the deploy stage started instead of starting it).
    target: str = ""
    environment: str = ""
    down: bool = False

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        """Run a command in the project like a ``run`` step (StepFailed on failure)."""
        origin = f"{self.stage}: {self.step}"
        run_step(argv, self.project, origin=origin, env=env, timeout=self.timeout)


class WorkflowAction(Protocol):
    """A named action a step can call (``codeforge_workflow_actions`` hook)."""

    name: str

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Do the action; return its outputs (a version, a URL, ...)."""


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


def check_runnable(plan: WorkflowPlan, actions: Mapping[str, WorkflowAction]) -> None:
    """Refuse before anything runs: blueprint commands from an untrusted source, unknown actions."""
    steps = [(p.stage, s) for p in plan.stages for s in p.steps]
    commands = [s for _, s in steps if s.run]
    if commands and not plan.trusted:
        raise SecurityError(
            f"the workflow of {plan.blueprint} runs {len(commands)} command(s) from the "
            "blueprint on your machine",
            hint="pass --trust if you trust its source, or add it to trusted_sources in the config",
        )
    for stage, step in steps:
        if step.action and step.action not in actions:
            if step.action in BUILTIN_ACTIONS:
                message = f"workflow action {step.action!r} is not available in this version"
            else:
                message = f"no installed plugin provides workflow action {step.action!r}"
            raise UsageError(
                message,
                where=f"workflow.{stage}",
                hint=f"available: {', '.join(sorted(actions)) or 'none'}",
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _run_stage(
    planned: PlannedStage,
    plan: WorkflowPlan,
    request: WorkflowRequest,
    actions: Mapping[str, WorkflowAction],
    info: Callable[[str], None],
    current: list[str],
) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for step in planned.steps:
        current[:] = [step.label]
        info(f"{planned.stage}: {step.label}")
        origin = f"{planned.stage}: {step.label}"
        if step.run:
            run_step(step.run, plan.project, origin=origin, env=step.env, timeout=step.timeout)
            continue
        context = ActionContext(
            plan.project,
            planned.stage,
            step.inputs,
            plan.answers,
            step.label,
            step.timeout,
            info,
            target=request.target,
            environment=request.environment,
            down=request.down,
        )
        try:
            made = actions[step.action].run(context)
        except (CodeForgeError, KeyboardInterrupt):
            raise
        except Exception as exc:  # an action's own bug still fails the stage, named
            raise StepFailed(
                f"{origin}: action {step.action} failed: {type(exc).__name__}: {exc}"
            ) from exc
        # Outputs are recorded: a credential in a URL never is.
        outputs.update({k: redact(str(v)) for k, v in made.items()})
    return outputs


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
    run = WorkflowRun(plan, dry_run=request.dry_run)
    if not request.dry_run:
        check_runnable(plan, actions)
    info = parts.reporter.info
    for planned in plan.stages:
        if planned.up_to_date and not request.force:
            info(skip_message(planned))
            run.results.append(_result(planned, SKIPPED, _now(), 0.0))
            continue
        if request.dry_run:
            info(f"{planned.stage}: would run {', '.join(s.label for s in planned.steps)}")
            continue
        run.results.append(_run_and_record(planned, plan, request, actions, store, info))
    return run


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


def _result(
    planned: PlannedStage, status: str, started: str, duration: float, **more: Any
) -> StageResult:
    return StageResult(
        planned.stage, status, planned.inputs_key, started, round(duration, 3), **more
    )


def _run_and_record(
    planned: PlannedStage,
    plan: WorkflowPlan,
    request: WorkflowRequest,
    actions: Mapping[str, WorkflowAction],
    store: WorkflowStore | None,
    info: Callable[[str], None],
) -> StageResult:
    started, clock = _now(), time.perf_counter()
    keep = store.record if store is not None else (lambda project, result: None)
    current: list[str] = []
    try:
        outputs = _run_stage(planned, plan, request, actions, info, current)
    except CodeForgeError as exc:
        took, tail = time.perf_counter() - clock, getattr(exc, "tail", ())
        if not tail and not isinstance(exc, StepFailed):
            tail = (str(exc),)
        failed = _result(planned, FAILED, started, took, step="".join(current), tail=tail)
        keep(plan.project, failed)
        raise
    except KeyboardInterrupt:
        took = time.perf_counter() - clock
        stopped = _result(planned, INTERRUPTED, started, took, step="".join(current))
        keep(plan.project, stopped)
        raise
    result = _result(planned, SUCCEEDED, started, time.perf_counter() - clock, outputs=outputs)
    keep(plan.project, result)
    info(f"{planned.stage}: succeeded in {result.duration:.1f} s")
    return result
