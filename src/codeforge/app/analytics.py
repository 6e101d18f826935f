"""Usage analytics from the database: generations per day and per blueprint, versions
in use, job durations and the job error rate, over the last ``days`` days.

Rows are read and counted here (bounded by ``MAX_ROWS``), so the numbers are the same
on SQLite and PostgreSQL without dialect-specific date or JSON functions.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from codeforge.app.context import AppContext
from codeforge.app.marketplace import Caller

GENERATIONS: Final = ("init", "generate")  # the Activity actions that made a project
MAX_ROWS: Final = 200_000


@dataclasses.dataclass(frozen=True)
class JobStats:
    kind: str
    finished: int
    failed: int
    p50_seconds: float | None
    p95_seconds: float | None

    @property
    def error_rate(self) -> float | None:
        ended = self.finished + self.failed
        return self.failed / ended if ended else None


@dataclasses.dataclass(frozen=True)
class Analytics:
    since: date
    days: list[date]
    per_day: dict[str, list[int]]  # blueprint -> a count per day of ``days``
    top: list[tuple[str, int]]  # blueprints by generations in the window, most first
    versions: dict[str, list[tuple[str, int]]]  # blueprint -> (version, projects) newest first
    jobs: list[JobStats]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _naive(at: datetime) -> datetime:
    """``at`` as a naive UTC time (the database hands back aware UTC times)."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _generations(ctx: AppContext, start: datetime, days: list[date]) -> dict[str, list[int]]:
    from sqlalchemy import select

    from codeforge.db.models import Activity

    index = {day: i for i, day in enumerate(days)}
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    stmt = (
        select(Activity.at, Activity.details)
        .where(Activity.action.in_(GENERATIONS), Activity.at >= start)
        .limit(MAX_ROWS)
    )
    with ctx.read() as session:
        for at, details in session.execute(stmt):
            slot = index.get(_naive(at).date())
            if slot is not None:
                per_day[str((details or {}).get("blueprint") or "?")][slot] += 1
    return dict(per_day)


def _versions(ctx: AppContext) -> dict[str, list[tuple[str, int]]]:
    from sqlalchemy import func, select

    from codeforge.db.models import Project

    stmt = select(Project.blueprint_name, Project.blueprint_version, func.count()).group_by(
        Project.blueprint_name, Project.blueprint_version
    )
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with ctx.read() as session:
        for name, version, count in session.execute(stmt):
            found[str(name)].append((str(version), int(count)))
    return {name: sorted(rows, reverse=True) for name, rows in sorted(found.items())}


def _jobs(ctx: AppContext, start: datetime) -> list[JobStats]:
    from sqlalchemy import select

    from codeforge.db.models import Job

    stmt = (
        select(Job.kind, Job.status, Job.started_at, Job.finished_at)
        .where(Job.status.in_(("finished", "failed")), Job.created_at >= start)
        .limit(MAX_ROWS)
    )
    durations: dict[str, list[float]] = defaultdict(list)
    counts: Counter[tuple[str, str]] = Counter()
    with ctx.read() as session:
        for kind, status, started, finished in session.execute(stmt):
            counts[(kind, status)] += 1
            if status == "finished" and started and finished:
                durations[kind].append((_naive(finished) - _naive(started)).total_seconds())
    kinds = sorted({kind for kind, _status in counts})
    return [
        JobStats(
            kind,
            counts[(kind, "finished")],
            counts[(kind, "failed")],
            percentile(durations[kind], 0.5),
            percentile(durations[kind], 0.95),
        )
        for kind in kinds
    ]


def summary(
    ctx: AppContext, days: int, today: date | None = None, *, caller: Caller | None
) -> Analytics:
    """The analytics of the ``days`` days up to ``today`` (UTC), today included; private
    blueprints ``caller`` may not see are left out, as if they had never been used."""
    from codeforge.app import catalog
    from codeforge.db.models import utcnow

    last = today or _naive(utcnow()).date()
    window = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
    start = datetime.combine(window[0], time(), UTC)
    market = catalog.snapshot(ctx).market
    per_day = {
        name: counts
        for name, counts in _generations(ctx, start, window).items()
        if market.can_see(name, caller)
    }
    versions = {name: v for name, v in _versions(ctx).items() if market.can_see(name, caller)}
    top = sorted(((name, sum(c)) for name, c in per_day.items()), key=lambda t: (-t[1], t[0]))
    return Analytics(window[0], window, per_day, top, versions, _jobs(ctx, start))
