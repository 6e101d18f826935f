"""A job kind from an installed plugin (tests/fixtures/sample_hooks_plugin): submitted
through the API and run by its in-process executor, and run by ``codeforge worker --burst``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.conftest import Caller, make_caller
from fastapi.testclient import TestClient
from plugin_support import hooks_site, with_plugin

from codeforge.cache.jobs import RedisJobQueue

from .conftest import Env, job_row, submit

__all__ = ["hooks_site"]
V1 = "/api/v1"


@pytest.fixture
def client(
    hooks_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Caller]]:
    """The API (no Redis) in this process, with the sample plugin importable and selected."""
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    monkeypatch.syspath_prepend(str(hooks_site))  # importlib.metadata finds its entry points
    monkeypatch.setenv("CODEFORGE_PLUGINS", "sample-hooks")
    monkeypatch.delenv("CODEFORGE_REDIS_URL", raising=False)
    monkeypatch.setenv("CODEFORGE_JOB_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    url = f"sqlite:///{tmp_path / 'api.db'}"
    app = create_app(load_settings(overrides={"database_url": url}))
    caller = make_caller(url, "alice", "member")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, caller


def wait_done(client: TestClient, caller: Caller, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job: dict[str, Any] = client.get(f"{V1}/jobs/{job_id}", headers=caller.headers).json()
        if job["status"] in ("finished", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_the_api_runs_a_plugin_job_kind(client: tuple[TestClient, Caller]) -> None:
    api, alice = client
    body = {"kind": "sample-count", "payload": {"text": "one two three"}}
    response = api.post(f"{V1}/jobs", json=body, headers=alice.headers)
    assert response.status_code == 202, response.text
    done = wait_done(api, alice, response.json()["id"])
    assert done["status"] == "finished", done
    assert done["result"] == {"words": 3, "by": "sample-hooks"}
    result = api.get(done["result_url"], headers=alice.headers)
    assert (result.status_code, result.content) == (200, b"3\n")


def test_the_api_mounts_the_plugin_router(client: tuple[TestClient, Caller]) -> None:
    api, _ = client
    response = api.get("/sample-hooks/ping")
    assert (response.status_code, response.json()) == (200, {"pong": True})
    assert "/sample-hooks/ping" in api.get(f"{V1}/openapi.json").json()["paths"]


def test_the_plugin_kind_checks_its_payload_in_the_request(
    client: tuple[TestClient, Caller],
) -> None:
    api, alice = client
    response = api.post(f"{V1}/jobs", json={"kind": "sample-count"}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert "sample-count needs a `text` string" in response.text
    assert "payload.text" in response.text


def test_an_unknown_kind_lists_the_plugin_kinds(client: tuple[TestClient, Caller]) -> None:
    api, alice = client
    response = api.post(f"{V1}/jobs", json={"kind": "nope"}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert "unknown job kind 'nope'" in response.text
    assert "sample-count" in response.text


@pytest.mark.redis
def test_a_worker_process_runs_the_plugin_kind(
    env: Env, hooks_site: Path, redis_url: str, queue_name: str
) -> None:
    job_id = submit(env, "sample-count", {"text": "a b c d"}, queue=queue_name)
    RedisJobQueue(redis_url).enqueue(job_id, queue_name, 30)
    proc = with_plugin(
        hooks_site,
        "worker",
        "--burst",
        "--queues",
        queue_name,
        CODEFORGE_DATABASE_URL=env.url,
        CODEFORGE_REDIS_URL=redis_url,
        CODEFORGE_JOB_ARTIFACT_DIR=str(env.artifacts),
        CODEFORGE_PLUGINS="sample-hooks",
    )
    assert proc.returncode == 0, proc.stderr
    row = job_row(env, job_id)
    assert (row.status, row.attempts) == ("finished", 1), row.error
    assert row.result == {"words": 4, "by": "sample-hooks"}
