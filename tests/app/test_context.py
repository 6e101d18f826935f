"""The composition root: one ``build_context`` for API, worker and tests, with plugins wired in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from codeforge.app.context import AppContext, build_context
from codeforge.errors import ValidationError
from codeforge.jobs.kinds import JobRun, Owner, Work, get_kind, kinds_of
from codeforge.plugins import hookimpl
from codeforge.plugins.manager import build_plugins
from codeforge.settings import load_settings


class EchoKind:
    """Returns its payload as its result."""

    name = "plugin-echo"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Any) -> None:
        return None

    def run(self, job: JobRun) -> Work:
        job.progress(50, "echoing")
        return Work(result={"echo": job.payload, "by": job.owner.name})


class SamplePlugin:
    @hookimpl
    def codeforge_job_kinds(self) -> Sequence[EchoKind]:
        return [EchoKind()]

    @hookimpl
    def codeforge_api_routers(self) -> Sequence[APIRouter]:
        router = APIRouter(prefix="/plugin-sample")

        @router.get("/ping")
        def ping() -> dict[str, bool]:
            return {"pong": True}

        return [router]


def test_the_built_in_kinds_come_from_the_default_plugin(db_url: str) -> None:
    ctx = build_context(load_settings(overrides={"database_url": db_url}))
    assert {"generate", "publish", "register"} <= set(kinds_of(ctx))
    with pytest.raises(ValidationError, match="unknown job kind 'nope'") as caught:
        get_kind(ctx, "nope")
    assert caught.value.hint is not None and "generate, publish, register" in caught.value.hint


def test_a_plugin_job_kind_runs_through_the_runner(db_url: str, tmp_path: Path) -> None:
    from codeforge.app import jobstore as store
    from codeforge.cache.artifacts import LocalArtifactStore
    from codeforge.db.repositories import create_user
    from codeforge.jobs.config import JobConfig
    from codeforge.jobs.runner import Runner

    plugins = build_plugins({}, extra=[("sample", SamplePlugin())])
    ctx = build_context(load_settings(overrides={"database_url": db_url}), plugins=plugins)
    assert get_kind(ctx, "plugin-echo").role == "member"
    with ctx.factory.begin() as session:
        user_id = create_user(session, "ann", "member").id
    job, _ = store.submit(
        ctx.factory,
        owner_id=user_id,
        kind="plugin-echo",
        payload={"text": "hi"},
        queue="default",
        max_attempts=1,
        timeout=30,
        requeue_after=60.0,
    )
    config = JobConfig(redis_url=None)
    runner = Runner(ctx, config, LocalArtifactStore(tmp_path / "artifacts"), "test-worker")
    assert runner.run(job.id) == "finished"
    with ctx.read() as session:
        row = session.get(type(job), job.id)
        assert row is not None
        assert (row.status, row.result) == ("finished", {"echo": {"text": "hi"}, "by": "ann"})


def test_the_api_mounts_plugin_routers(db_url: str) -> None:
    from codeforge.api.app import create_app

    settings = load_settings(overrides={"database_url": db_url})
    app = create_app(settings, plugins=build_plugins({}, extra=[("sample", SamplePlugin())]))
    response = TestClient(app).get("/plugin-sample/ping")
    assert (response.status_code, response.json()) == (200, {"pong": True})
    without = TestClient(create_app(settings, plugins=build_plugins({})))
    assert without.get("/plugin-sample/ping").status_code == 404
