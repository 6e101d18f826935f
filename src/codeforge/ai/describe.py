"""Describe a project in words → a blueprint and its answers.

The blueprint comes from :mod:`codeforge.ai.recommend` (the model only breaks
near-ties, constrained to the tied names). The answers come from the model
under a JSON Schema built from the blueprint's own variables, so the output is
structured by construction. Only the variables the description mentions are
asked (:func:`focus`), each with the words that mention it; the rest keep their
defaults. Each value is checked again here and dropped when it does not fit;
:func:`codeforge.ai.bridge.check_answers` then runs the engine's own validation.
Secret variables are never asked of a model.
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
from codeforge.errors import NotFoundError

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


# -- which variables a description mentions ------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9][a-z0-9.+#_-]*[a-z0-9+#]|[a-z0-9]")
_CLAUSE = re.compile(r"[,;:()]|\b(?:and|with|but|using|plus|on|in|for|by)\b", re.IGNORECASE)
# Words too common in project descriptions to say which question they answer.
_GENERIC = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "and",
        "or",
        "with",
        "without",
        "no",
        "not",
        "on",
        "in",
        "by",
        "use",
        "uses",
        "using",
        "add",
        "adds",
        "enable",
        "name",
        "names",
        "version",
        "versions",
        "type",
        "project",
        "projects",
        "python",
        "app",
        "application",
        "service",
        "services",
        "api",
        "apis",
        "web",
        "tests",
        "test",
        "run",
        "runs",
        "reads",
        "minimum",
        "one",
        "line",
        "default",
        "file",
        "files",
        "support",
    ]
)


def _tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if t not in _GENERIC}


def keywords(var: VariableInfo) -> set[str]:
    """The words that, in a description, point at ``var``: its name, help and choices."""
    words = {p for p in var.name.lower().split("_") if len(p) >= 2} - _GENERIC
    words |= {t for t in _tokens(var.help) if len(t) >= 4 or any(c.isdigit() for c in t)}
    for choice in var.choices:
        text = str(choice).lower()
        if text in ("none", "true", "false", "other"):
            continue
        words.add(text)
        words |= {t for t in re.split(r"[^a-z0-9.]+", text) if len(t) >= 3}
    return words


def _matches(token: str, keyword: str) -> bool:
    if token == keyword:
        return True
    short = min(len(token), len(keyword))
    # "postgres" / "postgresql", "docker" / "dockerfile"; digits only exactly ("3.1" ≠ "3.12").
    return (
        short >= 4
        and not any(c.isdigit() for c in token + keyword)
        and (token.startswith(keyword) or keyword.startswith(token))
    )


def mentions(description: str, var: VariableInfo) -> list[str]:
    """The clauses of ``description`` that mention ``var`` (empty: not mentioned)."""
    keys = keywords(var)
    clauses = [c.strip() for c in _CLAUSE.split(description) if c and c.strip()]
    found = []
    for clause in clauses:
        if any(_matches(t, k) for t in _tokens(clause) for k in keys):
            found.append(clause)
    return found


_NEGATION = re.compile(r"\b(?:no|not|without|non|never|none)\b", re.IGNORECASE)


def _named_choices(var: VariableInfo, clauses: Sequence[str]) -> list[Any]:
    """The choices of ``var`` the clauses name (by value or a word of it)."""
    words = set().union(*(_tokens(c) for c in clauses)) if clauses else set()
    named = []
    for choice in var.choices:
        text = str(choice).lower()
        keys = {text} | {t for t in re.split(r"[^a-z0-9.]+", text) if len(t) >= 3}
        if text not in ("none", "other") and any(_matches(w, k) for w in words for k in keys):
            named.append(choice)
    return named


def _narrowed(var: VariableInfo, clauses: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Limit a choice to the choices its clauses name (and "none" after a negation).

    A small model picks poorly among many choices ("PostgreSQL" → none); when the
    description names some, the answer is one of them. Nothing named: all choices.
    """
    named = _named_choices(var, clauses)
    if any(_NEGATION.search(c) for c in clauses):
        named += [c for c in var.choices if str(c).lower() in ("none", "no") and c not in named]
    return {**schema, "enum": named} if named else schema


def _grounded(value: Any, description: str) -> bool:
    """A free-text answer must be quoted from the description (no invented names)."""
    return isinstance(value, str) and bool(value.strip()) and value.lower() in description.lower()


