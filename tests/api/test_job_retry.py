"""``POST /jobs/{id}/retry`` and ``DELETE /jobs/{id}``: a failed job queued again from a first
attempt, or discarded, by its owner or an admin; anyone else gets 404, a job that did not fail 409."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codeforge.errors import NotFoundError
from codeforge.jobs.kinds import KINDS, JobRun, Owner, Work

from .conftest import Api, Caller
from .test_jobs import wait_done

V1 = "/api/v1"


class NeedsFileKind:
    """Fails for good while the payload's file is missing; then returns its text."""

    name = "test-needs-file"
    role = "member"

    def check(self, ctx: Any, owner: Owner, payload: Any) -> None:
        return None

    def run(self, job: JobRun) -> Work:
        path = Path(str(job.payload["path"]))
        if not path.exists():
            raise NotFoundError(f"no file {path.name}", where="path")
        return Work(result={"text": path.read_text()})


@pytest.fixture(autouse=True)
def needs_file_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, NeedsFileKind.name, NeedsFileKind())  # type: ignore[arg-type]


def failed_job(api: Api, caller: Caller, path: Path) -> str:
    body = {"kind": NeedsFileKind.name, "payload": {"path": str(path)}}
    response = api.as_(caller, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(api, caller, response.json()["id"])
    assert done["status"] == "failed" and "no file" in str(done["error"]), done
    return str(done["id"])


def test_the_owner_retries_a_failed_job_and_it_runs_again(api: Api, tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    job_id = failed_job(api, api.alice, marker)
    marker.write_text("here now")
    response = api.as_(api.alice, "POST", f"{V1}/jobs/{job_id}/retry")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == job_id and response.json()["error"] is None
    done = wait_done(api, api.alice, job_id)
    assert done["status"] == "finished" and done["result"] == {"text": "here now"}, done
    assert done["attempts"] == 1
    # A finished job cannot be retried, nor discarded.
    again = api.as_(api.alice, "POST", f"{V1}/jobs/{job_id}/retry")
    assert again.status_code == 409 and "only a failed job" in again.json()["message"]
    assert api.as_(api.alice, "DELETE", f"{V1}/jobs/{job_id}").status_code == 409


def test_roles_for_retry_and_discard(api: Api, tmp_path: Path) -> None:
    job_id = failed_job(api, api.alice, tmp_path / "missing")
    for method, path in (("POST", f"/jobs/{job_id}/retry"), ("DELETE", f"/jobs/{job_id}")):
        other = api.as_(api.bob, method, V1 + path)
        assert other.status_code == 404, other.text
    # The admin retries anyone's failed job (it fails again: the file is still missing).
    assert api.as_(api.root, "POST", f"{V1}/jobs/{job_id}/retry").status_code == 200
    assert wait_done(api, api.alice, job_id)["status"] == "failed"
    assert api.as_(api.root, "DELETE", f"{V1}/jobs/{job_id}").status_code == 204
    assert api.as_(api.alice, "GET", f"{V1}/jobs/{job_id}").status_code == 404
    # The owner discards their own; an unknown or malformed id is 404/422.
    mine = failed_job(api, api.alice, tmp_path / "missing")
    assert api.as_(api.alice, "DELETE", f"{V1}/jobs/{mine}").status_code == 204
    assert api.as_(api.alice, "POST", f"{V1}/jobs/{'0' * 32}/retry").status_code == 404
    assert api.as_(api.alice, "POST", f"{V1}/jobs/nope/retry").status_code in (404, 422)


def test_admins_see_the_queue_and_its_failed_jobs(api: Api, tmp_path: Path) -> None:
    job_id = failed_job(api, api.alice, tmp_path / "missing")
    for caller in (api.alice, api.maya):
        assert api.as_(caller, "GET", f"{V1}/admin/queue").status_code == 403
        assert api.as_(caller, "GET", f"{V1}/admin/rate-limits").status_code == 403
    shown = api.as_(api.root, "GET", f"{V1}/admin/queue")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["backend"].startswith("in-process")
    assert body["counts"]["failed"] == 1 and body["counts"]["queued"] == 0
    assert body["oldest_queued_seconds"] is None
    assert [j["id"] for j in body["failed"]] == [job_id]
    assert "no file" in body["failed"][0]["error"]
    api.as_(api.root, "DELETE", f"{V1}/jobs/{job_id}")
    assert api.as_(api.root, "GET", f"{V1}/admin/queue").json()["failed"] == []


def test_the_rate_limits_in_force(api: Api) -> None:
    body = api.as_(api.root, "GET", f"{V1}/admin/rate-limits").json()
    assert body["per_key"]["auth"] == "10 per 1 minute"
    assert body["per_key"]["generate"] == "120 per 1 minute"
    assert body["per_address"] == body["per_key"]


def test_configured_limits_and_off() -> None:
    from codeforge.app.config import ApiConfig
    from codeforge.app.limits import configured

    config = ApiConfig(
        "sqlite://",
        Path("unused"),
        rate_limits="ai=off;read=5/second",
        rate_limits_address="auth=3/minute",
    )
    found = configured(config)
    assert found["per_key"]["ai"] is None and found["per_key"]["read"] == "5 per 1 second"
    assert found["per_address"]["auth"] == "3 per 1 minute"
    assert found["per_address"]["read"] == "3000 per 1 minute"
