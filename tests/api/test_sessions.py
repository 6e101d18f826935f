"""Login sessions: cookie + CSRF, password and key logins, logout, revocation, Redis and signed."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache.redis_support import (
    RedisServer,
    delete_prefix,
    redis_test_url,
    require_redis,
    unique_prefix,
)
from cli_support import console
from click.testing import CliRunner
from fastapi.testclient import TestClient

from codeforge.api.config import COOKIE_NAME
from codeforge.cache.sessions import (
    SessionStore,
    hash_password,
    server_secret,
    verify_password,
)
from codeforge.cli.admin import keys, users

from .conftest import Api, Caller

V1 = "/api/v1"
PASSWORD = "correct horse battery"


def _set_password(api: Api, caller: Caller, password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", api.url)
    result = CliRunner().invoke(
        users, ["set-password", caller.name, "--stdin"], input=password + "\n"
    )
    assert result.exit_code == 0, result.output
    assert password not in result.output


def _login(client: TestClient, **body: str) -> dict[str, object]:
    response = client.post(f"{V1}/session", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def _client(api: Api) -> TestClient:
    """A second client on the same app with its own cookie jar."""
    return TestClient(api.client.app, raise_server_exceptions=False)


# -- passwords and the secret -----------------------------------------------------------


def test_password_hash_is_slow_salted_and_checked() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password(PASSWORD, first)
    assert not verify_password(PASSWORD + "x", first)
    for stored in (None, "", "plain", "scrypt$1$1$1$AA$AA", first.replace("scrypt", "md5")):
        assert not verify_password(PASSWORD, stored)


def test_server_secret_is_made_once_with_0600(tmp_path: Path) -> None:
    secret = server_secret(tmp_path / "data", env={})
    assert server_secret(tmp_path / "data", env={}) == secret
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert server_secret(tmp_path, env={"CODEFORGE_SECRET_KEY": "k" * 40}) == b"k" * 40
    from codeforge.errors import UsageError

    with pytest.raises(UsageError, match="at least 32"):
        server_secret(tmp_path, env={"CODEFORGE_SECRET_KEY": "short"})


def test_signed_cookies_refuse_tampering_and_expiry(tmp_path: Path) -> None:
    store = SessionStore(b"x" * 32, ttl=60)
    cookie, data = store.create(7, 0, None)
    assert store.read(cookie) == data
    head, payload, tag = cookie.split(".")
    assert store.read(f"{head}.{payload}A.{tag}") is None
    assert store.read(f"{head}.{payload}.{tag[:-2]}AA") is None
    assert SessionStore(b"y" * 32).read(cookie) is None  # another server secret
    expired = SessionStore(b"x" * 32, ttl=-1)
    old, _ = expired.create(7, 0, None)
    assert store.read(old) is None


# -- the routes, without Redis (signed cookies) ---------------------------------------------


def test_password_login_cookie_csrf_and_logout(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_password(api, api.alice, PASSWORD, monkeypatch)
    client = _client(api)
    response = client.post(f"{V1}/session", json={"name": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["name"] == "alice" and body["storage"] == "signed"
    set_cookie = response.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=lax", "path=/", "max-age="):
        assert attribute in set_cookie
    assert "secure" not in set_cookie  # off unless CODEFORGE_SESSION_SECURE
    csrf = str(body["csrf_token"])
    assert client.get(f"{V1}/me").json()["name"] == "alice"
    assert client.get(f"{V1}/session").json()["csrf_token"] == csrf
    # Unsafe methods need the CSRF header.
    refused = client.post(f"{V1}/keys", json={"name": "from-web"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["message"]
    wrong = client.post(f"{V1}/keys", json={"name": "w"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    made = client.post(f"{V1}/keys", json={"name": "from-web"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    # Logout needs CSRF too; afterwards the same cookie is refused.
    cookie = client.cookies[COOKIE_NAME]
    assert client.delete(f"{V1}/session").status_code == 403
    assert client.delete(f"{V1}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = _client(api)
    replay.cookies.set(COOKIE_NAME, cookie)
    assert replay.get(f"{V1}/me").status_code == 401
    # Bearer keys are unaffected.
    assert api.as_(api.alice, "GET", f"{V1}/me").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "alice", "password": "wrong password"},
        {"name": "nobody", "password": PASSWORD},
        {"name": "bob", "password": PASSWORD},  # bob has no password
        {"api_key": "cf_" + "x" * 40},
    ],
)
def test_login_failures_share_one_message(
    api: Api, monkeypatch: pytest.MonkeyPatch, body: dict[str, str]
) -> None:
    _set_password(api, api.alice, PASSWORD, monkeypatch)
    response = _client(api).post(f"{V1}/session", json=body)
    assert response.status_code == 401
    assert response.json()["message"] == "the name and password, or the API key, are not valid"
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "body",
    [{}, {"name": "alice"}, {"password": "x"}, {"name": "a", "password": "b", "api_key": "c"}],
)
def test_login_needs_one_way_in(api: Api, body: dict[str, str]) -> None:
    response = _client(api).post(f"{V1}/session", json=body)
    assert response.status_code == 422, response.text


def test_disabled_user_cannot_log_in_and_loses_sessions(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_password(api, api.alice, PASSWORD, monkeypatch)
    client = _client(api)
    _login(client, name="alice", password=PASSWORD)
    assert api.as_(api.root, "POST", f"{V1}/users/{api.alice.id}/disable").status_code == 200
    assert client.get(f"{V1}/me").status_code == 401
    assert (
        _client(api).post(f"{V1}/session", json={"name": "alice", "password": PASSWORD}).status_code
        == 401
    )


def test_password_change_ends_every_session(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_password(api, api.alice, PASSWORD, monkeypatch)
    first, second = _client(api), _client(api)
    _login(first, name="alice", password=PASSWORD)
    _login(second, api_key=api.alice.key)
    assert first.get(f"{V1}/me").status_code == 200
    _set_password(api, api.alice, "another long password", monkeypatch)
    assert first.get(f"{V1}/me").status_code == 401
    assert second.get(f"{V1}/me").status_code == 401
    assert (
        _client(api).post(f"{V1}/session", json={"name": "alice", "password": PASSWORD}).status_code
        == 401
    )
    _login(_client(api), name="alice", password="another long password")


def test_key_login_ends_when_the_key_is_revoked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(api)
    body = _login(client, api_key=api.bob.key)
    assert body["user"]["name"] == "bob"  # type: ignore[index]
    assert client.get(f"{V1}/me").status_code == 200
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", api.url)
    assert CliRunner().invoke(keys, ["revoke", str(api.bob.key_id)]).exit_code == 0
    assert client.get(f"{V1}/me").status_code == 401


def test_set_password_rules_and_unknown_user(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"CODEFORGE_DATABASE_URL": api.url}
    short = console("users", "set-password", "alice", "--stdin", input="short\n", env=env)
    assert short.returncode == 2, short.stderr  # usage
    assert short.stderr == "error: the password is shorter than 8 characters\n"
    missing = console("users", "set-password", "zed", "--stdin", input=PASSWORD + "\n", env=env)
    assert (missing.returncode, missing.stderr) == (8, "error: user 'zed' not found\n")
    assert PASSWORD not in missing.stdout + missing.stderr
    refused = _client(api).post(f"{V1}/session", json={"name": "alice", "password": "short"})
    assert refused.status_code == 401  # nothing was set


def test_session_secrets_never_reach_the_logs(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_password(api, api.alice, PASSWORD, monkeypatch)
    client = _client(api)
    body = _login(client, name="alice", password=PASSWORD)
    cookie = client.cookies[COOKIE_NAME]
    client.get(f"{V1}/me")
    client.post(f"{V1}/session", json={"name": "alice", "password": "a wrong secret pw"})
    logs = api.logs.getvalue()
    assert logs  # the access log is there
    for secret in (PASSWORD, "a wrong secret pw", cookie, str(body["csrf_token"])):
        assert secret not in logs


def test_login_attempts_are_rate_limited(api_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    monkeypatch.setenv("CODEFORGE_RATE_LIMITS", "auth=3/day")
    app = create_app(
        load_settings(overrides={"database_url": api_db_url}), log_stream=io.StringIO()
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [
            client.post(f"{V1}/session", json={"name": "x", "password": "wrong one"}).status_code
            for _ in range(4)
        ]
    assert codes == [401, 401, 401, 429]


# -- with Redis ---------------------------------------------------------------------------------


@pytest.fixture
def redis_api(
    api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, str, str]]:
    url = redis_test_url()
    require_redis(url)
    prefix = unique_prefix()
    monkeypatch.setenv("CODEFORGE_REDIS_PREFIX", prefix)
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    app = create_app(
        load_settings(overrides={"database_url": api_db_url, "redis_url": url}),
        log_stream=io.StringIO(),
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, url, prefix
    finally:
        delete_prefix(url, prefix)


@pytest.mark.redis
def test_redis_sessions_store_only_a_hash_and_logout_deletes(
    redis_api: tuple[TestClient, str, str], api_db_url: str
) -> None:
    import redis

    from .conftest import make_caller

    client, url, prefix = redis_api
    carol = make_caller(api_db_url, "carol", "member")
    body = _login(client, api_key=carol.key)
    assert body["storage"] == "redis"
    cookie = client.cookies[COOKIE_NAME]
    assert cookie.startswith("r1.")
    sid = cookie[3:]
    tag = sid.partition(".")[0]  # the user's hash tag: record and index share a slot
    assert len(tag) == 16 and int(tag, 16) >= 0  # an HMAC: the user id is not in it
    r = redis.Redis.from_url(url)
    names = [n.decode() for n in r.keys(f"{prefix}sess:*")]
    record = f"{prefix}sess:{{{tag}}}:{hashlib.sha256(sid.encode()).hexdigest()}"
    assert sorted(names) == sorted([record, f"{prefix}sess:{{{tag}}}:user"])
    assert all(sid not in n for n in names)
    assert sid.encode() not in r.get(record)  # type: ignore[operator]
    assert 0 < r.ttl(record) <= 8 * 3600
    assert client.get(f"{V1}/me").json()["name"] == "carol"
    csrf = str(body["csrf_token"])
    assert client.delete(f"{V1}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert r.exists(record) == 0
    replay = TestClient(client.app, raise_server_exceptions=False)
    replay.cookies.set(COOKIE_NAME, cookie)
    assert replay.get(f"{V1}/me").status_code == 401
    # Logging out of a Redis session ends that one only.
    again = TestClient(client.app, raise_server_exceptions=False)
    other = TestClient(client.app, raise_server_exceptions=False)
    csrf_again = str(_login(again, api_key=carol.key)["csrf_token"])
    _login(other, api_key=carol.key)
    assert again.delete(f"{V1}/session", headers={"X-CSRF-Token": csrf_again}).status_code == 204
    assert other.get(f"{V1}/me").status_code == 200


@pytest.mark.redis
def test_set_password_deletes_redis_sessions(
    redis_api: tuple[TestClient, str, str], api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from .conftest import make_caller

    client, url, prefix = redis_api
    dave = make_caller(api_db_url, "dave", "member")
    _login(client, api_key=dave.key)
    tag = client.cookies[COOKIE_NAME][3:].partition(".")[0]
    r = redis.Redis.from_url(url)
    assert r.scard(f"{prefix}sess:{{{tag}}}:user") == 1
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", api_db_url)
    monkeypatch.setenv("CODEFORGE_REDIS_URL", url)
    result = CliRunner().invoke(users, ["set-password", "dave", "--stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert r.keys(f"{prefix}sess:*") == []
    assert client.get(f"{V1}/me").status_code == 401


@pytest.mark.redis
def test_redis_down_login_falls_back_to_signed_cookies(
    tmp_path: Path, api_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    from .conftest import make_caller

    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        app = create_app(
            load_settings(overrides={"database_url": api_db_url, "redis_url": server.url}),
            log_stream=io.StringIO(),
        )
        erin = make_caller(api_db_url, "erin", "member")
        with TestClient(app, raise_server_exceptions=False) as client:
            assert _login(client, api_key=erin.key)["storage"] == "redis"
            server.stop()
            started = time.monotonic()
            assert client.get(f"{V1}/me").status_code == 401  # cannot be checked: log in again
            fallback = TestClient(app, raise_server_exceptions=False)
            assert _login(fallback, api_key=erin.key)["storage"] == "signed"
            assert fallback.get(f"{V1}/me").status_code == 200
            assert time.monotonic() - started < 5
            server.start()
            time.sleep(2.2)  # the outage breaker's pause
            back = TestClient(app, raise_server_exceptions=False)
            assert _login(back, api_key=erin.key)["storage"] == "redis"
            assert fallback.get(f"{V1}/me").status_code == 200  # signed sessions stay valid
    finally:
        server.stop()


def test_set_password_prompts_twice_and_hides_input(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", api.url)
    # The confirmation differs, Click asks again, and stdin has ended: interrupted (130).
    mismatch = console("users", "set-password", "maya", input=f"{PASSWORD}\nsomething else\n")
    assert mismatch.returncode == 130, mismatch.stderr
    assert "The two entered values do not match." in mismatch.stdout + mismatch.stderr
    assert mismatch.stderr.endswith("Aborted.\n")
    assert PASSWORD not in mismatch.stdout + mismatch.stderr
    failed = _client(api).post(f"{V1}/session", json={"name": "maya", "password": PASSWORD})
    assert failed.status_code == 401  # nothing was set
    result = CliRunner().invoke(users, ["set-password", "maya"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert _login(_client(api), name="maya", password=PASSWORD)["user"]["name"] == "maya"  # type: ignore[index]


def test_secret_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    from codeforge.errors import UsageError

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(UsageError, match="the server secret") as info:
        server_secret(tmp_path / "file" / "data", env={})
    assert "secret_key" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODEFORGE_SESSION_TTL", "soon"),
        ("CODEFORGE_SESSION_TTL", "0"),
        ("CODEFORGE_SESSION_SECURE", "maybe"),
    ],
)
def test_bad_session_settings_name_the_variable(
    api_db_url: str, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from codeforge.api.app import create_app
    from codeforge.errors import UsageError
    from codeforge.settings import load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        create_app(load_settings(overrides={"database_url": api_db_url}), log_stream=io.StringIO())


def test_secure_cookie_and_short_ttl(api_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    from .conftest import make_caller

    monkeypatch.setenv("CODEFORGE_SESSION_SECURE", "true")
    monkeypatch.setenv("CODEFORGE_SESSION_TTL", "1")
    app = create_app(
        load_settings(overrides={"database_url": api_db_url}), log_stream=io.StringIO()
    )
    fay = make_caller(api_db_url, "fay", "member")
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.post(f"{V1}/session", json={"api_key": fay.key})
        assert "secure" in response.headers["set-cookie"].lower()
        assert client.get(f"{V1}/me").status_code == 200
        time.sleep(1.2)
        assert client.get(f"{V1}/me").status_code == 401  # expired
