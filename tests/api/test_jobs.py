"""``/api/v1/jobs`` without Redis: the in-process executor, on SQLite and PostgreSQL.

The same endpoints run on RQ when Redis is configured (tests/jobs/).
"""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest

from .conftest import Api

V1 = "/api/v1"


def wait_done(api: Api, caller: Any, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.as_(caller, "GET", f"{V1}/jobs/{job_id}").json()
        if job["status"] in ("finished", "failed"):
            return dict(job)
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s: {job}")
        time.sleep(0.05)


def submit(api: Api, caller: Any, body: dict[str, Any], **kwargs: Any) -> Any:
    return api.as_(caller, "POST", f"{V1}/jobs", json=body, **kwargs)


GENERATE = {"kind": "generate", "template": "lib-python", "name": "demo", "answers": {}}


def test_generate_job_result_is_the_generate_zip(api: Api) -> None:
    body = {**GENERATE, "answers": {"license": "MIT"}}
    response = submit(api, api.alice, body)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"{V1}/jobs/{job['id']}"
    assert job["status"] in ("queued", "started", "finished")
    assert job["kind"] == "generate"
    done = wait_done(api, api.alice, job["id"])
    assert done["status"] == "finished", done
    assert done["progress"] == 100
    assert done["attempts"] == 1
    assert done["result_url"] == f"{V1}/jobs/{job['id']}/result"
    result = api.as_(api.alice, "GET", done["result_url"])
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/zip"
    assert result.headers["content-disposition"].startswith('attachment; filename="demo.zip"')
    direct = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={k: v for k, v in body.items() if k != "kind"},
    )
    assert result.content == direct.content
    names = zipfile.ZipFile(io.BytesIO(result.content)).namelist()
    assert names and all(n.startswith("demo/") for n in names)
    # The project and its activity row are recorded once, owned by the submitter.
    pid = int(result.headers["x-project-id"])
    assert done["result"]["project_id"] == pid
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["blueprint_name"] == "lib-python"
    assert project["answers"]["license"] == "MIT"
    rows = api.as_(api.alice, "GET", f"{V1}/activity", params={"project": pid}).json()["items"]
    assert [r["action"] for r in rows] == ["generate"]
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import activity_for_record

    with session_factory(api.url)() as session:
        row = activity_for_record(session, job["id"])  # the job id is the record id
        assert row is not None
        assert row.id == rows[0]["id"]


def test_jobs_are_owned(api: Api) -> None:
    job = submit(api, api.alice, GENERATE).json()
    wait_done(api, api.alice, job["id"])
    for path in (f"{V1}/jobs/{job['id']}", f"{V1}/jobs/{job['id']}/result"):
        response = api.as_(api.bob, "GET", path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    missing = api.as_(api.bob, "GET", f"{V1}/jobs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json() == api.as_(api.bob, "GET", f"{V1}/jobs/{job['id']}").json() | {
        "message": missing.json()["message"]
    }
    assert [j["id"] for j in api.as_(api.bob, "GET", f"{V1}/jobs").json()] == []
    assert [j["id"] for j in api.as_(api.alice, "GET", f"{V1}/jobs").json()] == [job["id"]]
    # Admins see everyone's (as with projects).
    assert api.as_(api.root, "GET", f"{V1}/jobs/{job['id']}").status_code == 200


def test_idempotency_key_returns_the_same_job_and_refuses_a_different_body(api: Api) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = submit(api, api.alice, GENERATE, headers=headers)
    assert first.status_code == 202
    again = submit(api, api.alice, GENERATE, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    # The body field works the same as the header.
    body_key = submit(api, api.alice, {**GENERATE, "idempotency_key": "order-42"})
    assert body_key.status_code == 200
    assert body_key.json()["id"] == first.json()["id"]
    different = submit(api, api.alice, {**GENERATE, "name": "other"}, headers=headers)
    assert different.status_code == 409
    assert "Idempotency-Key" in different.json()["message"]
    # Keys are per owner: bob's order-42 is another job.
    bobs = submit(api, api.bob, GENERATE, headers=headers)
    assert bobs.status_code == 202
    assert bobs.json()["id"] != first.json()["id"]
    mismatch = submit(
        api, api.alice, {**GENERATE, "idempotency_key": "x"}, headers={"Idempotency-Key": "y"}
    )
    assert mismatch.status_code == 422
    wait_done(api, api.alice, first.json()["id"])
    wait_done(api, api.bob, bobs.json()["id"])
    projects = api.as_(api.alice, "GET", f"{V1}/projects").json()
    assert len(projects) == 1


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": "generate", "template": "lib-python"}, "body.generate.name"),
        ({"kind": "launch", "template": "x", "name": "y"}, "body"),
        ({**GENERATE, "extra": 1}, "body.generate.extra"),
        ({**GENERATE, "template": "../etc"}, "template"),
        ({**GENERATE, "template": "file:///etc"}, "template"),
        ({**GENERATE, "ref": "main"}, "ref"),
    ],
)
def test_bad_requests_are_422_naming_the_field(api: Api, body: dict[str, Any], where: str) -> None:
    response = submit(api, api.alice, body)
    assert response.status_code == 422, response.text
    assert response.json()["where"].startswith(where), response.json()
    assert api.as_(api.alice, "GET", f"{V1}/jobs").json() == []


