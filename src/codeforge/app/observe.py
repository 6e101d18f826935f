"""What the API's ``/metrics`` reads at scrape time: the queue, the workers, the
database pool and whether the database and Redis answer.

These are states, not events, so they are read when Prometheus asks rather than
kept up to date: one grouped query on the jobs table, one ``SELECT 1``, one Redis
``PING`` and one count of the registered RQ workers per scrape. A dependency that
does not answer is reported as down (0), never as a failed scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from codeforge.app.outages import database_answers
from codeforge.cache.connection import available
from codeforge.cache.jobs import count_workers
from codeforge.db.models import Job
from codeforge.errors import RedisUnavailable

if TYPE_CHECKING:
    from codeforge.app.context import AppContext


# name -> (help, labels) of every gauge read at scrape time
GAUGES: Final[dict[str, tuple[str, list[str]]]] = {
    "codeforge_dependency_up": (
        "1 when the dependency answers now (database: SELECT 1, redis: PING), else 0",
        ["dependency"],
    ),
    "codeforge_db_pool_connections": (
        "Database connections of this process by state (in_use, idle) and the pool size",
        ["state"],
    ),
    "codeforge_jobs_queued": ("Jobs waiting for a worker, by kind", ["kind"]),
    "codeforge_job_oldest_queued_seconds": (
        "Age of the oldest job still waiting for a worker, by kind",
        ["kind"],
    ),
    "codeforge_workers": ("Job workers registered on the Redis queue now", []),
}


def _gauge(name: str) -> GaugeMetricFamily:
    help_text, labels = GAUGES[name]
    return GaugeMetricFamily(name, help_text, labels=labels)


class StateCollector(Collector):
    """Gauges of the queue, workers, database pool and dependencies of ``ctx``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples: registering reads no database and no Redis."""
        return (_gauge(name) for name in GAUGES)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        database_up = database_answers(self.ctx)
        yield from self._dependencies(database_up)
        yield from self._pool()
        if database_up:
            yield from self._queue()
        yield from self._workers()

    def _dependencies(self, database_up: bool) -> Iterator[GaugeMetricFamily]:
        up = _gauge("codeforge_dependency_up")
        up.add_metric(["database"], 1.0 if database_up else 0.0)
        url = self.ctx.settings.redis_url
        if url:
            up.add_metric(["redis"], 1.0 if available(url) else 0.0)
        yield up

    def _pool(self) -> Iterator[GaugeMetricFamily]:
        pool = self.ctx.factory.kw["bind"].pool
        if not hasattr(pool, "checkedout"):
            return  # SQLite's single-connection pools have nothing to report
        gauge = _gauge("codeforge_db_pool_connections")
        gauge.add_metric(["in_use"], float(pool.checkedout()))
        gauge.add_metric(["idle"], float(pool.checkedin()))
        gauge.add_metric(["size"], float(pool.size()))
        yield gauge

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        depth = _gauge("codeforge_jobs_queued")
        age = _gauge("codeforge_job_oldest_queued_seconds")
        stmt = (
            select(Job.kind, func.count(), func.min(Job.created_at))
            .where(Job.status == "queued")
            .group_by(Job.kind)
        )
        now = datetime.now(UTC)
        with self.ctx.read() as session:
            for kind, count, oldest in session.execute(stmt):
                depth.add_metric([kind], float(count))
                age.add_metric([kind], max(0.0, (now - _aware(oldest)).total_seconds()))
        yield depth
        yield age

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        url = self.ctx.settings.job_redis_url
        if not url:
            return  # jobs run in the API's own threads: no worker to count
        try:
            count = count_workers(url)
        except RedisUnavailable:
            return  # codeforge_dependency_up{dependency="redis"} says why
        gauge = _gauge("codeforge_workers")
        gauge.add_metric([], float(count))
        yield gauge


def _aware(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite gives it back without its time zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def watch_state(ctx: AppContext) -> None:
    """Register the scrape-time gauges on ``ctx``'s registry (once per app)."""
    ctx.metrics.registry.register(StateCollector(ctx))
