"""``/admin``: admins only (403 for the other roles, as in the API); users created,
re-roled, disabled and enabled through the API's own routes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import Site, make_user, sign_in
from .support import PASSWORD


def _admin(site: Site) -> tuple[TestClient, str]:
    make_user(site.url, "ada", "admin", PASSWORD)
    client = TestClient(site.client.app, raise_server_exceptions=False, follow_redirects=False)
    return client, sign_in(client, "ada")


def _user_id(html: str, name: str) -> int:
    found = re.search(rf'<tr id="user-(\d+)">\s*<td>{re.escape(name)} <a', html)
    assert found is not None, html
    return int(found.group(1))


def test_only_admins_see_and_use_the_admin_page(site: Site) -> None:
    make_user(site.url, "maxi", "maintainer", PASSWORD)
    for name in ("alice", "maxi"):
        client = site.new_client()
        csrf = sign_in(client, name)
        shown = client.get("/admin")
        assert shown.status_code == 403
        role = "member" if name == "alice" else "maintainer"
        assert f"this needs the admin role (you are {role})" in shown.text
        assert 'href="/admin"' not in client.get("/").text
        for path in ("/admin/users", "/admin/users/1/disable", "/admin/users/1/role"):
            posted = client.post(path, data={"csrf_token": csrf, "name": "x", "role": "admin"})
            assert posted.status_code == 403, path
    admin, _csrf = _admin(site)
    assert admin.get("/admin").status_code == 200
    assert 'href="/admin"' in admin.get("/").text
    assert site.new_client().get("/admin", follow_redirects=False).status_code == 303


def test_create_change_role_disable_enable(site: Site) -> None:
    admin, csrf = _admin(site)
    made = admin.post("/admin/users", data={"csrf_token": csrf, "name": "carol", "role": "member"})
    assert made.status_code == 303 and made.headers["location"] == "/admin?done=created"
    again = admin.post("/admin/users", data={"csrf_token": csrf, "name": "carol"})
    assert again.status_code == 409 and "carol" in again.text
    bad = admin.post("/admin/users", data={"csrf_token": csrf, "name": "a b"})
    assert bad.status_code == 422
    assert admin.post("/admin/users", data={"name": "dave"}).status_code == 403  # no CSRF
    page = admin.get("/admin").text
    carol = _user_id(page, "carol")
    role = admin.post(f"/admin/users/{carol}/role", data={"csrf_token": csrf, "role": "maintainer"})
    assert role.status_code == 303
    api = admin.get(f"/api/v1/users/{carol}").json()
    assert api["role"] == "maintainer"
    wrong = admin.post(f"/admin/users/{carol}/role", data={"csrf_token": csrf, "role": "god"})
    assert wrong.status_code == 422
    alice = site.new_client()
    sign_in(alice)
    alice_id = _user_id(page, "alice")
    off = admin.post(f"/admin/users/{alice_id}/disable", data={"csrf_token": csrf})
    assert off.status_code == 303
    assert alice.get("/", follow_redirects=False).status_code == 303  # signed out at once
    assert admin.get(f"/api/v1/users/{alice_id}").json()["disabled"] is True
    assert "disabled" in admin.get("/admin").text
    on = admin.post(f"/admin/users/{alice_id}/enable", data={"csrf_token": csrf})
    assert on.status_code == 303
    sign_in(alice)
    ada = _user_id(page, "ada")
    self_off = admin.post(f"/admin/users/{ada}/disable", data={"csrf_token": csrf})
    assert self_off.status_code == 409 and "you cannot disable yourself" in self_off.text
    self_role = admin.post(f"/admin/users/{ada}/role", data={"csrf_token": csrf, "role": "member"})
    assert self_role.status_code == 409 and "you cannot change your own role" in self_role.text
    rows = admin.get("/activity", params={"action": "user.role"}).text
    assert "from=member" in rows and "to=maintainer" in rows


def test_user_names_render_as_text(site: Site) -> None:
    admin, csrf = _admin(site)
    name = "<script>alert(1)</script>"
    made = admin.post("/admin/users", data={"csrf_token": csrf, "name": name})
    assert made.status_code == 303
    page = admin.get("/admin").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_admin_sets_a_password(site: Site) -> None:
    admin, csrf = _admin(site)
    page = admin.get("/admin").text
    alice_id = _user_id(page, "alice")
    alice = site.new_client()
    sign_in(alice)
    short = admin.post(
        f"/admin/users/{alice_id}/password", data={"csrf_token": csrf, "new_password": "x"}
    )
    assert short.status_code == 422 and "shorter than" in short.text
    done = admin.post(
        f"/admin/users/{alice_id}/password",
        data={"csrf_token": csrf, "new_password": "a fresh passphrase"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin?done=password"
    assert alice.get("/", follow_redirects=False).status_code == 303  # her session ended
    sign_in(alice, password="a fresh passphrase")
    member = site.new_client()
    csrf_member = sign_in(member, password="a fresh passphrase")
    refused = member.post(
        f"/admin/users/{alice_id}/password",
        data={"csrf_token": csrf_member, "new_password": "y" * 12},
    )
    assert refused.status_code == 403
    api = member.post(
        f"/api/v1/users/{alice_id}/password",
        headers={"X-CSRF-Token": csrf_member},
        json={"new_password": "y" * 12},
    )
    assert api.status_code == 403


def test_admin_sees_and_revokes_anyones_keys(site: Site) -> None:
    admin, csrf = _admin(site)
    page = admin.get("/admin").text
    maya = _user_id(page, "maya")
    keys = admin.get(f"/admin/users/{maya}/keys")
    assert keys.status_code == 200 and "maya-test" in keys.text
    assert site.maintainer_key not in keys.text
    key_id = re.search(r'action="/admin/keys/(\d+)/revoke"', keys.text)
    assert key_id is not None
    done = admin.post(f"/admin/keys/{key_id.group(1)}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/users/{maya}/keys"
    gone = site.client.get("/api/v1/me", headers={"Authorization": f"Bearer {site.maintainer_key}"})
    assert gone.status_code == 401
    assert "revoked" in admin.get(f"/admin/users/{maya}/keys").text
    assert admin.get("/admin/users/9999/keys").status_code == 404
    member = site.new_client()
    member_csrf = sign_in(member)
    assert member.get(f"/admin/users/{maya}/keys").status_code == 403
    refused = member.post(f"/admin/keys/{key_id.group(1)}/revoke", data={"csrf_token": member_csrf})
    assert refused.status_code == 403
