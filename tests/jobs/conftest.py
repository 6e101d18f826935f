"""Fixtures for the job tests: an app context on SQLite or PostgreSQL, users, Redis."""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_support import (
    reset_engines,
    temporary_database,
)

sys.path.insert(0, str(Path(__file__).parent))
import kinds_for_tests  # noqa: F401 - registers the test kinds
from cache.redis_support import own_redis, redis_url

__all__ = ["own_redis", "redis_url"]  # fixtures defined in redis_support, shared with tests/cache


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own on the shared Redis."""
    return f"cftest-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with temporary_database("codeforge_jobs") as url:
        yield url


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        reset_engines()
        return
    yield request.getfixturevalue("pg_url")


@dataclasses.dataclass
class Env:
    ctx: Any
    url: str
    user_id: int
    user_name: str
    artifacts: Path

    def config(self, **changes: Any) -> Any:
        from codeforge.jobs.config import JobConfig

        base = JobConfig(
            redis_url=None,
            lease=2.0,
            backoff=0.1,
            sweep_interval=0.1,
            requeue_after=60.0,
        )
        return dataclasses.replace(base, **changes)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Env:
    from codeforge.app.context import build_context
    from codeforge.db.repositories import create_user
    from codeforge.settings import load_settings

    ctx = build_context(load_settings(overrides={"database_url": db_url}))
    with ctx.factory.begin() as session:
        user = create_user(session, f"user-{uuid.uuid4().hex[:6]}", "member")
        user_id, user_name = user.id, user.name
    return Env(ctx, db_url, user_id, user_name, tmp_path / "artifacts")


def submit(env: Env, kind: str, payload: dict[str, Any], **kw: Any) -> str:
    from codeforge.app import jobstore as store

    job, created = store.submit(
        env.ctx.factory,
        owner_id=kw.pop("owner_id", env.user_id),
        kind=kind,
        payload=payload,
        queue=kw.pop("queue", "default"),
        max_attempts=kw.pop("max_attempts", 3),
        timeout=kw.pop("timeout", 30),
        requeue_after=kw.pop("requeue_after", 60.0),
        **kw,
    )
    assert created
    return job.id


def job_row(env: Env, job_id: str) -> Any:
    from codeforge.db.models import Job

    with env.ctx.factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job