def _free_text(var: VariableInfo) -> bool:
    return var.type == "str" and not var.choices and var.default in (None, "")


def focus(description: str, bp: BlueprintInfo) -> dict[str, list[str]]:
    """The askable variables to ask about, each with the clauses that mention it.

    Only variables the description mentions are asked (the others keep their
    defaults, so the model cannot change what nobody asked to change); free-text
    variables with an empty default (author, e-mail) are always asked, with no clause.
    """
    asked: dict[str, list[str]] = {}
    unmentioned: list[str] = []
    for var in bp.variables:
        if not askable(var):
            continue
        found = mentions(description, var)
        if found:
            asked[var.name] = found
        elif _free_text(var):
            unmentioned.append(var.name)
    # Mentioned first: a small model answering an empty text first drifts on the rest.
    return {**asked, **{name: [] for name in unmentioned}}


FREE_TEXT_CHARS = 80
FOCUSED_PROMPT = (
    "You fill in the settings of a project generator from a project description. "
    "Each setting comes with the words of the description that mention it: choose the "
    "value those words ask for. 'no X', 'without X' or 'not X' means false, or the "
    "choice none. A text setting the description does not give stays an empty string. "
    "Reply with JSON only."
)


def _focused_lines(bp: BlueprintInfo, asked: Mapping[str, list[str]]) -> str:
    lines = []
    by_name = {v.name: v for v in bp.variables}
    for var in (by_name[name] for name in asked):
        if var.choices:
            kind = "one of " + ", ".join(json.dumps(c) for c in var.choices)
        elif var.type == "bool":
            kind = "true or false"
        else:
            kind = {"int": "a whole number", "float": "a number"}.get(var.type, "text")
        line = f"- {var.name} ({kind}): {var.help or var.name}."
        if asked[var.name]:
            line += " The description says: " + "; ".join(json.dumps(c) for c in asked[var.name])
            named = _named_choices(var, asked[var.name])
            if named:
                line += " — naming " + ", ".join(json.dumps(c) for c in named)
            if any(_NEGATION.search(c) for c in asked[var.name]):
                line += " — with a negation"
        else:
            line += (
                ' Quote it if the description gives it, else answer "".' if _free_text(var) else ""
            )
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


def _focused_request(
    description: str, bp: BlueprintInfo, max_tokens: int
) -> tuple[dict[str, Any], int, str, str]:
    """The schema, token budget, system prompt and questions for the variables asked about."""
    full = answers_schema(bp)
    asked = focus(description, bp)
    props = {k: full["properties"][k] for k in asked if k in full["properties"]}
    for var in bp.variables:
        if var.name not in props:
            continue
        if _free_text(var):
            props[var.name] = {"maxLength": FREE_TEXT_CHARS, **props[var.name]}
        elif var.type == "choice" and asked[var.name]:
            props[var.name] = _narrowed(var, asked[var.name], props[var.name])
    schema = {**full, "properties": props, "required": list(props)}
    return schema, min(max_tokens, 16 + 24 * len(props)), FOCUSED_PROMPT, _focused_lines(bp, asked)


def fill_answers(
    provider: Provider,
    description: str,
    bp: BlueprintInfo,
    *,
    max_tokens: int = 256,
    focused: bool = True,
) -> dict[str, Any]:
    """Answers for ``bp``'s askable variables, constrained by their JSON Schema.

    ``focused`` (the default) asks only about the variables the description
    mentions (see :func:`focus`), quoting the words that mention each; the others
    are left out so their defaults apply. ``focused=False`` asks every askable
    variable at once (the first version; kept to compare quality).
    """
    if focused:
        schema, max_tokens, system, questions = _focused_request(description, bp, max_tokens)
    else:
        schema, system, questions = answers_schema(bp), SYSTEM_PROMPT, _question_lines(bp)
    if not schema["properties"]:
        return {}
    messages = [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": (
                f"Project description: {description}\n\n"
                f"Blueprint: {bp.name} — {bp.description}\n"
                f"Settings:\n{questions}\n\n"
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
    answers = _keep_valid(data, bp)
    if focused:
        # Free text the description does not contain is invented: the default applies.
        free = {v.name for v in bp.variables if _free_text(v)}
        answers = {k: v for k, v in answers.items() if k not in free or _grounded(v, description)}
    return answers


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
