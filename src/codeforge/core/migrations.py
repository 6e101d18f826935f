"""Blueprint migrations during ``codeforge update``: which run, whether they may, running them.

Migrations of the target blueprint whose version is above the recorded one and
at most the target run in semver order: ``before`` tasks ahead of the merge,
``after`` tasks once it is applied. They run only for trusted sources; an
untrusted blueprint with pending migrations is refused unless ``skip_migrations``.

Tasks may touch any file, so they run against a copy of the project staged in
a transaction (:mod:`codeforge.core.staged`), merge included; the result moves
into the project through the journalled swap, so a failure or a kill anywhere
leaves the project complete-old or complete-new.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codeforge.core.answers import Evaluator, public_answers
from codeforge.core.blueprints import LoadedBlueprint
from codeforge.core.collaborators import Collaborators
from codeforge.core.dialect import dialect_of
from codeforge.core.merge import Change
from codeforge.core.native import base_context
from codeforge.core.postprocess import run_tasks
from codeforge.core.project import apply
from codeforge.core.staged import run_staged
from codeforge.core.transaction import Recovery
from codeforge.errors import BlueprintError, CodeForgeError, SecurityError
from codeforge.templates.loader import semver_key
from codeforge.templates.sections import Migration

Versions = tuple[str, str]  # (from, to)


def pending_migrations(
    migrations: Sequence[Migration], from_version: str, to_version: str
) -> list[Migration]:
    """Migrations above ``from_version`` and at most ``to_version``, in semver order."""
    low, high = semver_key(from_version), semver_key(to_version)
    chosen = [m for m in migrations if low < semver_key(m.version) <= high]
    return sorted(chosen, key=lambda m: semver_key(m.version))


def check_migrations(
    parts: Collaborators,
    target: LoadedBlueprint,
    name: str,
    versions: Versions,
    *,
    skip: bool,
    dry_run: bool,
) -> list[Migration]:
    """The migrations this update runs; refuses ones it cannot run or may not (untrusted)."""
    if skip:
        return []
    bp = target.blueprint
    from_version, to_version = versions
    unmapped = dialect_of(parts.dialects, bp).unsupported_migrations(bp, from_version, to_version)
    if unmapped:
        raise BlueprintError(
            f"copier `_migrations` for {', '.join(unmapped)} use copier-only features "
            "(stage variables, working_directory, shell strings), which CodeForge does not run",
            where=str(bp.definition_file.name),
            hint="pass --skip-migrations to update without them, then run them by hand",
        )
    if not bp.migrations:
        return []
    migrations = pending_migrations(bp.migrations, from_version, to_version)
    if migrations and not target.source.trusted and not dry_run:
        raise SecurityError(
            f"{name} {to_version} declares migrations for "
            f"{', '.join(m.version for m in migrations)}, which run commands on your machine",
            hint="pass --trust if you trust its source (or add it to trusted_sources), "
            "or --skip-migrations to update without them",
        )
    return migrations


def apply_with_migrations(
    parts: Collaborators,
    project: Path,
    target: LoadedBlueprint,
    migrations: Sequence[Migration],
    versions: Versions,
    answers: Mapping[str, Any],
    name: str,
    compute: Callable[[Path], list[Change]],
) -> Recovery | None:
    """``before`` tasks, the merge (``compute(root)`` reads ``root``), ``after`` tasks.

    All on a staged copy; the project changes only at the transaction's swap.
    Returns the interrupted earlier operation resolved first, if there was one.
    """

    def work(staged: Path) -> None:
        for migration in migrations:
            run_migration(parts, staged, target, migration, "before", versions, answers, name)
        apply(staged, compute(staged))
        for migration in migrations:
            run_migration(parts, staged, target, migration, "after", versions, answers, name)

    return run_staged(project, "update", work)


def run_migration(
    parts: Collaborators,
    project: Path,
    target: LoadedBlueprint,
    migration: Migration,
    when: str,
    versions: Versions,
    answers: Mapping[str, Any],
    name: str,
) -> None:
    """Run one migration's ``when`` ("before" or "after") tasks in the project folder."""
    tasks = migration.before if when == "before" else migration.after
    if not tasks:
        return
    bp = target.blueprint
    env = parts.environments.open(bp.template_root, str(bp.template_root))
    evaluator = Evaluator(env)
    context = {
        **base_context(name),
        **answers,
        "from_version": versions[0],
        "to_version": versions[1],
    }
    try:
        run_tasks(
            tasks,
            project,
            trusted=target.source.trusted,
            render=lambda text, origin: evaluator.render(text, context, f"migrations {origin}"),
            truth=lambda expr, origin: evaluator.truth(expr, context, f"migrations {origin}"),
            answers_json=json.dumps(public_answers(bp.variables, answers)),
            info=parts.reporter.info,
        )
    except CodeForgeError as exc:
        exc.message = f"migration {migration.version} ({when}): {exc.message}"
        raise
    finally:
        parts.environments.close(env)
