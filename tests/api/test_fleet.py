"""``GET /api/v1/fleet``: the caller's projects against the catalog's newest versions."""

from __future__ import annotations

from datetime import UTC, datetime

from codeforge.db.engine import session_factory
from codeforge.db.models import Project
from codeforge.db.repositories import log_activity

from .conftest import Api
from .test_projects import _generated

V1 = "/api/v1"


def test_fleet_shows_each_project_against_the_newest_version(api: Api) -> None:
    mine, bobs = _generated(api, api.alice, "mine"), _generated(api, api.bob, "bobs")
    latest = api.as_(api.alice, "GET", f"{V1}/blueprints/lib-python").json()["version"]
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with session_factory(api.url).begin() as session:
        row = session.get(Project, mine)
        assert row is not None
        row.blueprint_version, row.remote_url = "0.0.1", "https://github.com/alice/mine"
        log_activity(session, "update-pr", project_id=mine, target="https://x/pull/1", at=at)
    shown = api.as_(api.alice, "GET", f"{V1}/fleet")
    assert shown.status_code == 200, shown.text
    [entry] = shown.json()
    assert (entry["id"], entry["blueprint"], entry["version"]) == (mine, "lib-python", "0.0.1")
    assert (entry["latest"], entry["lagging"]) == (latest, True)
    assert entry["remote"] == "https://github.com/alice/mine"
    assert entry["last_update"].startswith("2026-12-01T12:00:00")
    everyone = {e["id"]: e for e in api.as_(api.root, "GET", f"{V1}/fleet").json()}
    assert set(everyone) == {mine, bobs}
    assert everyone[bobs]["lagging"] is False and everyone[bobs]["latest"] == latest
    assert everyone[bobs]["remote"] is None
    assert (entry["owner"], everyone[mine]["owner"], everyone[bobs]["owner"]) == (
        "alice", "alice", "bob",
    )  # fmt: skip
    only = api.as_(api.root, "GET", f"{V1}/fleet", params={"blueprint": "nothing"})
    assert only.status_code == 200 and only.json() == []
    assert api.as_(api.root, "GET", f"{V1}/fleet", params={"blueprint": "../x"}).status_code == 422
    assert api.client.get(f"{V1}/fleet").status_code == 401