def test_unknown_blueprint_is_404_and_no_job(api: Api) -> None:
    response = submit(api, api.alice, {**GENERATE, "template": "no-such-blueprint"})
    assert response.status_code == 404
    assert api.as_(api.alice, "GET", f"{V1}/jobs").json() == []


def test_git_template_on_a_private_address_is_refused_before_queueing(api: Api) -> None:
    body = {**GENERATE, "template": "https://127.0.0.1/repo.git"}
    response = submit(api, api.alice, body)
    assert response.status_code == 422
    assert response.json()["error"] == "security"
    assert "loopback" in response.json()["message"]


def test_register_needs_a_maintainer(api: Api) -> None:
    body = {"kind": "register", "git_url": "https://example.invalid/x.git"}
    response = submit(api, api.alice, body)
    assert response.status_code == 403
    assert "maintainer" in response.json()["message"]


# A project name the engine refuses: a permanent error found by the worker, not the API.
# (A refused *answer* would do as well, but after one, the next render on a warm
# environment currently fails: CompiledCache.close() keeps entries of a closed spool.)
BAD = {**GENERATE, "name": "con"}


def test_bad_request_fails_the_job_at_once_with_the_clear_message(api: Api) -> None:
    job = submit(api, api.alice, BAD).json()
    done = wait_done(api, api.alice, job["id"])
    assert done["status"] == "failed"
    assert done["attempts"] == 1  # permanent: no retry
    assert done["error_kind"] == "security"
    assert "reserved name" in done["error"]
    assert "project name" in done["error"]
    result = api.as_(api.alice, "GET", f"{V1}/jobs/{job['id']}/result")
    assert result.status_code == 409
    assert "failed" in result.json()["message"]
    assert api.as_(api.alice, "GET", f"{V1}/projects").json() == []


def test_failed_registry_admins_see_all_members_their_own(api: Api) -> None:
    alice_job = submit(api, api.alice, BAD).json()
    bob_job = submit(api, api.bob, BAD).json()
    ok_job = submit(api, api.bob, GENERATE).json()
    for caller, job in ((api.alice, alice_job), (api.bob, bob_job), (api.bob, ok_job)):
        wait_done(api, caller, job["id"])
    admin = api.as_(api.root, "GET", f"{V1}/jobs", params={"status": "failed"}).json()
    assert {j["id"] for j in admin} == {alice_job["id"], bob_job["id"]}
    mine = api.as_(api.bob, "GET", f"{V1}/jobs", params={"status": "failed"}).json()
    assert [j["id"] for j in mine] == [bob_job["id"]]
    bad_status = api.as_(api.root, "GET", f"{V1}/jobs", params={"status": "broken"})
    assert bad_status.status_code == 422


def test_secret_answers_are_not_stored_in_a_job(api: Api, tmp_path: Any) -> None:
    # Built-ins have no secret variable; a request naming one that is secret would be
    # refused, and a normal request keeps its answers in the job (shown to its owner).
    job = submit(api, api.alice, {**GENERATE, "answers": {"license": "MIT"}}).json()
    done = wait_done(api, api.alice, job["id"])
    assert done["status"] == "finished"
    assert "payload" not in done  # the stored request is never echoed back


def test_result_before_finishing_is_409(api: Api) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.jobs import store

    job, created = store.submit(
        session_factory(api.url),
        owner_id=api.alice.id,
        kind="generate",
        payload={"template": "lib-python", "name": "x", "answers": {}},
        queue="nowhere",
        max_attempts=3,
        timeout=60,
        requeue_after=3600,
    )
    assert created
    response = api.as_(api.alice, "GET", f"{V1}/jobs/{job.id}/result")
    assert response.status_code == 409
    assert "queued" in response.json()["message"]
