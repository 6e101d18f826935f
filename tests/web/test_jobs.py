"""``/jobs``, ``/jobs/{id}`` and "Generate as a job" on a blueprint's page."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from .conftest import Site, make_user, sign_in
from .support import PASSWORD
from .test_pages import DEMO_FORM


def _wait(client: TestClient, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("finished", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def _run(client: TestClient, csrf: str) -> str:
    """Generate lib-python (no secret; its defaults) as a job from its page; the job id."""
    form = {"csrf_token": csrf, "project": "demo"}
    response = client.post("/blueprints/lib-python/job", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/jobs/([0-9a-f]{32})", response.headers["location"])
    assert found is not None
    return found.group(1)


def test_generate_as_a_job_then_its_page_and_result(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    job_id = _run(client, csrf)
    running = client.get(f"/jobs/{job_id}").text
    assert f'data-events="/api/v1/jobs/{job_id}/events"' in running
    done = _wait(client, job_id)
    assert done["status"] == "finished", done["error"]
    page = client.get(f"/jobs/{job_id}").text
    assert '<script src="/static/job.js"' not in page and 'http-equiv="refresh"' not in page
    assert f'href="/api/v1/jobs/{job_id}/result"' in page
    project = re.search(r'href="/projects/(\d+)" id="job-project"', page)
    assert project is not None
    assert client.get(f"/projects/{project.group(1)}").status_code == 200
    result = client.get(f"/api/v1/jobs/{job_id}/result")
    assert result.status_code == 200 and result.headers["content-type"] == "application/zip"
    listed = client.get("/jobs").text
    assert f'href="/jobs/{job_id}"' in listed and "finished" in listed
    assert f'href="/jobs/{job_id}"' not in client.get("/jobs?status=failed").text


def test_a_secret_answer_is_refused_next_to_the_form(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.db_password": "s3cret-pw"}
    refused = client.post("/blueprints/web-demo/job", data=form)
    assert refused.status_code == 422
    assert "secret answers cannot be sent to a job" in refused.text
    assert "s3cret-pw" not in refused.text
    assert client.get("/api/v1/jobs").json() == []
    assert client.post("/blueprints/web-demo/job", data=DEMO_FORM).status_code == 403  # no CSRF


def test_someone_elses_job_is_not_found(site: Site) -> None:
    client = site.new_client()
    job_id = _run(client, sign_in(client))
    make_user(site.url, "bob", "member", PASSWORD)
    bob = site.new_client()
    sign_in(bob, "bob")
    missing = bob.get(f"/jobs/{job_id}")
    assert missing.status_code == 404 and f"no job {job_id}" in missing.text
    assert job_id not in bob.get("/jobs").text
    assert bob.get("/jobs/not-a-job").status_code == 422
    _wait(client, job_id)


def test_a_failed_job_shows_its_error(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    body = {
        "kind": "generate",
        "template": "lib-python",
        "name": "demo",
        "answers": {"license": "<script>no-such-licence</script>"},
    }
    job = client.post("/api/v1/jobs", headers={"X-CSRF-Token": csrf}, json=body).json()
    assert _wait(client, job["id"])["status"] == "failed"
    page = client.get(f"/jobs/{job['id']}").text
    assert '<p class="error" role="alert" id="job-error">' in page
    assert "&lt;script&gt;no-such-licence" in page and "<script>no-such" not in page
    assert 'id="job-result"' not in page
