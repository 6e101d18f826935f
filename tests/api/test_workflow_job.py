"""``POST /projects/{id}/workflow``: a project's workflow stages run on the server as a job, on
the stored tree, each stage's result recorded as it ends; deploy needs the maintainer role."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity

from .conftest import Api, Caller
from .test_jobs import wait_done

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """lib-python's verify runs `python -m pytest` and `ruff`: this interpreter's, first."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def generated(api: Api, caller: Caller) -> int:
    body = {"kind": "generate", "template": "lib-python", "name": "shelf", "answers": {}}
    response = api.as_(caller, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(api, caller, response.json()["id"])
    assert done["status"] == "finished", done
    return int(done["result"]["project_id"])


def run(api: Api, caller: Caller, pid: int, **body: object) -> dict[str, object]:
    response = api.as_(caller, "POST", f"{V1}/projects/{pid}/workflow", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{V1}/jobs/{response.json()['id']}"
    return wait_done(api, caller, response.json()["id"], timeout=120)


def test_the_verify_stage_runs_on_the_stored_tree_and_a_rerun_skips(api: Api) -> None:
    pid = generated(api, api.alice)
    done = run(api, api.alice, pid, stages=["verify"])
    assert done["status"] == "finished", done
    result = done["result"]
    assert result["project_id"] == pid
    assert [(s["stage"], s["status"]) for s in result["stages"]] == [("verify", "succeeded")]
    state = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/workflow").json()
    assert state["last_stage"] == "verify" and state["last_status"] == "succeeded"
    assert state["stages"][0]["inputs_key"] == result["stages"][0]["inputs_key"]
    again = run(api, api.alice, pid, stages=["verify"])
    assert [s["status"] for s in again["result"]["stages"]] == ["skipped"]
    forced = run(api, api.alice, pid, stages=["verify"], force=True)
    assert [s["status"] for s in forced["result"]["stages"]] == ["succeeded"]
    with session_factory(api.url)() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "workflow")).all()
        assert [(r.project_id, r.target) for r in rows] == [(pid, "verify"), (pid, "verify")]


def test_someone_elses_project_is_404_and_bad_options_are_422(api: Api) -> None:
    pid = generated(api, api.alice)
    other = api.as_(api.bob, "POST", f"{V1}/projects/{pid}/workflow", json={})
    assert other.status_code == 404, other.text
    for body, where in [
        ({"stages": ["ship"]}, "stages"),
        ({"env": "../prod"}, "env"),
        ({"target": "mars"}, "target"),
        ({"stages": "verify"}, "stages"),
        ({"surprise": 1}, "surprise"),
    ]:
        bad = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/workflow", json=body)
        assert bad.status_code == 422, (body, bad.text)
        assert where in bad.text


def test_deploy_needs_the_maintainer_role(api: Api) -> None:
    pid = generated(api, api.alice)
    refused = api.as_(
        api.alice, "POST", f"{V1}/projects/{pid}/workflow", json={"stages": ["deploy"]}
    )
    assert refused.status_code == 403, refused.text
    assert "maintainer" in refused.json()["message"]
    # Without stages, a member's run is every declared stage but deploy: lib-python
    # declares none, so its verify, build and publish are what it would run; the
    # publish stage then fails with no package index, recorded.
    done = run(api, api.alice, pid, stages=["verify", "publish"])
    assert done["status"] == "failed"
    assert "no package index" in str(done["error"])
    state = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/workflow").json()
    assert {s["stage"]: s["status"] for s in state["stages"]} == {
        "verify": "succeeded",
        "publish": "failed",
    }
