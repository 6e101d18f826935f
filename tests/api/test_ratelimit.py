"""Rate limits: per route group, per key and per address, 429 + Retry-After; shared via Redis."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cache.redis_support import RedisServer, free_port
from fastapi.testclient import TestClient

from codeforge.api.ratelimit import credential_id, route_group
from codeforge.cache.ratelimit import parse_limits
from codeforge.errors import UsageError

from .conftest import make_caller

V1 = "/api/v1"


def _app_client(db_url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(load_settings(overrides={"database_url": db_url}), log_stream=io.StringIO())
    return TestClient(app, raise_server_exceptions=False)


# -- groups and configuration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("POST", f"{V1}/session", "auth"),
        ("GET", f"{V1}/session", "read"),
        ("DELETE", f"{V1}/session", "write"),
        ("POST", f"{V1}/projects/generate", "generate"),
        ("POST", f"{V1}/projects/preview", "generate"),
        ("GET", f"{V1}/starter.zip", "generate"),
        ("POST", f"{V1}/jobs", "generate"),
        ("GET", f"{V1}/jobs", "read"),
        ("POST", f"{V1}/ai/review", "ai"),
        ("GET", f"{V1}/projects", "read"),
        ("POST", f"{V1}/keys", "write"),
        ("DELETE", f"{V1}/keys/3", "write"),
    ],
)
def test_route_groups(method: str, path: str, group: str | None) -> None:
    assert route_group(method, path) == group


def test_credential_ids_are_hashes() -> None:
    key = b"cf_secretsecretsecret"
    by_key = credential_id([(b"authorization", b"Bearer " + key)])
    by_cookie = credential_id([(b"cookie", b"a=1; codeforge_session=s1.abc.def")])
    assert by_key is not None and by_key.startswith("k") and "secret" not in by_key
    assert by_cookie is not None and by_cookie.startswith("s") and "abc" not in by_cookie
    assert credential_id([(b"cookie", b"other=1")]) is None
    assert credential_id([]) is None


def test_limit_spec_parsing() -> None:
    limits = parse_limits("generate=5/second; auth=off", where="X")
    assert limits["generate"] is not None and limits["generate"].amount == 5
    assert limits["auth"] is None
    assert limits["read"] is not None and limits["read"].amount == 3000  # the default
    assert set(parse_limits("off", where="X").values()) == {None}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("generate", "is not GROUP=LIMIT"),
        ("upload=5/minute", "unknown route group 'upload'"),
        ("read=lots", "'lots' is not a rate limit"),
    ],
)
def test_bad_limit_specs_are_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_limits(spec, where="CODEFORGE_RATE_LIMITS")
    assert "CODEFORGE_RATE_LIMITS" in str(info.value)


def test_bad_env_stops_the_app_with_the_variable_named(
    api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match="CODEFORGE_RATE_LIMITS_ADDRESS"):
        _app_client(api_db_url, monkeypatch, CODEFORGE_RATE_LIMITS_ADDRESS="read=0.5/x")


# -- in process (no Redis) -------------------------------------------------------------------


def test_per_key_limit_429_with_retry_after(
    api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _app_client(
        api_db_url,
        monkeypatch,
        CODEFORGE_RATE_LIMITS="read=3/day",
        CODEFORGE_RATE_LIMITS_ADDRESS="read=100/day",
    )
    ann = make_caller(api_db_url, "ann", "member")
    ben = make_caller(api_db_url, "ben", "member")
    with client:
        codes = [client.get(f"{V1}/me", headers=ann.headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get(f"{V1}/me", headers=ann.headers)
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "rate_limited" and body["where"] == "rate limit 'read'"
        assert "3 per 1 day" in body["message"] and "API key" in body["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 86400
        assert refused.headers["x-ratelimit-limit"] == "3"
        assert refused.headers["x-request-id"]  # the outer middleware still ran
        # Another key has its own bucket; health checks are never limited.
        assert client.get(f"{V1}/me", headers=ben.headers).status_code == 200
        assert all(client.get("/healthz").status_code == 200 for _ in range(10))
        # Other groups are counted apart.
        assert client.post(f"{V1}/keys", headers=ann.headers, json={"name": "x"}).status_code == 201


def test_per_address_limit_covers_anonymous_and_many_keys(
    api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _app_client(
        api_db_url,
        monkeypatch,
        CODEFORGE_RATE_LIMITS="read=100/day",
        CODEFORGE_RATE_LIMITS_ADDRESS="read=4/day",
    )
    callers = [make_caller(api_db_url, f"u{i}", "member") for i in range(3)]
    with client:
        codes = [client.get(f"{V1}/me", headers=c.headers).status_code for c in callers]
        codes.append(client.get(f"{V1}/me").status_code)  # anonymous: 401, still counted
        refused = client.get(f"{V1}/me", headers=callers[0].headers)
    assert codes == [200, 200, 200, 401]
    assert refused.status_code == 429
    assert "client address" in refused.json()["message"]


def test_limits_off(api_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app_client(api_db_url, monkeypatch, CODEFORGE_RATE_LIMITS="off")
    with client:
        assert {
            client.post(f"{V1}/session", json={"api_key": "cf_x"}).status_code for _ in range(15)
        } == {401}


# -- two real servers, one Redis ---------------------------------------------------------------


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from codeforge.cli.serve import serve; serve()",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 40
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(
                    proc.stderr.read().decode() if proc.stderr else "exited"
                ) from None
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


@pytest.fixture
def two_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RedisServer, list[str], dict[str, str]]]:
    """Two API processes on one SQLite file and a private Redis (this test may stop it)."""
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    from codeforge.db.migrate import ensure_schema

    ensure_schema(db_url)
    caller = make_caller(db_url, "shared", "member")
    env = {
        **os.environ,
        "CODEFORGE_DATABASE_URL": db_url,
        "CODEFORGE_REDIS_URL": redis_server.url,
        "CODEFORGE_REDIS_PREFIX": f"rltest{free_port()}:",
        "CODEFORGE_RATE_LIMITS": "read=5/day",
        "CODEFORGE_RATE_LIMITS_ADDRESS": "read=1000/day",
    }
    ports = [free_port(), free_port()]
    procs = [_serve(port, env) for port in ports]
    try:
        for proc, port in zip(procs, ports, strict=True):
            _wait_ready(proc, port)
        yield redis_server, [f"http://127.0.0.1:{p}" for p in ports], caller.headers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        redis_server.stop()


@pytest.mark.redis
def test_two_servers_share_one_counter_and_survive_a_redis_outage(
    two_servers: tuple[RedisServer, list[str], dict[str, str]],
) -> None:
    redis_server, (a, b), headers = two_servers

    def get(base: str) -> int:
        return httpx.get(f"{base}{V1}/me", headers=headers, timeout=10).status_code

    # 1. One shared counter: five requests across both servers, the sixth is refused.
    assert [get(a), get(b), get(a), get(b), get(a)] == [200] * 5
    assert get(b) == 429
    assert get(a) == 429

    # 2. Redis stopped mid-run: served, limited per process, never a 5xx.
    redis_server.stop()
    started = time.monotonic()
    during = [get(a), get(b), get(a), get(b)]
    assert during == [200] * 4
    assert time.monotonic() - started < 5
    assert [get(a) for _ in range(4)] == [200, 200, 200, 429]  # a's own counter: 5 per day
    assert get(b) == 200  # b counts apart while Redis is away

    # 3. Redis back (empty): after the breaker's pause both servers share again.
    redis_server.start()
    time.sleep(2.5)
    assert [get(b), get(a), get(b), get(a), get(b)] == [200] * 5
    assert get(a) == 429
