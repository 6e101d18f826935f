"""An unreachable database or Redis answers 503 with Retry-After, logged once per outage.

Regression: with PostgreSQL stopped under load, 591 of 595 generate requests
answered 500, each with a traceback in the log. Here ``codeforge serve`` (the real
console script) runs on a PostgreSQL cluster of the test's own, under a steady
generate load, while the test stops that cluster for ~8 s and starts it again.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from jobs.cluster_support import base_env, start_server
from postgres_support import PostgresCluster
from process_support import free_port

V1 = "/api/v1"
OUTAGE_SECONDS = 8.0
LOAD_THREADS = 3


@dataclasses.dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    status: int
    retry_after: str | None
    error: str | None
    project_id: str | None


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    pg = PostgresCluster()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _admin_key(url: str) -> str:
    from codeforge.db.engine import dispose_engines, session_factory
    from codeforge.db.migrate import ensure_schema
    from codeforge.db.repositories import create_api_key, create_user

    ensure_schema(url)
    with session_factory(url).begin() as session:
        user = create_user(session, "loader", "member")
        _row, key = create_api_key(session, user, "load")
    dispose_engines()  # no connection of ours stays open across the outage
    return key


class Load:
    """Threads posting generate requests back to back until stopped."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(LOAD_THREADS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                body = {"template": "lib-python", "name": f"p{index}x{n}", "answers": {}}
                started = time.monotonic()
                response = client.post(f"{V1}/projects/generate", json=body)
                error = None
                if response.status_code != 200:
                    error = response.json().get("error")
                answer = Answer(
                    started,
                    time.monotonic(),
                    response.status_code,
                    response.headers.get("retry-after"),
                    error,
                    response.headers.get("x-project-id"),
                )
                with self._lock:
                    self.answers.append(answer)

    def count(self, status: int) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.status == status)


def _log_events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.1)


# Routes that read or write the database (whatever the key cache holds), with a body.
PROBES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"{V1}/me", None),
    ("GET", f"{V1}/projects", None),
    ("GET", f"{V1}/projects/1", None),
    ("DELETE", f"{V1}/projects/1", None),
    ("GET", f"{V1}/activity", None),
    ("GET", f"{V1}/keys", None),
    ("POST", f"{V1}/keys", {"name": "during-outage"}),
    ("GET", f"{V1}/jobs", None),
    ("POST", f"{V1}/jobs", {"kind": "generate", "template": "lib-python", "name": "j"}),
    ("POST", f"{V1}/session", {"name": "loader", "password": "not the password"}),
]


def _probe_routes(base: str, key: str) -> dict[str, tuple[int, str | None, str | None]]:
    """(status, Retry-After, error kind) of each probe, sent once the outage has begun."""
    headers = {"Authorization": f"Bearer {key}"}
    found = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for method, path, body in PROBES:
            response = client.request(method, path, json=body)
            error = response.json().get("error") if response.status_code != 200 else None
            found[f"{method} {path}"] = (
                response.status_code,
                response.headers.get("retry-after"),
                error,
            )
    return found


