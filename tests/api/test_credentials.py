"""``/api/v1/credentials``: write-only tokens, metadata listings, owners only, sealed at rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from codeforge.app import user_credentials
from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Credential
from codeforge.errors import CredentialKeyError
from codeforge.settings import load_settings

from .conftest import Api

V1 = "/api/v1/credentials"
TOKEN = "ghp_" + "ApiS3cretToken" * 3


def test_put_list_delete(api: Api) -> None:
    put = api.as_(api.alice, "PUT", f"{V1}/github", json={"token": TOKEN})
    assert put.status_code == 200, put.text
    assert put.json()["host"] == "github.com" and put.json()["name"] == "default"
    body = {"token": TOKEN + "2", "host": "https://GitLab.Example.com", "name": "work"}
    assert api.as_(api.alice, "PUT", f"{V1}/gitlab", json=body).status_code == 200
    listed = api.as_(api.alice, "GET", V1).json()
    assert [(c["provider"], c["host"], c["name"]) for c in listed] == [
        ("github", "github.com", "default"),
        ("gitlab", "gitlab.example.com", "work"),
    ]
    assert all(set(c) == {"provider", "host", "name", "created_at", "last_used_at"} for c in listed)
    gone = api.as_(
        api.alice, "DELETE", f"{V1}/gitlab", params={"host": "gitlab.example.com", "name": "work"}
    )
    assert gone.status_code == 200
    assert len(api.as_(api.alice, "GET", V1).json()) == 1


def test_another_users_credential_is_never_reached(api: Api) -> None:
    assert api.as_(api.alice, "PUT", f"{V1}/github", json={"token": TOKEN}).status_code == 200
    assert api.as_(api.bob, "GET", V1).json() == []
    assert api.as_(api.root, "GET", V1).json() == []  # not even an admin's listing
    assert api.as_(api.bob, "DELETE", f"{V1}/github").status_code == 404
    assert len(api.as_(api.alice, "GET", V1).json()) == 1


@pytest.mark.parametrize(
    ("provider", "body", "status"),
    [
        ("github", {"token": TOKEN, "owner": "alice"}, 422),
        ("github", {"token": ""}, 422),
        ("github", {}, 422),
        ("github", {"token": TOKEN, "name": "../x"}, 400),
        ("github", {"token": TOKEN, "host": "ftp://h"}, 400),
        ("github", {"token": "two words"}, 400),
        ("bitbucket", {"token": TOKEN}, 404),
    ],
)
def test_bad_input(api: Api, provider: str, body: dict[str, str], status: int) -> None:
    response = api.as_(api.alice, "PUT", f"{V1}/{provider}", json=body)
    assert response.status_code == status, response.text
    assert TOKEN not in response.text
    assert api.as_(api.alice, "GET", V1).json() == []


def test_the_token_is_nowhere_in_clear(api: Api) -> None:
    assert api.as_(api.alice, "PUT", f"{V1}/github", json={"token": TOKEN}).status_code == 200
    with session_factory(api.url)() as session:
        [row] = session.scalars(select(Credential)).all()
        assert TOKEN not in row.secret
        activity = session.scalars(select(Activity).where(Activity.action.like("credential%")))
        rows = [(a.target, str(a.details)) for a in activity]
    assert rows and TOKEN not in str(rows)
    assert TOKEN not in api.logs.getvalue()


def test_tokens_open_for_their_owner_only_and_survive_a_secret_rotation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.as_(api.alice, "PUT", f"{V1}/github", json={"token": TOKEN}).status_code == 200
    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    key = ("github", "github.com", "default")
    with ctx.factory.begin() as session:
        assert user_credentials.token(session, ctx, api.alice.id, key) == TOKEN
        # Alice's sealed token copied onto Bob's row does not open for Bob.
        alice_row = session.scalars(select(Credential)).one()
        session.add(
            Credential(
                user_id=api.bob.id,
                provider="github",
                host="github.com",
                name="default",
                secret=alice_row.secret,
                key_id=alice_row.key_id,
            )
        )
        session.flush()
        with pytest.raises(CredentialKeyError, match="failed authentication"):
            user_credentials.token(session, ctx, api.bob.id, key)
        session.rollback()
    old_secret = user_credentials.server_secret(ctx.settings.data_dir)
    monkeypatch.setenv("CODEFORGE_SECRET_KEY", "n" * 40)
    with ctx.factory.begin() as session, pytest.raises(CredentialKeyError, match="another key"):
        user_credentials.token(session, ctx, api.alice.id, key)
    env = {"CODEFORGE_SECRET_KEY": "n" * 40, "CODEFORGE_PREVIOUS_SECRET_KEY": old_secret.decode()}
    with ctx.factory.begin() as session:
        assert user_credentials.rotate(session, load_settings(), env) == 1
    with ctx.factory.begin() as session:
        assert user_credentials.token(session, ctx, api.alice.id, key) == TOKEN
