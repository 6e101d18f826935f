"""The AI layer on the engine: its blueprints as the catalog, its validation for answers.

:func:`engine_catalog` turns ``SDLCEngine.load_blueprints()`` (the built-ins)
into :class:`~codeforge.ai.catalog.CatalogEntry` objects for ranking and
describe. :func:`check_answers` runs a model's answers through the engine's own
``resolve_answers`` as explicit data: a value the engine refuses is dropped (so
the blueprint's default applies) and reported with the engine's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from codeforge.ai.catalog import CatalogEntry, VariableInfo
from codeforge.errors import CodeForgeError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from codeforge.ai.describe import DescribeResult
    from codeforge.ai.provider import Provider
    from codeforge.ai.recommend import Recommender
    from codeforge.core.engine import SDLCEngine
    from codeforge.templates.schema import Blueprint, Variable

PLACEHOLDER_NAME = "project"


def variable_info(var: Variable) -> VariableInfo:
    """The AI layer's view of one engine variable."""
    from codeforge.ai.catalog import _choices
    from codeforge.templates.schema import MISSING

    return VariableInfo(
        name=var.name,
        type=var.type,
        help=var.help,
        default=None if var.default is MISSING else var.default,
        choices=_choices(var.choices),
        validators=tuple({v.kind: v.value} for v in var.validators if v.kind != "expr"),
        when=var.when,
    )


def entry_from_blueprint(bp: Blueprint) -> CatalogEntry:
    """A :class:`CatalogEntry` for an engine blueprint."""
    return CatalogEntry(
        name=bp.name,
        description=bp.description,
        tags=tuple(bp.tags),
        variables=tuple(variable_info(v) for v in bp.variables),
        version=bp.version,
        path=bp.root,
    )


def engine_catalog(engine: SDLCEngine) -> list[CatalogEntry]:
    """The engine's blueprints (built-ins) as catalog entries, sorted by name."""
    return sorted((entry_from_blueprint(bp) for bp in engine.load_blueprints()), key=_by_name)


def _by_name(entry: CatalogEntry) -> str:
    return entry.name


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers the engine accepts, and the ones it refused with its reason."""

    answers: dict[str, Any]
    dropped: dict[str, str] = field(default_factory=dict)


def check_answers(
    engine: SDLCEngine,
    bp: Blueprint,
    answers: Mapping[str, Any],
    *,
    name: str = PLACEHOLDER_NAME,
    explicit: Mapping[str, Any] | None = None,
) -> CheckedAnswers:
    """Run ``answers`` through the engine's validation; drop (and report) what it refuses.

    ``explicit`` (the user's own ``--data``) is validated alongside and wins over a
    model answer for the same variable; its errors are raised, never dropped.
    Returned values are the engine's converted ones, for the model's variables only.
    """
    from codeforge.core.answers import Evaluator, resolve_answers

    explicit = dict(explicit or {})
    explicit.pop("project_name", None)
    kept = {k: v for k, v in answers.items() if k not in explicit and bp.variable(k) is not None}
    dropped: dict[str, str] = {
        k: "not a variable of the blueprint" for k in answers if bp.variable(k) is None
    }
    env = engine.environment(bp.template_root)
    try:
        for _ in range(len(kept) + 1):
            try:
                resolved = resolve_answers(
                    bp.variables,
                    Evaluator(env),
                    base=engine.base_context(name),
                    explicit={**kept, **explicit},
                    config_defaults=engine.config_defaults(bp),
                )
            except ValidationError as exc:
                variable = getattr(exc, "variable", None)
                if variable not in kept:
                    raise
                dropped[variable] = exc.message
                del kept[variable]
                continue
            return CheckedAnswers({k: resolved[k] for k in kept}, dropped)
    finally:
        if env.code_cache is not None:
            env.code_cache.close()
    raise ValidationError("the answers could not be validated")  # pragma: no cover


@dataclass(frozen=True)
class ProjectDescription:
    """What ``init --describe`` and the API get: the blueprint, its checked answers, why."""

    blueprint: Blueprint
    answers: dict[str, Any]
    dropped: dict[str, str]
    result: DescribeResult


def describe_project(
    engine: SDLCEngine,
    description: str,
    provider: Provider,
    recommender: Recommender,
    *,
    blueprint: str | None = None,
    explicit: Mapping[str, Any] | None = None,
    name: str = PLACEHOLDER_NAME,
    catalog: Sequence[CatalogEntry] | None = None,
    resolve: Callable[[str], Blueprint] | None = None,
) -> ProjectDescription:
    """Pick a blueprint (unless ``blueprint`` names one) and fill answers the engine accepts.

    ``catalog`` defaults to the engine's blueprints; ``resolve`` turns a name (or, by
    default, anything ``engine.load_blueprint`` accepts, such as a folder) into the
    engine blueprint. The model never sees secret variables.
    """
    from codeforge.ai.describe import describe

    def by_engine(ref: str) -> Blueprint:
        return _engine_blueprint(engine, ref)

    resolve = resolve or by_engine
    entries = list(catalog) if catalog is not None else engine_catalog(engine)
    chosen: Blueprint | None = None
    if blueprint is not None and blueprint not in {e.name for e in entries}:
        chosen = resolve(blueprint)
        entries.append(entry_from_blueprint(chosen))
        blueprint = chosen.name
    result = describe(description, entries, provider, recommender, blueprint=blueprint)
    if chosen is None:
        chosen = resolve(result.blueprint)
    checked = check_answers(engine, chosen, result.answers, name=name, explicit=explicit)
    return ProjectDescription(chosen, checked.answers, checked.dropped, result)


def _engine_blueprint(engine: SDLCEngine, name: str) -> Blueprint:
    for bp in engine.load_blueprints():
        if bp.name == name:
            return bp
    try:
        return engine.load_blueprint(name).blueprint
    except CodeForgeError:
        raise NotFoundError(f"unknown blueprint {name!r}") from None
