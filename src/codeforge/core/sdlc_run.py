"""Running a planned workflow: each stage's steps in order, each result recorded.

Light on purpose (no Jinja, no blueprint loading): a run from the plan cached in
the data folder (see :func:`codeforge.core.sdlc_model.cached_plan`) goes through
:func:`run_plan` without the engine, and the actions import :class:`ActionContext`
from here. A failed step stops the run (:class:`~codeforge.core.steps.StepFailed`,
exit 11); Ctrl-C stops the running step and records the stage as interrupted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from codeforge.core.sdlc_model import (
    FAILED,
    INTERRUPTED,
    SKIPPED,
    SUCCEEDED,
    CredentialLookup,
    PlannedStage,
    StageResult,
    WorkflowPlan,
    WorkflowRequest,
    WorkflowRun,
    WorkflowStore,
    skip_message,
)
from codeforge.core.steps import StepFailed, run_step
from codeforge.errors import CodeForgeError, SecurityError, UsageError
from codeforge.redaction import redact
from codeforge.templates.workflow import BUILTIN_ACTIONS, Scalar


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
    # The caller's credentials by (provider, host), looked up only when an action asks
    # (docker.build's push): a secret never travels in the inputs, which are recorded.
    credentials: CredentialLookup | None = dataclasses.field(default=None, repr=False)
    # Where an action's running output goes (a build's log lines): the CLI shows the
    # latest one in place on a terminal and nothing more elsewhere. None: to ``info``.
    detail: Callable[[str], None] | None = None

    def credential(self, provider: str, host: str) -> str | None:
        """The caller's secret for ``provider`` at ``host``, or None (none given or stored)."""
        return self.credentials(provider, host) if self.credentials is not None else None

    def output(self, line: str) -> None:
        """One line of the action's running output ("": the output is over)."""
        if self.detail is not None:
            self.detail(line)
        elif line:
            self.info(line)

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        """Run a command in the project like a ``run`` step (StepFailed on failure)."""
        origin = f"{self.stage}: {self.step}"
        run_step(argv, self.project, origin=origin, env=env, timeout=self.timeout)


class WorkflowAction(Protocol):
    """A named action a step can call (``codeforge_workflow_actions`` hook)."""

    name: str

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Do the action; return its outputs (a version, a URL, ...)."""


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
    detail: Callable[[str], None] | None = None,
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
            credentials=request.credentials,
            detail=detail,
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


def run_plan(
    plan: WorkflowPlan,
    request: WorkflowRequest,
    actions: Mapping[str, WorkflowAction],
    store: WorkflowStore | None,
    info: Callable[[str], None],
    detail: Callable[[str], None] | None = None,
) -> WorkflowRun:
    """Run each stage of ``plan`` in order, recording its result; the first failure stops it.

    ``detail`` takes the actions' running output (see :attr:`ActionContext.detail`).
    """
    run = WorkflowRun(plan, dry_run=request.dry_run)
    if not request.dry_run:
        check_runnable(plan, actions)
    for planned in plan.stages:
        if planned.up_to_date and not request.force:
            info(skip_message(planned))
            run.results.append(_result(planned, SKIPPED, _now(), 0.0))
            continue
        if request.dry_run:
            info(f"{planned.stage}: would run {', '.join(s.label for s in planned.steps)}")
            continue
        run.results.append(_run_and_record(planned, plan, request, actions, store, info, detail))
    return run


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
    detail: Callable[[str], None] | None = None,
) -> StageResult:
    started, clock = _now(), time.perf_counter()
    keep = store.record if store is not None else (lambda project, result: None)
    current: list[str] = []
    try:
        outputs = _run_stage(planned, plan, request, actions, info, current, detail)
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


def detail_of(reporter: object) -> Callable[[str], None] | None:
    """A reporter's ``detail`` method (running output lines), when it has one."""
    found = getattr(reporter, "detail", None)
    return found if callable(found) else None
