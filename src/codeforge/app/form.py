"""A blueprint's questions as a form: what each field shows, and the answers a form sends.

The web page builds its form from this: each field's type, help and pattern are
those of the variable's JSON Schema (:func:`codeforge.core.schema_export.variable_schema`,
what the API serves). Visibility (``when``), choices (static or
computed), computed defaults and every error come from the same code the engine
answers with (:mod:`codeforge.core.answers`), so a field shows the message the CLI
and the API give. The form only collects text: the answers it sends go through the
engine again (preview, zip), which stays the one judge of what is valid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from codeforge.app import catalog
from codeforge.app.context import AppContext
from codeforge.app.marketplace import Caller
from codeforge.core.answers import Evaluator, choice_pairs, convert, validate
from codeforge.core.engine import check_project_name
from codeforge.core.schema_export import variable_schema
from codeforge.errors import CodeForgeError, ValidationError
from codeforge.templates.schema import MISSING, Blueprint, Variable

Submitted = Mapping[str, str | list[str]]  # a variable's raw form value(s)
FIELD_KINDS = {"str": "text", "int": "number", "float": "number", "list": "text", "dict": "text"}


@dataclasses.dataclass(frozen=True)
class Field:
    """One question as a form field."""

    name: str
    type: str  # the variable's type
    help: str
    shown: bool  # its ``when`` holds for the answers before it
    required: bool
    text: str  # the value to show (never a secret's)
    selected: tuple[str, ...]  # choice/multichoice: the chosen values, as text
    choices: tuple[tuple[str, str], ...]  # (label, value as text)
    pattern: str | None  # the schema's anchored regex (Python syntax, checked on the server)
    error: str | None


@dataclasses.dataclass(frozen=True)
class FormState:
    blueprint: Blueprint
    fields: list[Field]
    answers: dict[str, str | list[str]]  # what to send the engine: shown fields only
    errors: dict[str, str]  # by variable ('' for the form as a whole)


def _text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return str(value)


def _default(var: Variable, evaluator: Evaluator, context: Mapping[str, Any]) -> Any:
    """The blueprint's default (computed over earlier answers), or MISSING."""
    if var.secret or var.default is MISSING:
        return MISSING
    default = var.default
    if isinstance(default, str) and ("{{" in default or "{%" in default):
        default = evaluator.render(default, context, f"variables.{var.name}.default")
    return default


def _field(
    var: Variable,
    evaluator: Evaluator,
    context: dict[str, Any],
    submitted: Submitted | None,
) -> tuple[Field, str | list[str] | None]:
    """The field of ``var`` and the raw answer to send (None: let the engine default it)."""
    pairs = choice_pairs(var, evaluator, context) if var.type in ("choice", "multichoice") else []
    shown = var.when is None or evaluator.truth(var.when, context, f"variables.{var.name}.when")
    raw = submitted.get(var.name) if submitted is not None and shown else None
    error: str | None = None
    value: Any = MISSING
    if raw is not None:
        try:
            value = convert(var, raw, pairs)
            validate(var, value, evaluator, context)
        except ValidationError as exc:
            error = exc.message
    if value is MISSING or error is not None:
        try:
            default = _default(var, evaluator, context)
            value = MISSING if default is MISSING else convert(var, default, pairs)
        except CodeForgeError:
            value = MISSING
    if value is not MISSING:
        context[var.name] = value
    shown_value: Any = raw if error is not None else value
    selected = shown_value if isinstance(shown_value, list) else [shown_value]
    schema = variable_schema(var)  # what GET /api/v1/blueprints/{name} says of the field
    field = Field(
        name=var.name,
        type=schema["x-type"],
        help=schema.get("description", ""),
        shown=shown,
        required=var.required and var.default is MISSING,
        text="" if var.secret or isinstance(shown_value, list) else _text(shown_value),
        selected=tuple(_text(v) for v in selected if v is not MISSING),
        choices=tuple((label, _text(choice)) for label, choice in pairs),
        pattern=schema.get("pattern"),
        error=error,
    )
    return field, raw


def form_state(
    ctx: AppContext,
    template: str,
    name: str,
    form: Mapping[str, Sequence[str]] | None,
    version: str | None = None,
    *,
    caller: Caller,
) -> FormState:
    """The form of ``template``'s questions, filled from the posted ``form`` (fields
    ``v.NAME``; None: defaults only)."""
    engine, ref = catalog.resolve(ctx, template, version, caller=caller)
    bp = engine.load_blueprint(ref, allow_local=False).blueprint
    submitted = None if form is None else submitted_values(bp.variables, form)
    errors: dict[str, str] = {}
    if submitted is not None:
        try:
            check_project_name(name)
        except CodeForgeError as exc:
            errors["name"] = exc.message
    env = engine.environment(bp.template_root)
    try:
        evaluator = Evaluator(env)
        context: dict[str, Any] = engine.base_context(name or "project")
        fields: list[Field] = []
        answers: dict[str, str | list[str]] = {}
        for var in bp.variables:
            try:
                field, raw = _field(var, evaluator, context, submitted)
            except CodeForgeError as exc:
                errors[var.name] = exc.message
                continue
            fields.append(field)
            if field.error is not None:
                errors[var.name] = field.error
            if raw is not None:
                answers[var.name] = raw
    finally:
        engine.parts.environments.close(env)
    return FormState(bp, fields, answers, errors)


def submitted_values(
    variables: Sequence[Variable], form: Mapping[str, Sequence[str]], prefix: str = "v."
) -> dict[str, str | list[str]]:
    """The raw answers a posted form holds for ``variables`` (fields named ``prefix + name``).

    A checkbox posts a hidden ``false`` then ``true`` when ticked, so the last value
    counts; a multichoice posts a hidden empty marker then each ticked value.
    """
    values: dict[str, str | list[str]] = {}
    for var in variables:
        posted = list(form.get(prefix + var.name, ()))
        if not posted:
            continue
        if var.type == "multichoice":
            values[var.name] = [v for v in posted if v != ""]
        else:
            values[var.name] = posted[-1]
    return values
