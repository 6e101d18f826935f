"""API keys (hash only, expiry, revocation, last-used, login rows), roles, users and keys routes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from .conftest import Api

V1 = "/api/v1"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Bearer cf_" + "x" * 40, "Basic abc", "Bearer " + "cf_" * 200],
)
def test_missing_or_bad_key_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.client.get(f"{V1}/blueprints", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_only_the_hash_is_stored_and_last_used_and_login_are_recorded(api: Api) -> None:
    from sqlalchemy import select

    from codeforge.db.engine import session_factory
    from codeforge.db.models import Activity, ApiKey

    assert api.as_(api.alice, "GET", f"{V1}/me").json()["name"] == "alice"
    api.as_(api.alice, "GET", f"{V1}/me")
    with session_factory(api.url)() as session:
        row = session.get(ApiKey, api.alice.key_id)
        assert row is not None
        assert api.alice.key not in (row.key_hash, row.prefix)
        assert row.last_used_at is not None
        logins = session.scalars(
            select(Activity).where(Activity.action == "login", Activity.actor == "alice")
        ).all()
    assert len(logins) == 1  # once per idle period, not once per request


def test_expired_and_revoked_keys_are_refused(api: Api) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.db.models import utcnow
    from codeforge.db.repositories import create_api_key, get_user

    with session_factory(api.url).begin() as session:
        user = get_user(session, api.bob.id)
        _, expired = create_api_key(session, user, "old", expires_at=utcnow() - timedelta(days=1))
    assert (
        api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {expired}"}).status_code
        == 401
    )
    created = api.as_(api.bob, "POST", f"{V1}/keys", json={"name": "temp", "expires_days": 1})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    assert api.client.get(f"{V1}/me", headers=auth).status_code == 200
    listed = api.as_(api.bob, "GET", f"{V1}/keys").json()
    assert all("key" not in k and key not in str(k) for k in listed)
    assert api.as_(api.bob, "DELETE", f"{V1}/keys/{created.json()['id']}").status_code == 200
    assert api.client.get(f"{V1}/me", headers=auth).status_code == 401
    actions = [r["action"] for r in api.as_(api.bob, "GET", f"{V1}/activity").json()["items"]]
    assert "key.create" in actions and "key.revoke" in actions


def test_key_ownership(api: Api) -> None:
    # Another member's key: 404 to revoke, 404 to list; an admin can do both.
    assert api.as_(api.bob, "DELETE", f"{V1}/keys/{api.alice.key_id}").status_code == 404
    assert api.as_(api.bob, "GET", f"{V1}/keys", params={"user": "alice"}).status_code == 404
    assert (
        api.as_(api.bob, "POST", f"{V1}/keys", json={"name": "k", "user": "alice"}).status_code
        == 404
    )
    assert api.as_(api.root, "GET", f"{V1}/keys", params={"user": "alice"}).status_code == 200
    made = api.as_(api.root, "POST", f"{V1}/keys", json={"name": "for-alice", "user": "alice"})
    assert made.status_code == 201
    assert made.json()["user_id"] == api.alice.id
    assert api.as_(api.root, "DELETE", f"{V1}/keys/{api.alice.key_id}").status_code == 200
    assert api.as_(api.alice, "GET", f"{V1}/me").status_code == 401


def test_users_are_admin_only(api: Api) -> None:
    for caller in (api.alice, api.bob, api.maya):
        assert api.as_(caller, "GET", f"{V1}/users").status_code == 403
        assert api.as_(caller, "POST", f"{V1}/users", json={"name": "eve"}).status_code == 403
        assert api.as_(caller, "GET", f"{V1}/users/{api.root.id}").status_code == 403
    made = api.as_(api.root, "POST", f"{V1}/users", json={"name": "eve", "role": "maintainer"})
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "maintainer"
    assert api.as_(api.root, "POST", f"{V1}/users", json={"name": "eve"}).status_code == 409
    assert (
        api.as_(api.root, "POST", f"{V1}/users", json={"name": "x", "role": "god"}).status_code
        == 422
    )
    assert (
        api.as_(api.root, "POST", f"{V1}/users", json={"name": "x", "admin": True}).status_code
        == 422
    )
    names = [u["name"] for u in api.as_(api.root, "GET", f"{V1}/users").json()]
    assert names == sorted(["alice", "bob", "eve", "maya", "root"])
    assert api.as_(api.root, "GET", f"{V1}/users/999999").status_code == 404
    rows = api.as_(api.root, "GET", f"{V1}/activity", params={"action": "user.create"}).json()
    assert rows["items"][0]["target"] == "user:eve"


def test_disabling_a_user_stops_their_keys_at_once(api: Api) -> None:
    # Warm the key cache first: disabling must not wait for it to lapse.
    for _ in range(2):
        assert api.as_(api.alice, "GET", f"{V1}/blueprints").status_code == 200
    assert api.as_(api.bob, "POST", f"{V1}/users/{api.alice.id}/disable").status_code == 403
    assert api.as_(api.root, "POST", f"{V1}/users/999999/disable").status_code == 404
    assert api.as_(api.root, "POST", f"{V1}/users/{api.root.id}/disable").status_code == 409
    disabled = api.as_(api.root, "POST", f"{V1}/users/{api.alice.id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert api.as_(api.alice, "GET", f"{V1}/blueprints").status_code == 401
    assert api.as_(api.alice, "GET", f"{V1}/me").status_code == 401
    assert api.as_(api.bob, "GET", f"{V1}/me").status_code == 200  # others unaffected
    again = api.as_(api.root, "POST", f"{V1}/users/{api.alice.id}/disable")
    assert again.status_code == 200  # idempotent
    enabled = api.as_(api.root, "POST", f"{V1}/users/{api.alice.id}/enable")
    assert enabled.json()["disabled"] is False
    assert api.as_(api.alice, "GET", f"{V1}/me").status_code == 200
    actions = [
        r["action"]
        for r in api.as_(
            api.root, "GET", f"{V1}/activity", params={"action": "user.disable"}
        ).json()["items"]
    ]
    assert actions == ["user.disable"]


def test_users_disable_command(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import run_cli

    monkeypatch.setenv("CODEFORGE_DATABASE_URL", api.url)
    assert api.as_(api.bob, "GET", f"{V1}/me").status_code == 200  # cached now
    code, output = run_cli("users", "disable", "bob")
    assert code == 0, output
    assert "Disabled user bob" in output
    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    # Another process: this server sees it once its cached verification lapses
    # (at once on PostgreSQL, where the change is also announced with NOTIFY).
    deadline = time.monotonic() + ctx.config.key_cache_seconds + 2
    while api.as_(api.bob, "GET", f"{V1}/me").status_code != 401:
        assert time.monotonic() < deadline, "the disabled user's key still works"
        time.sleep(0.05)
    code, output = run_cli("users", "disable", "nobody")
    assert code != 0
    code, _ = run_cli("users", "enable", "bob")
    assert code == 0
    users = {u["name"]: u for u in api.as_(api.root, "GET", f"{V1}/users").json()}
    assert users["bob"]["disabled"] is False


def test_on_postgresql_other_processes_changes_apply_at_once(api: Api) -> None:
    """A disable or revoke committed elsewhere (CLI, another server) is NOTIFYed to servers."""
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import get_user, revoke_api_key, set_user_disabled

    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    if not api.url.startswith("postgresql"):
        assert ctx.auth_listener is None
        pytest.skip("NOTIFY is PostgreSQL's; SQLite servers wait for the key cache to lapse")
    assert ctx.auth_listener.ready.wait(10)
    assert ctx.config.key_cache_seconds >= 5
    for caller, change in (
        (api.alice, lambda s: set_user_disabled(s, get_user(s, api.alice.id), True)),
        (api.bob, lambda s: revoke_api_key(s, api.bob.key_id)),
    ):
        assert api.as_(caller, "GET", f"{V1}/me").status_code == 200  # cached now
        with session_factory(api.url).begin() as session:  # as another process would
            change(session)
        started = time.monotonic()
        while api.as_(caller, "GET", f"{V1}/me").status_code != 401:
            assert time.monotonic() - started < 2, "the change was not announced"
            time.sleep(0.02)
    assert api.as_(api.maya, "GET", f"{V1}/me").status_code == 200
