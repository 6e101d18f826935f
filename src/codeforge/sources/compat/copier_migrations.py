"""copier ``_migrations`` mapped onto CodeForge migrations (argv tasks by version and stage)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from codeforge.core.postprocess import TaskError
from codeforge.sources.compat.hooks import split_command
from codeforge.templates.schema import SEMVER_RE
from codeforge.templates.sections import Migration, Task


def map_migrations(
    migrations: list[Any],
) -> tuple[tuple[Migration, ...], tuple[Mapping[str, Any], ...]]:
    """copier ``_migrations`` onto CodeForge's :class:`Migration` where the meaning is kept.

    A migration maps when it has a semantic version, argv-splittable commands
    without copier-only variables (``_stage``, ``_copier_*``, ``_version_*``), and
    either the legacy ``before``/``after`` lists or a ``when`` that only picks the
    stage. The rest stay in ``raw_migrations``, which ``codeforge update`` refuses
    to skip silently.
    """
    by_version: dict[str, dict[str, list[Task]]] = {}
    unmapped: list[Mapping[str, Any]] = []
    for item in migrations:
        raw = item if isinstance(item, dict) else {"command": item}
        stages = _migration_stages(raw)
        version = str(raw.get("version", ""))
        if stages is None or not SEMVER_RE.match(version) or "working_directory" in raw:
            unmapped.append(raw)
            continue
        slot = by_version.setdefault(version, {"before": [], "after": []})
        for stage, commands in stages.items():
            slot[stage].extend(Task(command=tuple(c)) for c in commands)
    mapped = tuple(
        Migration(version=v, before=tuple(t["before"]), after=tuple(t["after"]))
        for v, t in by_version.items()
    )
    return mapped, tuple(unmapped)


_STAGE_WHEN = {
    '{{ _stage == "before" }}': "before",
    "{{ _stage == 'before' }}": "before",
    '{{ _stage == "after" }}': "after",
    "{{ _stage == 'after' }}": "after",
}


def _migration_stages(raw: Mapping[str, Any]) -> dict[str, list[list[str]]] | None:
    if "before" in raw or "after" in raw:  # copier's legacy format
        lists = {stage: raw.get(stage, []) for stage in ("before", "after")}
        if not all(isinstance(v, list) for v in lists.values()):
            return None
        result = {s: [_argv(c) for c in cmds] for s, cmds in lists.items()}
    else:
        stage = _STAGE_WHEN.get(str(raw.get("when", '{{ _stage == "after" }}')).strip())
        if stage is None:
            return None
        result = {stage: [_argv(raw.get("command"))]}
    if any(argv is None for cmds in result.values() for argv in cmds):
        return None
    return {s: [c for c in cmds if c is not None] for s, cmds in result.items()}


def _argv(command: Any) -> list[str] | None:
    try:
        argv = split_command(command, "_migrations")
    except TaskError:
        return None
    if not argv or any(re.search(r"{{[^}]*\b_", part) for part in argv):
        return None
    return argv
