"""Answers: one precedence chain and one validator for every way values come in.

explicit data (``--data``, ``--data-file``, API body) > answers saved in the
project > user config defaults > blueprint defaults (Jinja over earlier answers).
Values are converted by the variable's type and checked against choices and
validators here, so the CLI prompt, a flag and an API request get the same
messages. A user's value is never rendered as a template.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from codeforge.core.answersfile import FALSE_WORDS, TRUE_WORDS
from codeforge.errors import TemplateError, ValidationError
from codeforge.templates.environment import CodeForgeEnvironment, render_error
from codeforge.templates.schema import MISSING, Variable

MAX_TEXT = 64 * 1024
REGEX_TIMEOUT = 0.5


class Prompter(Protocol):
    """Asks one question; returns the raw answer (text or value)."""

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any: ...


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


class Evaluator:
    """Renders blueprint-authored expressions (defaults, when, choices, validators)."""

    def __init__(self, env: CodeForgeEnvironment) -> None:
        self.env = env

    def render(self, text: str, context: Mapping[str, Any], origin: str) -> str:
        try:
            return self.env.template_from_source(text, origin).render(context)
        except TemplateError as exc:
            exc.where = exc.where or origin
            raise
        except Exception as exc:
            raise render_error(exc, origin) from exc

    def truth(self, expr: str, context: Mapping[str, Any], origin: str) -> bool:
        if _is_template(expr):
            return self.render(expr, context, origin).strip().lower() not in FALSE_WORDS | {"none"}
        try:
            return bool(self.env.compile_expression(expr, undefined_to_none=False)(**context))
        except TemplateError:
            raise
        except Exception as exc:
            raise render_error(exc, origin) from exc


def choice_pairs(
    var: Variable, evaluator: Evaluator, context: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """The (label, value) pairs of a choice variable, computing them when templated."""
    choices = var.choices
    if isinstance(choices, str):
        text = evaluator.render(choices, context, f"variables.{var.name}.choices")
        import yaml

        try:
            choices = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(
                f"computed choices are not a YAML/JSON list: {exc}",
                where=f"variables.{var.name}.choices",
            ) from exc
        if not isinstance(choices, list) or not choices:
            raise TemplateError(
                "computed choices must render a non-empty list",
                where=f"variables.{var.name}.choices",
            )
    if isinstance(choices, dict):
        return [(str(label), value) for label, value in choices.items()]
    return [(str(value), value) for value in choices or []]


def _parse_structured(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return MISSING


def convert(var: Variable, value: Any, pairs: Sequence[tuple[str, Any]] | None = None) -> Any:
    """Convert ``value`` (text from a flag or prompt, or typed from a file/API) to the variable's type."""
    t = var.type
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise _bad(var, f"the value is longer than {MAX_TEXT} characters")
    if t in ("str", "secret"):
        if not isinstance(value, str):
            raise _bad(var, f"expected text, got {_kind(value)}")
        return value
    if t == "choice":
        return _match_choice(var, value, pairs or [])
    if t in ("multichoice", "list"):
        return _to_list(var, value, pairs or [])
    if t == "dict":
        mapping = _parse_structured(value) if isinstance(value, str) else value
        if not isinstance(mapping, dict):
            raise _bad(var, f"expected a mapping (JSON or YAML), got {_kind(value)}")
        return mapping
    scalar = _SCALARS.get(t)
    if scalar is None:  # pragma: no cover - the schema refuses it
        raise _bad(var, f"unknown type {t}")
    return scalar(var, value)


def _bad(var: Variable, why: str) -> ValidationError:
    return ValidationError(why, variable=var.name)


