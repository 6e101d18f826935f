"""copier questions: types, casts, choices, validators, defaults and prompting, by copier's rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import yaml

from codeforge.core.answers import Evaluator, Prompter
from codeforge.errors import BlueprintError, ValidationError
from codeforge.templates.schema import (
    MISSING,
    Variable,
)

TYPES = ("str", "int", "float", "bool", "json", "yaml", "path")
HIDDEN = "_copier_hidden"  # answers to `when: false` questions: in the context, not recorded
_TRUE = frozenset({"y", "yes", "t", "true", "on"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "~", "null", "none"})


def cast_to_bool(value: Any) -> bool:
    """copier's cast: a number, then YAML-ish words, then Python truth."""
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if not lower or lower in _FALSE:
            return False
        if lower in _TRUE:
            return True
    return bool(value)


def _cast_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if (isinstance(value, float | int) and not isinstance(value, bool)) or isinstance(value, bool):
        return str(value)
    raise ValueError(f"could not convert {value!r} to text")


def _yaml(value: Any) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


CASTS: dict[str, Any] = {
    "bool": cast_to_bool,
    "float": float,
    "int": int,
    "json": json.loads,
    "str": _cast_str,
    "yaml": _yaml,
    "path": str,
}


def infer_type(default: Any) -> str:
    name = type(default).__name__
    return name if name in CASTS else "yaml"


class ValueRenderer(Protocol):
    """Renders a question's templated value (the template's spec object)."""

    def _render_value(
        self, evaluator: Evaluator, value: Any, ctx: Mapping[str, Any], origin: str
    ) -> Any: ...


class Question:
    def __init__(
        self,
        spec_owner: ValueRenderer,
        name: str,
        spec: Mapping[str, Any],
        evaluator: Evaluator,
        ctx: Mapping[str, Any],
    ) -> None:
        self.owner = spec_owner
        self.name = name
        self.spec = spec
        self.evaluator = evaluator
        self.ctx = ctx
        self.origin = f"copier.yml: {name}"

    def render(self, value: Any, extra: Mapping[str, Any] | None = None) -> Any:
        ctx = {**self.ctx, **(extra or {})}
        return self.owner._render_value(self.evaluator, value, ctx, self.origin)

    def type_name(self) -> str:
        raw = self.spec.get("type", "")
        name = self.render(raw) if raw else infer_type(self.spec.get("default", MISSING))
        if name not in CASTS:
            raise BlueprintError(f"unsupported type {name!r}", where=self.origin)
        return str(name)

    def when(self) -> bool:
        return cast_to_bool(self.render(self.spec.get("when", True)))

    def cast(self, value: Any) -> Any:
        type_name = self.type_name()
        if value is None and type_name not in ("json", "yaml"):
            raise ValidationError(f"invalid answer None for a {type_name}", variable=self.name)
        try:
            if self.spec.get("multiselect") and isinstance(value, list):
                return [CASTS[type_name](v) for v in value]
            return CASTS[type_name](value)
        except (TypeError, AttributeError, ValueError) as exc:
            if type_name in ("json", "yaml") and not isinstance(exc, ValueError):
                return value
            raise ValidationError(
                f"{value!r} is not a valid {type_name}: {exc}", variable=self.name
            ) from exc

    def choices(self) -> list[tuple[str, Any, str]]:
        """(label, value, disabled-message) triples, rendered."""
        raw = self.spec.get("choices")
        if not raw:
            return []
        if isinstance(raw, str):
            raw = _yaml(self.render(raw))
        items = list(raw.items()) if isinstance(raw, dict) else list(raw)
        result = []
        for item in items:
            if isinstance(item, tuple | list):
                label, value = item
            else:
                label = value = item
            disabled = ""
            if isinstance(item, tuple | list) and isinstance(value, dict):
                if "value" not in value:
                    raise BlueprintError("a choice mapping needs `value`", where=self.origin)
                disabled = str(self.render(value.get("validator", "")))
                value = value["value"]
            value = self.render(value)
            self.cast(value)
            result.append((str(self.render(label)), value, disabled))
        return result

    def parse(self, answer: Any) -> Any:
        choices = self.choices()
        if self.spec.get("multiselect"):
            if isinstance(answer, str):
                answer = (
                    _yaml(answer)
                    if answer.strip().startswith("[")
                    else [a.strip() for a in answer.split(",") if a.strip()]
                )
            if not isinstance(answer, list):
                raise ValidationError("expected a list", variable=self.name)
            picked = [self._one(a, choices) for a in answer]
            ordered = [self.cast(v) for _, v, _ in choices]
            return [c for c in ordered if c in picked]
        return self._one(answer, choices)

    def _one(self, answer: Any, choices: list[tuple[str, Any, str]]) -> Any:
        value = self.cast(answer)
        if not choices:
            return value
        valid = []
        for _label, choice, disabled in choices:
            cast = self.cast(choice)
            if not disabled:
                valid.append(cast)
            if value == cast:
                if disabled:
                    raise ValidationError(f"invalid choice: {disabled}", variable=self.name)
                return value
        raise ValidationError(f"{value!r} is not in {valid}", variable=self.name)

    def default(self, *, validate: bool) -> Any:
        raw = self.spec.get("default", MISSING)
        if raw is MISSING:
            return MISSING
        value = self.parse(self.render(raw))
        if validate:
            self.validate(value)
        return value

    def validate(self, value: Any) -> None:
        template = self.spec.get("validator", "")
        if not template:
            return
        message = str(self.render(template, {self.name: value})).strip()
        if message:
            raise ValidationError(message, variable=self.name)

    def ask(self, prompter: Prompter, var: Variable | None, default: Any) -> Any:
        assert var is not None
        pairs = [(label, value) for label, value, disabled in self.choices() if not disabled]
        error: str | None = None
        for _ in range(100):
            raw = prompter.ask(var, None if default is MISSING else default, pairs or None, error)
            try:
                value = self.parse(raw)
                self.validate(value)
                return value
            except ValidationError as exc:
                error = exc.message
        raise ValidationError("too many invalid answers", variable=self.name)
