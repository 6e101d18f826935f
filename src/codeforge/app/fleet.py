"""The fleet: every recorded project, how far it lags its blueprint, and updating them all.

``status`` reads each recorded project's folder (its answers file says the version
it holds) and asks its blueprint for the newest version. ``update`` runs one
update per lagging project, ``concurrency`` at a time; a project that fails is
reported as failed and never stops the others. Both take their collaborators
(the recorded rows, a checker, an updater) so the CLI, a job or a test wires them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal

from codeforge.core.update import CheckResult
from codeforge.errors import CodeForgeError, UsageError

MAX_CONCURRENCY = 32
Status = Literal[
    "updated", "conflicts", "pr-opened", "pr-updated", "pr-unchanged", "up-to-date", "failed"
]
# What an update through a pull request did (its ``action``) -> the project's status.
PULL_STATUSES: Final[dict[str, Status]] = {
    "opened": "pr-opened",
    "updated": "pr-updated",
    "unchanged": "pr-unchanged",
}


@dataclasses.dataclass(frozen=True)
class FleetEntry:
    """One recorded project as ``fleet status`` shows it."""

    id: int
    name: str
    path: str
    blueprint: str
    version: str
    latest: str | None
    lagging: bool
    remote: str | None
    last_update: str | None
    error: str | None = None
    owner: str | None = None  # the server user who owns it; None for this machine's folders

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FleetOutcome:
    """What ``fleet update`` did to one project."""

    id: int
    name: str
    path: str
    status: Status
    from_version: str = ""
    to_version: str = ""
    pull: str | None = None  # the pull request's web URL
    conflicts: tuple[str, ...] = ()
    error: str | None = None
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_concurrency(concurrency: int) -> int:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}",
            where="--concurrency",
        )
    return concurrency


def failure(exc: Exception) -> tuple[str, int]:
    """A one-line message and an exit code for an update that failed."""
    if isinstance(exc, CodeForgeError):
        where = f" ({exc.where})" if getattr(exc, "where", None) else ""
        return f"{exc.message}{where}", exc.exit_code
    return f"{type(exc).__name__}: {exc}", 1


def _entry(
    row: Mapping[str, Any], check: Callable[[Path], CheckResult], last: Mapping[int, Any]
) -> FleetEntry:
    activity = last.get(int(row["id"]))
    last_update = activity["at"] if activity else row.get("updated_at")
    entry = FleetEntry(
        int(row["id"]), str(row["name"]), str(row["path"]), str(row["blueprint_name"]),
        str(row["blueprint_version"]), None, False, row.get("remote_url"), last_update,
    )  # fmt: skip
    try:
        checked = check(Path(row["path"]))
    except Exception as exc:  # a broken project is reported, the others still are checked
        return dataclasses.replace(entry, error=failure(exc)[0])
    return dataclasses.replace(
        entry,
        blueprint=checked.blueprint,
        version=checked.current,
        latest=checked.latest,
        lagging=checked.update_available,
    )


def status(
    rows: Iterable[Mapping[str, Any]],
    check: Callable[[Path], CheckResult],
    last_updates: Mapping[int, Any],
    *,
    blueprint: str | None = None,
    concurrency: int = 1,
) -> list[FleetEntry]:
    """Every recorded project (of ``blueprint`` when given) with its newest blueprint version."""
    chosen = [r for r in rows if blueprint is None or r["blueprint_name"] == blueprint]
    with ThreadPoolExecutor(max_workers=check_concurrency(concurrency)) as pool:
        return list(pool.map(lambda row: _entry(row, check, last_updates), chosen))


def update(
    entries: Sequence[FleetEntry],
    run_one: Callable[[FleetEntry], FleetOutcome],
    *,
    concurrency: int = 1,
) -> list[FleetOutcome]:
    """Run ``run_one`` for every lagging entry, ``concurrency`` at a time, in the entries' order.

    Every entry gets an outcome: ``up-to-date`` when it does not lag, ``failed`` when
    its status could not be read or ``run_one`` raised; one failure never stops the others.
    """

    def guarded(entry: FleetEntry) -> FleetOutcome:
        if entry.error is not None:
            return FleetOutcome(
                entry.id, entry.name, entry.path, "failed", entry.version, error=entry.error,
                exit_code=1,
            )  # fmt: skip
        if not entry.lagging:
            return FleetOutcome(
                entry.id, entry.name, entry.path, "up-to-date", entry.version, entry.version
            )
        try:
            return run_one(entry)
        except Exception as exc:
            message, code = failure(exc)
            return FleetOutcome(
                entry.id, entry.name, entry.path, "failed", entry.version, entry.latest or "",
                error=message, exit_code=code,
            )  # fmt: skip

    with ThreadPoolExecutor(max_workers=check_concurrency(concurrency)) as pool:
        return list(pool.map(guarded, entries))


def counts(outcomes: Iterable[FleetOutcome]) -> dict[str, int]:
    """``{status: how many}``, for the summary line."""
    found: dict[str, int] = {}
    for outcome in outcomes:
        found[outcome.status] = found.get(outcome.status, 0) + 1
    return found
