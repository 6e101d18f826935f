"""A blueprint's variables as a JSON Schema (draft 2020-12) that a client can build a form from.

Keywords JSON Schema has no word for are extension keywords: ``x-when`` (the Jinja
condition under which a variable is asked), ``x-expr`` (expression validators),
``x-default-expr`` (a default computed from earlier answers), ``x-secret`` and
``x-order``. Secrets never carry their default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codeforge.templates.schema import MISSING, Blueprint, Variable

_JSON_TYPES: dict[str, str] = {
    "str": "string",
    "secret": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "multichoice": "array",
    "dict": "object",
}


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _choices(var: Variable) -> tuple[list[Any], list[str]] | None:
    """Static choices as (values, labels); None when they are a Jinja string."""
    if isinstance(var.choices, list):
        return list(var.choices), [str(c) for c in var.choices]
    if isinstance(var.choices, dict):
        return list(var.choices.values()), [str(k) for k in var.choices]
    return None


def _choice_type(values: Sequence[Any]) -> str | list[str] | None:
    kinds: list[str] = []
    for value in values:
        kind = (
            "boolean"
            if isinstance(value, bool)
            else "integer"
            if isinstance(value, int)
            else "number"
            if isinstance(value, float)
            else "null"
            if value is None
            else "string"
            if isinstance(value, str)
            else None
        )
        if kind is None:
            return None
        if kind not in kinds:
            kinds.append(kind)
    return kinds[0] if len(kinds) == 1 else kinds


def _type_schema(var: Variable) -> dict[str, Any]:
    """``type``, ``enum`` and ``items`` of one variable (or its choices expression)."""
    schema: dict[str, Any] = {}
    choices = _choices(var) if var.type in ("choice", "multichoice") else None
    if var.type == "choice":
        if choices is not None:
            values, labels = choices
            schema["enum"] = values
            schema["x-enum-labels"] = labels
            kind = _choice_type(values)
            if kind is not None:
                schema["type"] = kind
        else:
            schema["x-choices-expr"] = var.choices
    elif var.type == "multichoice":
        schema["type"] = "array"
        schema["uniqueItems"] = True
        if choices is not None:
            values, labels = choices
            schema["items"] = {"enum": values, "x-enum-labels": labels}
        else:
            schema["x-choices-expr"] = var.choices
    else:
        schema["type"] = _JSON_TYPES[var.type]
    return schema


def variable_schema(var: Variable, order: int = 0) -> dict[str, Any]:
    """The JSON Schema of one variable."""
    schema: dict[str, Any] = {"title": var.name, "x-order": order, "x-type": var.type}
    if var.help:
        schema["description"] = var.help
    schema.update(_type_schema(var))
    if var.secret:
        schema["format"] = "password"
        schema["writeOnly"] = True
        schema["x-secret"] = True
    elif var.default is not MISSING:
        if _is_expression(var.default):
            schema["x-default-expr"] = var.default
        else:
            schema["default"] = var.default
    if var.when is not None:
        schema["x-when"] = var.when
    expressions = []
    for check in var.validators:
        if check.kind == "regex":
            # A Python (regex module) pattern, anchored as the engine does (fullmatch).
            schema["pattern"] = f"^(?:{check.value})$"
        elif check.kind == "min":
            schema["minimum"] = check.value
        elif check.kind == "max":
            schema["maximum"] = check.value
        elif check.kind in ("min_length", "max_length"):
            word = "min" if check.kind == "min_length" else "max"
            suffix = "Items" if schema.get("type") == "array" else "Length"
            if schema.get("type") == "object":
                suffix = "Properties"
            schema[f"{word}{suffix}"] = check.value
        elif check.kind == "expr":
            expressions.append(
                {"expr": check.value, **({"message": check.message} if check.message else {})}
            )
        if check.message and check.kind != "expr":
            schema.setdefault("x-messages", {})[check.kind] = check.message
    if expressions:
        schema["x-expr"] = expressions
    return schema


def variables_schema(
    variables: Sequence[Variable], *, title: str = "", description: str = ""
) -> dict[str, Any]:
    """The JSON Schema of an answers object for ``variables``.

    ``required`` lists the variables without any default: a request must give them.
    Unknown answers are refused by the engine, hence ``additionalProperties: false``.
    """
    properties = {var.name: variable_schema(var, i) for i, var in enumerate(variables)}
    required = [v.name for v in variables if v.default is MISSING]
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if title:
        schema["title"] = title
    if description:
        schema["description"] = description
    if required:
        schema["required"] = required
    return schema


def blueprint_schema(bp: Blueprint) -> dict[str, Any]:
    """The JSON Schema of ``bp``'s answers."""
    return variables_schema(
        bp.variables, title=f"{bp.name} {bp.version}", description=bp.description
    )