@pytest.mark.postgres
@pytest.mark.slow
def test_a_database_outage_under_load_answers_503_then_recovers(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    key = _admin_key(cluster.url)
    port = free_port()
    env = base_env(CODEFORGE_DATABASE_URL=cluster.url, CODEFORGE_API_KEY_CACHE_SECONDS="5")
    server = start_server("serve", port, env, tmp_path)
    log = server.log_path
    try:
        with Load(f"http://127.0.0.1:{port}", key) as load:
            _wait_for(lambda: load.count(200) >= 10, 60)
            cluster.stop()
            stopped = time.monotonic()
            probed = _probe_routes(f"http://127.0.0.1:{port}", key)
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
            restarting = time.monotonic()
            cluster.start()
            started = time.monotonic()
            # Recovered: 200s again (the pool reconnects at the next checkout).
            _wait_for(
                lambda: any(a.started > started and a.status == 200 for a in load.answers), 30
            )
            time.sleep(3)
    finally:
        server.stop(timeout=30)

    answers = load.answers
    by_status: dict[int, int] = {}
    for a in answers:
        by_status[a.status] = by_status.get(a.status, 0) + 1
    print(f"\nanswers by status: {dict(sorted(by_status.items()))}")
    assert set(by_status) <= {200, 503}, by_status  # never a 500
    during = [a for a in answers if a.started > stopped and a.ended < restarting]
    assert len(during) >= 20, f"only {len(during)} requests during the outage"
    assert {a.status for a in during} == {503}
    assert all(a.retry_after == "5" and a.error == "store" for a in during)
    settled = [a for a in answers if a.started > started + 2]
    assert settled and {a.status for a in settled} == {200}
    print(f"during the outage: {len(during)} x 503; after it: {len(settled)} x 200")

    # Every other route that needs the database says the same.
    for route, (status, retry_after, error) in probed.items():
        assert (status, retry_after, error) == (503, "5", "store"), route

    events = _log_events(log)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text
    assert [e for e in events if e.get("event") == "unhandled error"] == []
    down = [e for e in events if e.get("event") == "database unreachable"]
    back = [e for e in events if e.get("event") == "database reachable again"]
    assert len(down) == 1 and len(back) == 1, [e for e in events if e.get("event") != "request"]
    assert back[0]["refused_requests"] >= len(during)
    assert OUTAGE_SECONDS - 1 < back[0]["outage_seconds"] < OUTAGE_SECONDS + 20
    assert "postgres@" not in json.dumps(down[0])  # the URL is redacted
    print(f"log lines: {len(down)} 'database unreachable', {len(back)} 'reachable again'")

    # Every generation that answered 200 was recorded.
    ok_ids = {int(a.project_id) for a in answers if a.status == 200 and a.project_id}
    assert len(ok_ids) == by_status[200]
    with psycopg.connect(cluster.url.replace("+psycopg", ""), autocommit=True) as conn:
        rows = {r[0] for r in conn.execute("SELECT id FROM projects").fetchall()}
    assert ok_ids <= rows


# -- Redis, where a route needs it ---------------------------------------------------------------


@pytest.mark.redis
def test_a_redis_outage_answers_503_to_job_submissions_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cache.redis_support import RedisServer
    from fastapi.testclient import TestClient

    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    from .conftest import make_caller

    server = RedisServer(tmp_path / "redis")
    server.start()
    db = f"sqlite:///{tmp_path / 'api.db'}"
    logs = io.StringIO()
    try:
        app = create_app(
            load_settings(overrides={"database_url": db, "redis_url": server.url}),
            log_stream=logs,
        )
        caller = make_caller(db, "jo", "member")
        with TestClient(app, raise_server_exceptions=False) as client:

            def submit(n: int) -> httpx.Response:
                body = {"kind": "generate", "template": "lib-python", "name": f"j{n}"}
                return client.post(
                    f"{V1}/jobs", json={**body, "answers": {}}, headers=caller.headers
                )

            assert submit(0).status_code == 202
            server.stop()
            refused = [submit(n) for n in range(1, 6)]
            assert [r.status_code for r in refused] == [503] * 5, refused[0].text
            for response in refused:
                assert response.headers["retry-after"] == "5"
                assert response.json()["error"] in ("redis", "queue_unavailable")
                assert response.json()["message"]
            server.start()
            _wait_for(lambda: submit(100 + int(time.monotonic())).status_code == 202, 10)
    finally:
        server.stop()
    events = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    names = [e["event"] for e in events if e["event"] != "request"]
    assert names.count("redis unreachable") == 1, names
    assert names.count("redis reachable again") == 1, names
    assert "unhandled error" not in names


def test_a_wrong_statement_is_a_500_not_an_outage(api_db_url: str) -> None:
    """Only an unreachable database is a 503: a bug (a missing table) stays a 500."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    logs = io.StringIO()
    app = create_app(load_settings(overrides={"database_url": api_db_url}), log_stream=logs)

    @app.get("/broken")
    def broken() -> None:
        with app.state.ctx.read() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500 and response.json()["error"] == "internal"
    assert "retry-after" not in response.headers
    names = [json.loads(line)["event"] for line in logs.getvalue().splitlines()]
    assert "unhandled error" in names and "database unreachable" not in names
