"""Keep a project in step with its blueprint: the check, diff and update use cases.

Each use case takes the engine it works through (built by the composition root,
:func:`lifecycle_engine` for a local caller) and returns the core's typed result;
adapters only parse their input and present that result. The JSON shapes of the
results are defined here too, so every adapter shows the same fields.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from codeforge.app.local import local_engine
from codeforge.app.record import local_recorder
from codeforge.core.collaborators import Reporter
from codeforge.core.engine import SDLCEngine
from codeforge.core.source import BlueprintResolver
from codeforge.core.update import CheckResult, UpdateOptions, UpdateResult
from codeforge.settings import Settings

__all__ = [
    "CheckResult",
    "UpdateOptions",
    "UpdateResult",
    "check",
    "check_summary",
    "diff",
    "lifecycle_engine",
    "update",
    "update_summary",
]


def lifecycle_engine(
    settings: Settings,
    reporter: Reporter,
    *,
    record: bool,
    resolver: BlueprintResolver | None = None,
) -> SDLCEngine:
    """The local engine for these use cases; it records updates only when ``record``
    (a dry run or a diff changes nothing, so there is nothing to record)."""
    return local_engine(
        settings,
        reporter=reporter,
        recorder=local_recorder(settings) if record else None,
        resolver=resolver,
    )


def _as_kwargs(options: UpdateOptions) -> dict[str, Any]:
    # Field by field rather than dataclasses.asdict: asdict deep-copies the prompter.
    return {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}


def check(engine: SDLCEngine, project: Path, *, template: str | None = None) -> CheckResult:
    """Whether a newer version of ``project``'s blueprint (or of ``template``) exists.

    An interrupted earlier write in ``project`` is resolved first; ``result.recovered``
    says how.
    """
    return engine.check_project(project, template=template)


def diff(engine: SDLCEngine, project: Path, options: UpdateOptions) -> UpdateResult:
    """What updating ``project`` would change, computed without writing (``result.diff()``).

    A diff writes nothing, so it neither needs a clean git tree nor runs as a real update:
    ``options.dry_run`` and ``options.force`` are overridden.
    """
    forced = dataclasses.replace(options, dry_run=True, force=True)
    return engine.update_project(project, **_as_kwargs(forced))


def update(engine: SDLCEngine, project: Path, options: UpdateOptions) -> UpdateResult:
    """Merge the target blueprint version into ``project`` (a report only on ``dry_run``)."""
    return engine.update_project(project, **_as_kwargs(options))


def check_summary(result: CheckResult) -> dict[str, Any]:
    """``result`` as the JSON object ``codeforge check --json`` prints."""
    recovered = result.recovered
    return {
        "project": str(result.project),
        "blueprint": result.blueprint,
        "source": result.source,
        "current": result.current,
        "latest": result.latest,
        "update_available": result.update_available,
        "recovered": None
        if recovered is None
        else {
            "operation": recovered.operation,
            "outcome": recovered.outcome,
            "undone": recovered.undone,
            "message": recovered.message,
        },
    }


def update_summary(result: UpdateResult) -> dict[str, Any]:
    """``result`` as the JSON object ``codeforge update --json`` prints."""
    return {
        "project": str(result.project),
        "blueprint": result.blueprint,
        "from_version": result.from_version,
        "to_version": result.to_version,
        "dry_run": result.dry_run,
        "changes": [
            {"path": c.path, "action": c.action, "note": c.note or None} for c in result.changes
        ],
        "kept": [{"path": k.path, "reason": k.reason} for k in result.kept],
        "conflicts": result.conflicts,
        "new_questions": result.new_questions,
        "migrations": result.migrations,
        "adopted_from": result.adopted_from,
    }
