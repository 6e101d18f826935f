"""A blueprint's ``workflow:`` section: the stages its projects go through after generation.

Stages run in the fixed order of :data:`STAGES`; each holds steps. A step either
runs an argv command inside the project (``run``, blueprint code: trusted sources
only) or calls a workflow action by name (``action``, CodeForge's or a plugin's
code). Every text of a step is Jinja over the project's answers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the checker lives with the rest of the definition validation
    from codeforge.templates.definition import KeyPath
    from codeforge.templates.validation import _Checker

STAGES = ("verify", "build", "publish", "deploy")
# Action names CodeForge defines; a plugin may add others (``codeforge_workflow_actions``).
BUILTIN_ACTIONS = (
    "package.build",
    "package.upload",
    "docker.build",
    "docker.run",
    "compose.up",
    "k8s.apply",
    "publish",
)
ACTION_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STEP_KEYS = ("name", "run", "action", "with", "env", "when", "timeout")
DEFAULT_STEP_TIMEOUT = 1800.0
MAX_STEP_TIMEOUT = 86400.0

Scalar = str | int | float | bool


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowStep:
    """One step: a command (``run``) or an action with its inputs (``with``)."""

    name: str = ""
    run: tuple[str, ...] = ()  # argv, each element Jinja
    action: str = ""
    inputs: Mapping[str, Scalar] = dataclasses.field(default_factory=dict)  # strings are Jinja
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)  # values are Jinja
    when: str | None = None
    timeout: float = DEFAULT_STEP_TIMEOUT

    @property
    def label(self) -> str:
        """How messages name the step."""
        return self.name or self.action or " ".join(self.run)


@dataclasses.dataclass(frozen=True, slots=True)
class Workflow:
    """The declared stages, in :data:`STAGES` order (a stage left out has no steps)."""

    stages: Mapping[str, tuple[WorkflowStep, ...]]

    def declared(self) -> tuple[str, ...]:
        """The stage names that have steps, in order."""
        return tuple(stage for stage in STAGES if self.stages.get(stage))


_SCALAR_SCHEMA: dict[str, Any] = {"type": ["string", "integer", "number", "boolean"]}
_STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "run": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "action": {"type": "string", "pattern": ACTION_RE.pattern},
        "with": {"type": "object", "additionalProperties": _SCALAR_SCHEMA},
        "env": {
            "type": "object",
            "propertyNames": {"pattern": ENV_NAME_RE.pattern},
            "additionalProperties": {"type": "string"},
        },
        "when": {"type": "string"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_STEP_TIMEOUT},
    },
    "oneOf": [{"required": ["run"]}, {"required": ["action"]}],
}
# The JSON Schema (draft 2020-12) of the `workflow` section; docs/blueprint-format.md shows it.
WORKFLOW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "CodeForge blueprint workflow",
    "type": "object",
    "additionalProperties": False,
    "properties": {stage: {"type": "array", "items": {"$ref": "#/$defs/step"}} for stage in STAGES},
    "$defs": {"step": _STEP_SCHEMA},
}


def parse_workflow(c: _Checker, value: Any, keys: KeyPath) -> Workflow | None:
    """The ``workflow`` section checked strictly; errors name the file, line and key."""
    if value is None:
        return None
    spec = c.mapping(value, keys, STAGES)
    stages: dict[str, tuple[WorkflowStep, ...]] = {}
    for stage in STAGES:
        if stage in spec:
            skeys = (*keys, stage)
            if not isinstance(spec[stage], list):
                raise c.fail(skeys, "expected a list of steps")
            stages[stage] = tuple(_step(c, item, (*skeys, i)) for i, item in enumerate(spec[stage]))
    return Workflow(stages)


def _step(c: _Checker, item: Any, keys: KeyPath) -> WorkflowStep:
    spec = c.mapping(item, keys, STEP_KEYS)
    if ("run" in spec) == ("action" in spec):
        raise c.fail(keys, "a step needs exactly one of `run` (a command) or `action`")
    run: tuple[str, ...] = ()
    action = ""
    if "run" in spec:
        run = c.str_list(spec["run"], (*keys, "run"))
        if not run:
            raise c.fail((*keys, "run"), "the command is empty")
    else:
        action = c.str_(spec["action"], (*keys, "action"), pattern=ACTION_RE, what="action name")
    when = spec.get("when")
    return WorkflowStep(
        name=c.str_(spec.get("name", ""), (*keys, "name")),
        run=run,
        action=action,
        inputs=_inputs(c, spec.get("with", {}), (*keys, "with")),
        env=_env(c, spec.get("env", {}), (*keys, "env")),
        when=None if when is None else c.str_(when, (*keys, "when")),
        timeout=_timeout(c, spec.get("timeout", DEFAULT_STEP_TIMEOUT), (*keys, "timeout")),
    )


def _inputs(c: _Checker, value: Any, keys: KeyPath) -> dict[str, Scalar]:
    spec = c.mapping(value, keys, tuple(value) if isinstance(value, dict) else ())
    for key, item in spec.items():
        if not isinstance(item, str | int | float | bool):
            raise c.fail((*keys, key), "expected a string, number or boolean")
    return dict(spec)


def _env(c: _Checker, value: Any, keys: KeyPath) -> dict[str, str]:
    spec = c.mapping(value, keys, tuple(value) if isinstance(value, dict) else ())
    for key, item in spec.items():
        if not ENV_NAME_RE.match(key):
            raise c.fail((*keys, key), f"{key!r} is not an environment variable name")
        c.str_(item, (*keys, key))
    return dict(spec)


def _timeout(c: _Checker, value: Any, keys: KeyPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise c.fail(keys, "expected a number of seconds")
    if not 0 < value <= MAX_STEP_TIMEOUT:
        raise c.fail(keys, f"must be above 0 and at most {MAX_STEP_TIMEOUT:g} seconds")
    return float(value)
