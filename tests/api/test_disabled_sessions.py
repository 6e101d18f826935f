"""Disabling a user ends their login sessions for good: enabling them again revives none.

Regression for a cookie that worked again after disable + enable. Covered for signed
cookies (no Redis) and Redis sessions, for the API's disable and the CLI's, and for a
Redis that was down while the user was disabled.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from cache.redis_support import delete_prefix, redis_test_url, require_redis
from cli_support import console
from fastapi.testclient import TestClient

from codeforge.api.config import COOKIE_NAME

from .conftest import Api, Caller, make_caller

V1 = "/api/v1"
PASSWORD = "correct horse battery"


def _set_password(url: str, name: str) -> None:
    from codeforge.cache.sessions import hash_password
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import get_user_by_name

    with session_factory(url).begin() as session:
        user = get_user_by_name(session, name)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)


def _logged_in(app: object, **body: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    response = client.post(f"{V1}/session", json=body)
    assert response.status_code == 200, response.text
    assert client.get(f"{V1}/me").status_code == 200
    return client


def _replay(app: object, cookie: str) -> int:
    """The status of ``GET /me`` with only this old cookie (a fresh client, no new login)."""
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    client.cookies.set(COOKIE_NAME, cookie)
    return int(client.get(f"{V1}/me").status_code)


def _toggle(api: Api, caller: Caller, action: str) -> None:
    response = api.as_(api.root, "POST", f"{V1}/users/{caller.id}/{action}")
    assert response.status_code == 200, response.text
    assert response.json()["disabled"] is (action == "disable")


def test_enable_after_disable_revives_no_signed_session(api: Api) -> None:
    _set_password(api.url, "alice")
    app = api.client.app
    by_password = _logged_in(app, name="alice", password=PASSWORD)
    by_key = _logged_in(app, api_key=api.alice.key)
    cookies = [c.cookies[COOKIE_NAME] for c in (by_password, by_key)]
    assert all(c.startswith("s1.") for c in cookies)

    _toggle(api, api.alice, "disable")
    assert [_replay(app, c) for c in cookies] == [401, 401]
    _toggle(api, api.alice, "enable")
    assert [_replay(app, c) for c in cookies] == [401, 401]
    assert by_password.get(f"{V1}/me").status_code == 401
    # The keys are back, and a new login works; the old cookies stay dead.
    assert api.as_(api.alice, "GET", f"{V1}/me").status_code == 200
    fresh = _logged_in(app, name="alice", password=PASSWORD)
    assert fresh.get(f"{V1}/me").json()["name"] == "alice"
    assert [_replay(app, c) for c in cookies] == [401, 401]
    # Another user's session was never touched.
    assert _logged_in(app, api_key=api.bob.key).get(f"{V1}/me").json()["name"] == "bob"


def test_cli_disable_and_enable_end_sessions_for_good(api: Api) -> None:
    app = api.client.app
    client = _logged_in(app, api_key=api.bob.key)
    cookie = client.cookies[COOKIE_NAME]
    env = {"CODEFORGE_DATABASE_URL": api.url}
    disabled = console("users", "disable", "bob", env=env)
    assert (disabled.returncode, disabled.stdout) == (0, "Disabled user bob.\n"), disabled.stderr
    assert _replay(app, cookie) == 401
    enabled = console("users", "enable", "bob", env=env)
    assert (enabled.returncode, enabled.stdout) == (0, "Enabled user bob.\n"), enabled.stderr
    assert _replay(app, cookie) == 401
    assert api.as_(api.bob, "GET", f"{V1}/me").status_code == 200


def test_enabling_an_enabled_user_ends_nothing(api: Api) -> None:
    client = _logged_in(api.client.app, api_key=api.bob.key)
    _toggle(api, api.bob, "enable")  # already enabled: no change, sessions untouched
    assert client.get(f"{V1}/me").status_code == 200


# -- Redis sessions ------------------------------------------------------------------------


def _redis_app(db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> object:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    monkeypatch.setenv("CODEFORGE_API_KEY_CACHE_SECONDS", "0")
    return create_app(
        load_settings(overrides={"database_url": db_url, "redis_url": redis_url}),
        log_stream=io.StringIO(),
    )


@pytest.fixture
def redis_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    from cache.redis_support import unique_prefix

    url = redis_test_url()
    require_redis(url)
    prefix = unique_prefix()
    monkeypatch.setenv("CODEFORGE_REDIS_PREFIX", prefix)
    try:
        yield url, prefix
    finally:
        delete_prefix(url, prefix)


@pytest.mark.redis
def test_redis_sessions_are_deleted_on_disable_and_stay_dead(
    api_db_url: str, redis_prefix: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    url, prefix = redis_prefix
    app = _redis_app(api_db_url, url, monkeypatch)
    carol = make_caller(api_db_url, "carol", "member")
    root = make_caller(api_db_url, "rooty", "admin")
    with TestClient(app, raise_server_exceptions=False) as admin:  # type: ignore[arg-type]
        client = _logged_in(app, api_key=carol.key)
        cookie = client.cookies[COOKIE_NAME]
        assert cookie.startswith("r1.")
        r = redis.Redis.from_url(url)
        tag = cookie[3:].partition(".")[0]
        assert r.scard(f"{prefix}sess:{{{tag}}}:user") == 1
        off = admin.post(f"{V1}/users/{carol.id}/disable", headers=root.headers)
        assert off.status_code == 200, off.text
        assert r.keys(f"{prefix}sess:*") == []  # the records are gone, not only refused
        on = admin.post(f"{V1}/users/{carol.id}/enable", headers=root.headers)
        assert on.status_code == 200, on.text
        assert _replay(app, cookie) == 401
        assert admin.get(f"{V1}/me", headers=carol.headers).status_code == 200


@pytest.mark.redis
def test_a_redis_session_left_behind_stays_dead(
    api_db_url: str, redis_prefix: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CLI run without CODEFORGE_REDIS_URL cannot delete the record: the epoch still holds."""
    import redis

    url, prefix = redis_prefix
    app = _redis_app(api_db_url, url, monkeypatch)
    dana = make_caller(api_db_url, "dana", "member")
    with TestClient(app, raise_server_exceptions=False):  # type: ignore[arg-type]
        cookie = _logged_in(app, api_key=dana.key).cookies[COOKIE_NAME]
        assert cookie.startswith("r1.")
        env = {"CODEFORGE_DATABASE_URL": api_db_url, "CODEFORGE_REDIS_URL": ""}
        for action in ("disable", "enable"):
            done = console("users", action, "dana", env=env)
            assert done.returncode == 0, done.stderr
        index = f"{prefix}sess:{{{cookie[3:].partition('.')[0]}}}:user"
        assert redis.Redis.from_url(url).scard(index) == 1
        assert _replay(app, cookie) == 401
