"""The data of a project's SDLC workflow: requests, plans, stage results, and the plan cache.

Light on purpose (no Jinja, no blueprint loading): a rerun with nothing changed
decides from these alone (:func:`cached_plan`) whether every stage can be skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from codeforge import __version__
from codeforge.redaction import redact
from codeforge.templates.workflow import Scalar

SUCCEEDED, FAILED, INTERRUPTED, SKIPPED = "succeeded", "failed", "interrupted", "skipped"
# (provider, host) -> the caller's secret for it, or None.
CredentialLookup = Callable[[str, str], "str | None"]


@dataclasses.dataclass(frozen=True)
class StageResult:
    """What one stage did: recorded per project, shown by ``workflow status``."""

    stage: str
    status: str  # succeeded | failed | interrupted | skipped
    inputs_key: str
    started_at: str  # ISO 8601, UTC
    duration: float  # seconds
    outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    step: str = ""  # the step that failed or was interrupted
    tail: tuple[str, ...] = ()  # its last output lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        data = dataclasses.asdict(self)
        data["outputs"], data["tail"] = dict(self.outputs), list(self.tail)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageResult:
        """The result :meth:`to_dict` gave (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["outputs"] = {str(k): str(v) for k, v in dict(values.get("outputs", {})).items()}
        values["tail"] = tuple(str(line) for line in values.get("tail", ()))
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class WorkflowRequest:
    """What the caller asks: which stages, and how."""

    project: Path
    stages: tuple[str, ...] = ()  # empty: every declared stage
    start: str | None = None  # --from
    until: str | None = None  # the last stage, which must be declared (deploy's: deploy)
    exclude: tuple[str, ...] = ()  # stages never run, even when declared (the server's deploy)
    dry_run: bool = False
    force: bool = False
    trust: bool = False
    # Inputs by action name that steps calling it get unless their `with` sets them
    # (the CLI's: CODEFORGE_PACKAGE_INDEX as package.upload's repository_url, ...).
    options: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    # `codeforge deploy`: where to (docker, compose, kubernetes, a plugin's), for which
    # environment, and whether to take down what the deploy stage started.
    target: str = ""
    environment: str = ""
    down: bool = False
    # Secrets for actions (a registry's login), by (provider, host); never part of a key.
    credentials: CredentialLookup | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    def deploy(self) -> dict[str, Any]:
        """What steps see as ``deploy`` (``{{ deploy.target }}``), and part of every inputs key."""
        return {"target": self.target, "env": self.environment, "down": self.down}


@dataclasses.dataclass(frozen=True)
class RenderedStep:
    """A step with its Jinja rendered: exactly what runs."""

    label: str
    run: tuple[str, ...]
    action: str
    inputs: Mapping[str, Scalar]
    env: Mapping[str, str]
    timeout: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderedStep:
        """The step ``dataclasses.asdict`` gave."""
        return cls(
            str(data["label"]),
            tuple(data["run"]),
            str(data["action"]),
            dict(data["inputs"]),
            dict(data["env"]),
            float(data["timeout"]),
        )


@dataclasses.dataclass(frozen=True)
class PlannedStage:
    """A stage about to run or be skipped."""

    stage: str
    steps: tuple[RenderedStep, ...]
    inputs_key: str
    last: StageResult | None

    @property
    def up_to_date(self) -> bool:
        """The last run succeeded with the same inputs."""
        return (
            self.last is not None
            and self.last.status == SUCCEEDED
            and self.last.inputs_key == self.inputs_key
        )


@dataclasses.dataclass(frozen=True)
class WorkflowPlan:
    """The stages of one run, in order, and what they run on."""

    project: Path
    blueprint: str  # name version
    trusted: bool
    answers: Mapping[str, Any]
    stages: tuple[PlannedStage, ...]
    definition: str = ""  # the blueprint's definition file (for the plan cache)


@dataclasses.dataclass
class WorkflowRun:
    """What a run did (or, in a dry run, would do)."""

    plan: WorkflowPlan
    results: list[StageResult] = dataclasses.field(default_factory=list)
    dry_run: bool = False


def skip_message(planned: PlannedStage) -> str:
    """What a skipped stage reports."""
    since = f" since {planned.last.started_at}" if planned.last is not None else ""
    return f"{planned.stage}: skipped (inputs unchanged{since})"


class WorkflowStore(Protocol):
    """Where stage results are kept: the last one per stage, and a history."""

    def last_results(self, project: Path) -> Mapping[str, StageResult]:
        """The last recorded result of each stage of the project at ``project``."""

    def record(self, project: Path, result: StageResult) -> None:
        """Keep ``result`` as the stage's last one and log it."""

    def remember_plan(self, project: Path, cache: Mapping[str, Any]) -> None:
        """Keep the rendered plan (see :func:`plan_cache`) for the next run's quick check."""


def inputs_key(
    tree: str, answers: Any, steps: Sequence[RenderedStep], deploy: Mapping[str, Any] | None = None
) -> str:
    """What a stage's result depends on: the tree, the answers, its rendered steps (whose
    action inputs hold the target) and, for the deploy stage, the deploy target, environment
    and direction (other stages see them only through what their steps render)."""
    data = {
        "tree": tree,
        "answers": answers,
        "steps": [dataclasses.asdict(s) for s in steps],
        "deploy": dict(deploy or {}),
    }
    # Credentials in a URL (an index's user:token@) are not part of the target.
    text = redact(json.dumps(data, sort_keys=True, default=str))
    return hashlib.sha256(text.encode()).hexdigest()


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_fingerprint(
    request: WorkflowRequest, answers_file: Path, definition: Path, trusted_sources: Sequence[str]
) -> str:
    """Everything a rendered plan depends on besides the tree (OSError when a file is gone)."""
    data = {
        "answers_file": _file_sha(answers_file),
        "definition": [str(definition), _file_sha(definition)],
        "stages": list(request.stages),
        "start": request.start,
        "until": request.until,
        "exclude": list(request.exclude),
        "trust": request.trust,
        "trusted_sources": list(trusted_sources),
        "options": {k: dict(v) for k, v in request.options.items()},
        "deploy": request.deploy(),
        "codeforge": __version__,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def plan_cache(plan: WorkflowPlan, fingerprint: str) -> dict[str, Any]:
    """The plan as JSON data, for :func:`cached_plan`; ``exact`` when nothing in it had to be
    redacted, so the steps can run from it as they are."""
    raw = {p.stage: json.dumps([dataclasses.asdict(s) for s in p.steps]) for p in plan.stages}
    # Never a credential in the data folder: URLs in inputs are kept redacted.
    kept = {stage: redact(text) for stage, text in raw.items()}
    return {
        "fingerprint": fingerprint,
        "definition": plan.definition,
        "blueprint": plan.blueprint,
        "trusted": plan.trusted,
        "answers": dict(plan.answers),
        "stages": {stage: json.loads(text) for stage, text in kept.items()},
        "exact": kept == raw,
    }


def cached_plan(
    request: WorkflowRequest,
    cache: Mapping[str, Any] | None,
    answers_file: Path,
    trusted_sources: Sequence[str],
) -> tuple[str, Mapping[str, tuple[RenderedStep, ...]], dict[str, Any]] | None:
    """(blueprint, stages, the cache) when the cache still holds for ``request``, else None."""
    if not cache:
        return None
    try:
        definition = Path(str(cache["definition"]))
        fingerprint = plan_fingerprint(request, answers_file, definition, trusted_sources)
        if fingerprint != cache["fingerprint"]:
            return None
        stages = {
            name: tuple(RenderedStep.from_dict(s) for s in steps)
            for name, steps in dict(cache["stages"]).items()
        }
        return str(cache["blueprint"]), stages, dict(cache)
    except (OSError, KeyError, TypeError, ValueError):
        return None
