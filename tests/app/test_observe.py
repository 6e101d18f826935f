"""The gauges read at scrape time: queue depth and oldest job per kind, registered
workers, the database pool, and whether the database and Redis answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cache.redis_support import RedisServer, free_port

from codeforge.app.context import AppContext, build_context
from codeforge.app.observe import watch_state
from codeforge.plugins.manager import build_plugins
from codeforge.settings import load_settings


def observed(db_url: str, redis_url: str | None = None) -> AppContext:
    settings = load_settings(overrides={"database_url": db_url, "redis_url": redis_url})
    ctx = build_context(settings, plugins=build_plugins({}))
    watch_state(ctx)
    return ctx


def value(ctx: AppContext, name: str, **labels: str) -> float | None:
    return ctx.metrics.registry.get_sample_value(name, labels)


def add_job(ctx: AppContext, job_id: str, kind: str, status: str, age: float) -> None:
    from codeforge.db.models import Job
    from codeforge.db.repositories import create_user

    with ctx.factory.begin() as session:
        owner = create_user(session, f"u-{job_id}", "member")
        created = datetime.now(UTC) - timedelta(seconds=age)
        session.add(
            Job(
                id=job_id,
                owner_id=owner.id,
                kind=kind,
                status=status,
                payload={},
                payload_hash="x",
                created_at=created,
            )
        )


def test_queue_depth_and_the_oldest_waiting_job_per_kind(db_url: str) -> None:
    ctx = observed(db_url)
    assert value(ctx, "codeforge_jobs_queued", kind="generate") is None  # nothing waits
    add_job(ctx, "a", "generate", "queued", 120)
    add_job(ctx, "b", "generate", "queued", 10)
    add_job(ctx, "c", "register", "queued", 30)
    add_job(ctx, "d", "generate", "started", 900)  # taken: not waiting
    assert value(ctx, "codeforge_jobs_queued", kind="generate") == 2.0
    assert value(ctx, "codeforge_jobs_queued", kind="register") == 1.0
    oldest = value(ctx, "codeforge_job_oldest_queued_seconds", kind="generate")
    assert oldest is not None and 119 <= oldest < 200
    assert value(ctx, "codeforge_dependency_up", dependency="database") == 1.0
    assert value(ctx, "codeforge_dependency_up", dependency="redis") is None  # not configured
    assert value(ctx, "codeforge_workers") is None  # jobs run in the API's threads


def test_the_database_pool_is_reported(db_url: str) -> None:
    ctx = observed(db_url)
    with ctx.read():
        in_use = value(ctx, "codeforge_db_pool_connections", state="in_use")
    assert in_use is not None and in_use >= 1.0
    assert value(ctx, "codeforge_db_pool_connections", state="size") >= 1.0


def test_an_unreachable_database_is_down_not_a_failed_scrape() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"
    settings = load_settings(overrides={"database_url": url})
    ctx = build_context(settings, plugins=build_plugins({}), migrate=False)
    watch_state(ctx)
    assert value(ctx, "codeforge_dependency_up", dependency="database") == 0.0
    assert value(ctx, "codeforge_jobs_queued", kind="generate") is None


@pytest.mark.redis
def test_workers_and_redis_are_counted_and_a_dead_redis_is_down(
    db_url: str, tmp_path: Path
) -> None:
    from rq import Worker

    from codeforge.cache.connection import get_redis

    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        ctx = observed(db_url, server.url)
        assert value(ctx, "codeforge_dependency_up", dependency="redis") == 1.0
        assert value(ctx, "codeforge_workers") == 0.0
        Worker(["default"], connection=get_redis(server.url), name="w-1").register_birth()
        assert value(ctx, "codeforge_workers") == 1.0
    finally:
        server.stop()
    assert value(ctx, "codeforge_dependency_up", dependency="redis") == 0.0
    assert value(ctx, "codeforge_workers") is None


def test_a_redis_that_never_answered_is_down(db_url: str) -> None:
    ctx = observed(db_url, f"redis://127.0.0.1:{free_port()}/0")
    assert value(ctx, "codeforge_dependency_up", dependency="redis") == 0.0
