"""``/account`` and the API routes under it: keys shown once and revoked, the password changed."""

from __future__ import annotations

import re

from .conftest import Site, csrf_of, sign_in
from .support import HOSTILE, PASSWORD

NEW_PASSWORD = "a much better passphrase"


def test_account_needs_a_session(site: Site) -> None:
    response = site.new_client().get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_create_key_shown_once_then_revoke(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    made = client.post("/account/keys", data={"csrf_token": csrf, "name": "laptop"})
    assert made.status_code == 201, made.text
    found = re.search(r'id="key-value" readonly value="(cf_[^"]+)"', made.text)
    assert found is not None, made.text
    key = found.group(1)
    assert made.headers["cache-control"] == "no-store"
    me = site.new_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["name"] == "alice"
    again = client.get("/account").text
    assert key not in again and "laptop" in again  # listed, never shown again
    key_id = re.search(r'<tr id="key-(\d+)">\s*<td>laptop</td>', again)
    assert key_id is not None
    revoked = client.post(
        f"/account/keys/{key_id.group(1)}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account?done=revoked"
    assert "The key is revoked." in client.get("/account?done=revoked").text
    gone = site.new_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert gone.status_code == 401


def test_key_forms_check_csrf_input_and_ownership(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    assert client.post("/account/keys", data={"name": "x"}).status_code == 403
    assert client.post("/account/keys", data={"csrf_token": "no", "name": "x"}).status_code == 403
    empty = client.post("/account/keys", data={"csrf_token": csrf, "name": ""})
    assert empty.status_code == 422 and "name: String should have at least 1" in empty.text
    days = client.post("/account/keys", data={"csrf_token": csrf, "name": "k", "expires_days": "0"})
    assert days.status_code == 422 and "expires_days" in days.text
    # maya's key (made by the fixture) is not alice's: not found, as in the API
    maya_keys = site.client.get(
        "/api/v1/keys", headers={"Authorization": f"Bearer {site.maintainer_key}"}
    ).json()
    other = client.post(f"/account/keys/{maya_keys[0]['id']}/revoke", data={"csrf_token": csrf})
    assert other.status_code == 404
    still = site.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {site.maintainer_key}"}
    )
    assert still.status_code == 200


def test_key_names_render_as_text(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    made = client.post("/account/keys", data={"csrf_token": csrf, "name": HOSTILE})
    assert made.status_code == 201
    for html in (made.text, client.get("/account").text):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_change_password_keeps_this_session_and_ends_the_others(site: Site) -> None:
    client, other = site.new_client(), site.new_client()
    csrf = sign_in(client)
    sign_in(other)
    form = {
        "csrf_token": csrf,
        "current_password": "wrong one",
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    wrong = client.post("/account/password", data=form)
    assert wrong.status_code == 422 and "the current password is not right" in wrong.text
    differ = client.post(
        "/account/password", data={**form, "current_password": PASSWORD, "confirm_password": "x"}
    )
    assert differ.status_code == 422 and "the two new passwords differ" in differ.text
    short = {**form, "current_password": PASSWORD, "new_password": "x", "confirm_password": "x"}
    too_short = client.post("/account/password", data=short)
    assert too_short.status_code == 422 and "shorter than" in too_short.text
    done = client.post(
        "/account/password", data={**form, "current_password": PASSWORD}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
    assert "Your password is changed" in client.get("/account?done=password").text
    assert other.get("/account", follow_redirects=False).status_code == 303  # signed out
    fresh = site.new_client()
    token = csrf_of(fresh.get("/login").text)
    old = fresh.post("/login", data={"csrf_token": token, "name": "alice", "password": PASSWORD})
    assert old.status_code == 401
    sign_in(fresh, password=NEW_PASSWORD)


def test_api_password_change_and_role_change(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    headers = {"X-CSRF-Token": csrf}
    bad = client.post("/api/v1/me/password", headers=headers, json={"current_password": "x"})
    assert bad.status_code == 422
    wrong = client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and wrong.json()["where"] == "current_password"
    role = client.post("/api/v1/users/1/role", headers=headers, json={"role": "admin"})
    assert role.status_code == 403  # a member
    ok = client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert ok.status_code == 204
    assert client.get("/api/v1/session").status_code == 401  # every session ended
