"""``POST /api/v1/fleet/update``: every lagging project of a maintainer, updated as one
``fleet-update`` job (stored trees merged, or pull requests on the contract server)."""

from __future__ import annotations

from pathlib import Path

from integrations.forge_contract import ForgeContract
from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Project

from .conftest import Api
from .test_jobs import wait_done
from .test_publish import forge, no_token_anywhere, options, remote_files, store_token
from .test_update_job import README_V1, README_V2, archive, generated, register

__all__ = ["forge"]  # the fixture, shared with the publish tests

V1 = "/api/v1"
BRANCH = "codeforge/update-shelf-bp-1.1.0"


def fleet_update(api: Api, body: dict[str, object]) -> dict[str, object]:
    response = api.as_(api.maya, "POST", f"{V1}/fleet/update", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "fleet-update"
    assert response.headers["location"] == f"{V1}/jobs/{response.json()['id']}"
    done = wait_done(api, api.maya, response.json()["id"], timeout=60)
    assert done["status"] == "finished", done
    return done


def release_two(api: Api) -> None:
    register(api, archive("1.1.0", README_V2, {"template/NEW.txt": b"new file\n"}))


def test_every_lagging_project_is_merged_and_one_failure_stops_none(api: Api) -> None:
    register(api, archive("1.0.0", README_V1))
    first, second, broken = (generated(api, api.maya) for _ in range(3))
    others = generated(api, api.alice)
    with session_factory(api.url).begin() as session:
        row = session.get(Project, broken)
        assert row is not None
        row.path = "api:gone/shelf"  # its stored tree is no longer there
    release_two(api)
    done = fleet_update(api, {"concurrency": 2})
    result = done["result"]
    assert isinstance(result, dict)
    by_id = {p["id"]: p for p in result["projects"]}
    assert set(by_id) == {first, second, broken}  # only the caller's own projects
    for pid in (first, second):
        assert by_id[pid]["status"] == "updated", by_id[pid]
        assert (by_id[pid]["from_version"], by_id[pid]["to_version"]) == ("1.0.0", "1.1.0")
        project = api.as_(api.maya, "GET", f"{V1}/projects/{pid}").json()
        assert project["blueprint_version"] == "1.1.0"
        diff = api.as_(api.maya, "GET", f"{V1}/projects/{pid}/diff").json()
        assert diff["update_available"] is False, diff
    assert by_id[broken]["status"] == "failed"
    assert "no longer stored" in by_id[broken]["error"]
    assert result["counts"] == {"updated": 2, "failed": 1}
    shown = api.as_(api.alice, "GET", f"{V1}/projects/{others}").json()
    assert shown["blueprint_version"] == "1.0.0"
    with session_factory(api.url)() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "update")).all()
        assert sorted(r.project_id for r in rows) == sorted([first, second])
    # Again: nothing lags but the broken project, which still fails alone.
    again = fleet_update(api, {"blueprint": "shelf-bp"})["result"]
    assert isinstance(again, dict)
    assert again["counts"] == {"up-to-date": 2, "failed": 1}


def test_only_maintainers_may_update_the_fleet(api: Api) -> None:
    refused = api.as_(api.alice, "POST", f"{V1}/fleet/update", json={})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden"
    assert "maintainer" in refused.json()["message"]
    as_job = api.as_(api.alice, "POST", f"{V1}/jobs", json={"kind": "fleet-update"})
    assert as_job.status_code == 403, as_job.text
    assert api.client.post(f"{V1}/fleet/update", json={}).status_code == 401
    for body in ({"concurrency": 0}, {"concurrency": 33}, {"blueprint": "../x"}, {"x": 1}):
        assert api.as_(api.maya, "POST", f"{V1}/fleet/update", json=body).status_code == 422
    with session_factory(api.url)() as session:
        assert session.scalars(select(Activity).where(Activity.action == "update")).all() == []


def test_with_pr_each_published_project_gets_a_pull_request(
    api: Api, forge: ForgeContract, tmp_path: Path
) -> None:
    register(api, archive("1.0.0", README_V1))
    store_token(api, api.maya, forge)
    published, other, unpublished = (generated(api, api.maya) for _ in range(3))
    for pid, name in ((published, "shelf"), (other, "shelf-two")):
        body = options(forge, repo=name)
        sent = api.as_(api.maya, "POST", f"{V1}/projects/{pid}/publish", json=body)
        assert wait_done(api, api.maya, sent.json()["id"])["status"] == "finished"
    release_two(api)
    done = fleet_update(api, {"pr": True, "concurrency": 2})
    result = done["result"]
    assert isinstance(result, dict)
    by_id = {p["id"]: p for p in result["projects"]}
    for pid in (published, other):
        assert by_id[pid]["status"] == "pr-opened", by_id[pid]
        assert by_id[pid]["pull"].endswith("/pull/1")
    assert by_id[unpublished]["status"] == "failed"
    assert "never published" in by_id[unpublished]["error"]
    assert result["counts"] == {"pr-opened": 2, "failed": 1}
    repo = next(r for r in forge.repos.values() if r.name == "shelf")
    [pull] = repo.pulls
    assert (pull["head"], pull["base"]) == (BRANCH, "main")
    assert "`NEW.txt` (add)" in pull["body"]
    files = remote_files(forge, tmp_path, repo.owner, repo.name)
    assert "NEW.txt" not in files  # main is untouched: the update waits in the pull request
    # The project keeps its version until the pull request is merged and it is updated.
    project = api.as_(api.maya, "GET", f"{V1}/projects/{published}").json()
    assert project["blueprint_version"] == "1.0.0"
    with session_factory(api.url)() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "update-pr")).all()
        assert sorted((r.project_id, r.target) for r in rows) == sorted(
            (pid, by_id[pid]["pull"]) for pid in (published, other)
        )
    again = fleet_update(api, {"pr": True})["result"]
    assert isinstance(again, dict)
    assert {p["id"]: p["status"] for p in again["projects"]}[published] == "pr-unchanged"
    assert [len(r.pulls) for r in forge.repos.values()] == [1, 1]
    no_token_anywhere(api, forge, str(result), str(again))
