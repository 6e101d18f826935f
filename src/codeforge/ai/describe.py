"""Describe a project in words → a blueprint and its answers.

The blueprint comes from :mod:`codeforge.ai.recommend` (the model only breaks
near-ties, constrained to the tied names). The answers come from the model
under a JSON Schema built from the blueprint's own variables, so the output is
structured by construction; each value is then checked again here and dropped
(the default applies) when it does not fit. Secret variables are never asked
of a model. The caller runs the engine's normal validation on the result.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from codeforge.ai.catalog import BlueprintInfo, VariableInfo
from codeforge.ai.errors import AIProviderError
from codeforge.core.errors import NotFoundError

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider
    from codeforge.ai.recommend import Recommendation, Recommender

_JINJA = re.compile(r"{{|{%")
_SIMPLE = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}

SYSTEM_PROMPT = (
    "You configure a project generator. Read the project description, then answer every "
    "question of the blueprint. When the description mentions a technology, tool or value "
    "that matches a question (for example PostgreSQL, Docker, GitHub, a port number), "
    "answer with it; otherwise keep the default. Reply with JSON only.\n"
    "Example: for 'a blog on MongoDB, shipped as containers, tested on CircleCI' and "
    "questions store (one of none, sqlite, mongodb), containers (bool), tests_on (one of "
    'none, travis, circleci) the answer is {"store": "mongodb", "containers": true, '
    '"tests_on": "circleci"}.'
)


def askable(var: VariableInfo) -> bool:
    """Whether the model may answer ``var``: never secrets, never derived defaults."""
    if var.secret or var.type == "dict":
        return False
    if var.name == "project_name":
        return False
    return not (isinstance(var.default, str) and _JINJA.search(var.default))


def variable_schema(var: VariableInfo) -> dict[str, Any]:
    """The JSON Schema of one answer."""
    schema: dict[str, Any]
    if var.type == "choice" and var.choices:
        schema = {"enum": list(var.choices)}
    elif var.type == "multichoice" and var.choices:
        schema = {"type": "array", "items": {"enum": list(var.choices)}, "uniqueItems": True}
    elif var.type in ("list", "multichoice"):
        schema = {"type": "array", "items": {"type": "string"}}
    else:
        schema = {"type": _SIMPLE.get(var.type, "string")}
    for rule in var.validators:
        if var.type in ("int", "float"):
            if isinstance(rule.get("min"), int | float):
                schema["minimum"] = rule["min"]
            if isinstance(rule.get("max"), int | float):
                schema["maximum"] = rule["max"]
        elif schema.get("type") == "string":
            pattern = rule.get("regex")
            # llama.cpp's grammar converter needs an anchored pattern.
            if isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$"):
                schema["pattern"] = pattern
            if isinstance(rule.get("min_length"), int):
                schema["minLength"] = rule["min_length"]
            if isinstance(rule.get("max_length"), int):
                schema["maxLength"] = rule["max_length"]
    if var.help:
        schema["description"] = var.help
    return schema


def answers_schema(bp: BlueprintInfo) -> dict[str, Any]:
    """A strict JSON Schema for the askable answers of ``bp``."""
    props = {v.name: variable_schema(v) for v in bp.variables if askable(v)}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _question_lines(bp: BlueprintInfo) -> str:
    lines = []
    for var in bp.variables:
        if not askable(var):
            continue
        line = f"- {var.name} ({var.type}): {var.help or var.name}"
        if var.choices:
            line += f"; one of {json.dumps(list(var.choices))}"
        if var.default is not None:
            line += f" (if the description does not say: {json.dumps(var.default)})"
        lines.append(line)
    return "\n".join(lines)


def _keep_valid(data: Mapping[str, Any], bp: BlueprintInfo) -> dict[str, Any]:
    import importlib

    jsonschema = importlib.import_module("jsonschema")
    answers: dict[str, Any] = {}
    for var in bp.variables:
        if askable(var) and var.name in data:
            value = data[var.name]
            if jsonschema.Draft202012Validator(variable_schema(var)).is_valid(value):
                answers[var.name] = value
    return answers


@dataclass(frozen=True)
class DescribeResult:
    """The chosen blueprint, its answers and how they were reached."""

    blueprint: str
    answers: dict[str, Any]
    candidates: list[Recommendation] = field(default_factory=list)
    seconds: float = 0.0


def fill_answers(
    provider: Provider, description: str, bp: BlueprintInfo, *, max_tokens: int = 256
) -> dict[str, Any]:
    """Answers for ``bp``'s askable variables, constrained by their JSON Schema."""
    schema = answers_schema(bp)
    if not schema["properties"]:
        return {}
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": (
                f"Project description: {description}\n\n"
                f"Blueprint: {bp.name} — {bp.description}\n"
                f"Questions:\n{_question_lines(bp)}\n\n"
                f"Answer for the description: {description}"
            ),
        },
    ]
    result = provider.complete(
        messages, max_tokens=max_tokens, json_schema=schema, schema_name="answers"
    )
    try:
        data = json.loads(result.text)
    except ValueError as exc:
        raise AIProviderError(
            "the model's answers are not JSON", hint="raise max_tokens or use a larger model"
        ) from exc
    if not isinstance(data, dict):
        raise AIProviderError("the model's answers are not a JSON object")
    return _keep_valid(data, bp)


def break_tie(provider: Provider, description: str, candidates: Sequence[BlueprintInfo]) -> str:
    """Let the model pick one of ``candidates``; the answer is constrained to their names."""
    names = [bp.name for bp in candidates]
    listing = "\n".join(f"- {bp.name}: {bp.description}" for bp in candidates)
    schema = {
        "type": "object",
        "properties": {"blueprint": {"enum": names}},
        "required": ["blueprint"],
        "additionalProperties": False,
    }
    data, _ = provider.complete_json(
        [
            {"role": "system", "content": "Pick the blueprint that fits the project best."},
            {"role": "user", "content": f"Blueprints:\n{listing}\n\nProject: {description}"},
        ],
        schema,
        max_tokens=40,
        schema_name="choice",
    )
    return str(data["blueprint"])


def describe(
    description: str,
    blueprints: Sequence[BlueprintInfo],
    provider: Provider,
    recommender: Recommender,
    *,
    blueprint: str | None = None,
    tie_margin: float = 0.02,
) -> DescribeResult:
    """Pick a blueprint for ``description`` (unless given) and fill its answers."""
    started = time.monotonic()
    by_name = {bp.name: bp for bp in blueprints}
    candidates = recommender.rank(description, blueprints, top=3)
    if blueprint is None:
        if not candidates:
            raise NotFoundError("no blueprint matches the description")
        tied = [c for c in candidates if candidates[0].score - c.score <= tie_margin]
        if len(tied) > 1:
            blueprint = break_tie(provider, description, [by_name[c.name] for c in tied])
        else:
            blueprint = candidates[0].name
    if blueprint not in by_name:
        raise NotFoundError(f"unknown blueprint {blueprint!r}")
    answers = fill_answers(provider, description, by_name[blueprint])
    return DescribeResult(blueprint, answers, candidates, time.monotonic() - started)