def _to_bool(var: Variable, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise _bad(var, f"expected yes/no (true/false), got {value!r}")


def _to_int(var: Variable, value: Any) -> int:
    if isinstance(value, bool):
        raise _bad(var, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip().replace("_", ""), 10)
        except ValueError:
            pass
    raise _bad(var, f"expected an integer, got {value!r}")


def _to_float(var: Variable, value: Any) -> float:
    if isinstance(value, bool):
        raise _bad(var, f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            pass
        else:
            if number == number and abs(number) != float("inf"):
                return number
    raise _bad(var, f"expected a number, got {value!r}")


_SCALARS: dict[str, Callable[[Variable, Any], Any]] = {
    "bool": _to_bool,
    "int": _to_int,
    "float": _to_float,
}


def _to_list(var: Variable, value: Any, pairs: Sequence[tuple[str, Any]]) -> list[Any]:
    """A list (multichoice: of choices) from a list, JSON/YAML text or comma-separated text."""
    items = value
    if isinstance(value, str):
        stripped = value.strip()
        parsed = _parse_structured(stripped) if stripped.startswith("[") else MISSING
        if isinstance(parsed, list):
            items = parsed
        else:
            items = [p.strip() for p in stripped.split(",") if p.strip()] if stripped else []
    if not isinstance(items, list | tuple):
        raise _bad(var, f"expected a list, got {_kind(value)}")
    if var.type == "multichoice":
        return [_match_choice(var, item, pairs) for item in items]
    for item in items:
        if isinstance(item, dict | list):
            continue
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise _bad(var, f"list items must be plain values, got {_kind(item)}")
    return list(items)


def _match_choice(var: Variable, value: Any, pairs: Sequence[tuple[str, Any]]) -> Any:
    for _, choice in pairs:
        if value == choice and type(value) is type(choice):
            return choice
    if isinstance(value, str):
        for label, choice in pairs:
            if (
                value == label
                or value == str(choice)
                or (isinstance(choice, bool) and value.lower() == str(choice).lower())
            ):
                return choice
    allowed = ", ".join(label for label, _ in pairs)
    raise ValidationError(f"{value!r} is not one of the choices: {allowed}", variable=var.name)


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def validate(var: Variable, value: Any, evaluator: Evaluator, context: Mapping[str, Any]) -> None:
    """Check ``value`` against the variable's validators; raise ValidationError on the first failure."""
    if var.type in ("str", "secret") and var.required and value == "":
        raise ValidationError("a value is required", variable=var.name)
    for check in var.validators:
        message = check.message
        kind, arg = check.kind, check.value
        if kind == "regex":
            import regex

            try:
                ok = regex.fullmatch(arg, str(value), timeout=REGEX_TIMEOUT) is not None
            except TimeoutError:
                raise ValidationError(
                    f"the pattern {arg!r} took too long on this value", variable=var.name
                ) from None
            if not ok:
                raise ValidationError(
                    message or f"{value!r} does not match {arg}", variable=var.name
                )
        elif kind in ("min", "max"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if (kind == "min" and value < arg) or (kind == "max" and value > arg):
                word = "at least" if kind == "min" else "at most"
                raise ValidationError(
                    message or f"must be {word} {arg} (got {value})", variable=var.name
                )
        elif kind in ("min_length", "max_length"):
            size = len(value) if isinstance(value, str | list | dict) else None
            if size is None:
                continue
            if (kind == "min_length" and size < arg) or (kind == "max_length" and size > arg):
                word = "at least" if kind == "min_length" else "at most"
                raise ValidationError(
                    message or f"length must be {word} {arg} (got {size})", variable=var.name
                )
        elif kind == "expr":
            scope = {**context, "value": value}
            if not evaluator.truth(arg, scope, f"variables.{var.name}.validators"):
                raise ValidationError(
                    message or f"{value!r} failed the check {arg}", variable=var.name
                )


def resolve_answers(
    variables: Sequence[Variable],
    evaluator: Evaluator,
    *,
    base: Mapping[str, Any],
    explicit: Mapping[str, Any],
    saved: Mapping[str, Any] | None = None,
    config_defaults: Mapping[str, Any] | None = None,
    prompter: Prompter | None = None,
    known_extra: Sequence[str] = ("project_name",),
) -> dict[str, Any]:
    """Resolve every variable in order and return the answers (secrets included)."""
    names = {v.name for v in variables}
    unknown = sorted(set(explicit) - names - set(known_extra))
    if unknown:
        raise ValidationError(
            f"unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"known: {', '.join(v.name for v in variables) or 'none'}",
        )
    saved = saved or {}
    config_defaults = config_defaults or {}
    answers: dict[str, Any] = {}
    context: dict[str, Any] = dict(base)
    for var in variables:
        pairs = (
            choice_pairs(var, evaluator, context) if var.type in ("choice", "multichoice") else None
        )
        asked = var.when is None or evaluator.truth(var.when, context, f"variables.{var.name}.when")
        if var.name in explicit:
            value = convert(var, explicit[var.name], pairs)
            validate(var, value, evaluator, context)
        else:
            default = _default(var, evaluator, context, saved, config_defaults, pairs)
            if asked and prompter is not None:
                value = _ask(var, default, pairs, prompter, evaluator, context)
            elif default is MISSING and not asked:
                value = None  # not asked and nothing to fall back on: no value (falsy)
            elif default is MISSING:
                raise ValidationError(
                    "no value given and the variable has no default",
                    variable=var.name,
                    hint=f"pass --data {var.name}=VALUE",
                )
            else:
                value = default
                if asked:
                    validate(var, value, evaluator, context)
        answers[var.name] = value
        context[var.name] = value
    return answers


def _default(
    var: Variable,
    evaluator: Evaluator,
    context: Mapping[str, Any],
    saved: Mapping[str, Any],
    config_defaults: Mapping[str, Any],
    pairs: Sequence[tuple[str, Any]] | None,
) -> Any:
    for layer in (saved, config_defaults):
        # None is what a variable got while its `when` was false: no value to reuse.
        if layer.get(var.name) is not None and not var.secret:
            return convert(var, layer[var.name], pairs)
    default = var.default
    if default is MISSING:
        if var.type == "bool":
            return False
        if var.type in ("multichoice", "list"):
            return []
        if var.type == "dict":
            return {}
        if var.type == "choice" and pairs:
            return pairs[0][1]
        if not var.required and var.type in ("str", "secret"):
            return ""
        return MISSING
    if isinstance(default, str) and _is_template(default):
        default = evaluator.render(default, context, f"variables.{var.name}.default")
    elif isinstance(default, list | dict):
        default = json.loads(json.dumps(default))  # a private copy, never the blueprint's object
    return convert(var, default, pairs)


def _ask(
    var: Variable,
    default: Any,
    pairs: Sequence[tuple[str, Any]] | None,
    prompter: Prompter,
    evaluator: Evaluator,
    context: Mapping[str, Any],
) -> Any:
    error: str | None = None
    for _ in range(100):
        raw = prompter.ask(var, None if default is MISSING else default, pairs, error)
        try:
            value = convert(var, raw, pairs)
            validate(var, value, evaluator, context)
            return value
        except ValidationError as exc:
            error = exc.message
    raise ValidationError("too many invalid answers", variable=var.name)


def public_answers(variables: Sequence[Variable], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers safe to store: secrets removed."""
    secret = {v.name for v in variables if v.secret}
    return {k: v for k, v in answers.items() if k not in secret}


class OnlyNew:
    """A prompter that asks only questions without a recorded answer (or whose answer is now invalid).

    ``codeforge update`` wraps the user's prompter in it: recorded answers are kept.
    """

    def __init__(self, prompter: Prompter, saved: Mapping[str, Any]) -> None:
        self.prompter = prompter
        self.saved = saved

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        """The recorded answer when it is still valid, else the wrapped prompter's."""
        if variable.name in self.saved and error is None:
            return default
        return self.prompter.ask(variable, default, choices, error)
