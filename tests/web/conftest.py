"""An in-process site (API + page) on SQLite with a member who has a password and the demo blueprint."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from postgres_support import reset_engines

from .support import PASSWORD, blueprint_zip


@dataclasses.dataclass
class Site:
    client: TestClient
    url: str
    maintainer_key: str

    def new_client(self) -> TestClient:
        return TestClient(self.client.app, raise_server_exceptions=False)


def make_user(url: str, name: str, role: str, password: str | None) -> str:
    """A user (with ``password`` when given); returns an API key of theirs."""
    from codeforge.cache.sessions import hash_password
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import create_api_key, create_user

    with session_factory(url).begin() as session:
        user = create_user(session, name, role)
        if password is not None:
            user.password_hash = hash_password(password)
        _row, key = create_api_key(session, user, f"{name}-test")
        return key


def register_demo(client: TestClient, key: str) -> None:
    response = client.post(
        "/api/v1/blueprints/upload",
        headers={"Authorization": f"Bearer {key}"},
        files={"archive": ("bp.zip", blueprint_zip(), "application/zip")},
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    from codeforge.settings import load_settings
    from codeforge.web.site import create_site

    url = f"sqlite:///{tmp_path / 'site' / 'codeforge.db'}"
    settings = load_settings(overrides={"database_url": url})
    app = create_site(settings, log_stream=io.StringIO())
    make_user(url, "alice", "member", PASSWORD)
    key = make_user(url, "maya", "maintainer", None)
    with TestClient(app, raise_server_exceptions=False) as client:
        register_demo(client, key)
        yield Site(client, url, key)
    reset_engines()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str = "alice", password: str = PASSWORD) -> str:
    """Sign in through the page; the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"csrf_token": token, "name": name, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)
