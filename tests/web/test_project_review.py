"""A project's page: "Review code" (a ``review`` job, plain form with the CSRF token, the
owner only, as the API's job kind) and the latest review's findings from its SARIF log,
escaped, with the job's live progress while it runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import update

from codeforge.app import jobstore
from codeforge.db.engine import session_factory
from codeforge.db.models import Job

from .conftest import Site, csrf_of, make_user, sign_in
from .support import PASSWORD
from .test_project_update import _job_project, _wait

SHELL = b"""import subprocess


def run():
    cmd = input("command: ")
    return subprocess.call(cmd, shell=True)
"""


def _shelf_project(site: Site) -> int:
    """alice generates a blueprint holding a shell injection as a job; the project's id."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "shelf/blueprint.yaml", "name: shelf\nversion: 1.0.0\ndescription: code to review\n"
        )
        archive.writestr("shelf/template/app.py", SHELL)
    response = site.client.post(
        "/api/v1/blueprints/upload",
        headers={"Authorization": f"Bearer {site.maintainer_key}"},
        files={"archive": ("bp.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    client = site.new_client()
    csrf = sign_in(client)
    form = {"csrf_token": csrf, "project": "shelf", "version": "1.0.0"}
    queued = client.post("/blueprints/shelf/job", data=form, follow_redirects=False)
    assert queued.status_code == 303, queued.text
    job = _wait(client, queued.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "finished", job
    return int(job["result"]["project_id"])  # type: ignore[index]


def test_the_owner_reviews_and_the_page_lists_the_findings(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEFORGE_AI_BASE_URL", raising=False)
    monkeypatch.delenv("CODEFORGE_AI_API_LOCAL", raising=False)
    pid = _shelf_project(site)
    client = site.new_client()
    sign_in(client)
    before = client.get(f"/projects/{pid}").text
    assert "Not reviewed yet." in before and 'id="review-code"' in before
    assert 'name="static_only" value="true"' in before  # no model here: static only
    assert "No AI model is configured" in before

    refused = client.post(f"/projects/{pid}/review", data={"static_only": "true"})
    posted = client.post(
        f"/projects/{pid}/review",
        data={"csrf_token": csrf_of(before), "static_only": "true"},
        follow_redirects=False,
    )

    assert refused.status_code == 403
    assert posted.status_code == 303 and posted.headers["location"].startswith("/jobs/")
    job_id = posted.headers["location"].rsplit("/", 1)[1]
    job = _wait(client, job_id)
    assert job["kind"] == "review" and job["status"] == "finished", job
    shown = client.get(f"/projects/{pid}").text
    assert 'id="findings"' in shown and "static analysis only" in shown
    assert "<code>shelf/app.py:6</code>" in shown
    assert "<code>taint/CWE-78</code>" in shown
    assert '<span class="badge severity-high">high</span>' in shown
    assert f'href="/api/v1/jobs/{job_id}/result"' in shown
    severities = [s for s in ("critical", "high", "medium", "low") if f"severity-{s}" in shown]
    first = shown.index(f"severity-{severities[0]}")
    assert all(first <= shown.index(f"severity-{s}") for s in severities)  # most severe first
    assert len(_review_jobs(site)) == 1  # the refused post queued nothing


def _review_jobs(site: Site) -> list[Job]:
    with session_factory(site.url)() as session:
        return list(session.query(Job).filter(Job.kind == "review"))


def _fake_review(site: Site, pid: int, status: str, sarif: bytes | None = None) -> str:
    """A review job of alice's project in ``status`` (with ``sarif`` as its finished log)."""
    ctx = site.client.app.state.ctx  # type: ignore[attr-defined]
    with session_factory(site.url)() as session:
        owner_id = session.get_one(Job, _any_job(site)).owner_id
    job, _ = jobstore.submit(
        ctx.factory,
        owner_id=owner_id,
        kind="review",
        payload={"project_id": pid, "static_only": True},
        queue="nowhere",
        max_attempts=1,
        timeout=60,
        requeue_after=3600,
    )
    values: dict[str, object] = {"status": status, "progress": 40, "stage": "[1/2] <b>x</b>.py"}
    if sarif is not None:
        artifact = ctx.artifacts.results.put("review", sarif, suffix="sarif")
        values.update(
            artifact_id=artifact,
            progress=100,
            result={"project_id": pid, "files": 2, "model": None, "findings": 2},
        )
    with session_factory(site.url).begin() as session:
        session.execute(update(Job).where(Job.id == job.id).values(**values))
    return job.id


def _any_job(site: Site) -> str:
    with session_factory(site.url)() as session:
        return session.query(Job).filter(Job.kind == "generate").one().id


def _sarif(*results: dict[str, object]) -> bytes:
    return json.dumps({"version": "2.1.0", "runs": [{"results": list(results)}]}).encode()


HOSTILE = {
    "ruleId": "<script>alert(1)</script>",
    "level": "warning",
    "message": {"text": "bad <img src=x onerror=alert(1)> here"},
    "locations": [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "<b>evil</b>.py"},
                "region": {"startLine": 3},
            }
        }
    ],
}
BROKEN = {"ruleId": 7, "message": "not an object", "locations": "nowhere", "level": "error"}


def test_findings_from_the_log_are_escaped_and_odd_shapes_tolerated(site: Site) -> None:
    pid = _job_project(site)
    _fake_review(site, pid, "finished", _sarif(HOSTILE, BROKEN))
    client = site.new_client()
    sign_in(client)

    shown = client.get(f"/projects/{pid}").text

    assert "<script>alert" not in shown and "<img src=x" not in shown
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in shown
    assert "<code>&lt;b&gt;evil&lt;/b&gt;.py:3</code>" in shown
    assert "bad &lt;img src=x onerror=alert(1)&gt; here" in shown
    assert '<span class="badge severity-medium">medium</span>' in shown  # from the level
    assert shown.index("severity-high") < shown.index("severity-medium")  # the broken one
    assert "<code>:0</code>" in shown and "2 findings" in shown


def test_a_running_review_follows_the_job_live_and_a_failed_one_says_why(site: Site) -> None:
    pid = _job_project(site)
    job_id = _fake_review(site, pid, "started")
    client = site.new_client()
    sign_in(client)

    running = client.get(f"/projects/{pid}").text

    assert f'data-events="/api/v1/jobs/{job_id}/events"' in running
    assert '<script src="/static/job.js" defer></script>' in running
    assert '<meta http-equiv="refresh" content="2">' in running  # without JavaScript
    assert 'id="job-progress" max="100" value="40"' in running
    assert "[1/2] &lt;b&gt;x&lt;/b&gt;.py" in running
    with session_factory(site.url).begin() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(status="failed", error="<i>boom</i>")
        )
    failed = client.get(f"/projects/{pid}").text
    assert "The latest review failed: &lt;i&gt;boom&lt;/i&gt;" in failed
    assert "job.js" not in failed


def test_only_the_owner_gets_the_button(site: Site) -> None:
    """As the API's review job: the owner reviews; an admin reads the findings; others 404."""
    pid = _job_project(site)
    _fake_review(site, pid, "finished", _sarif(HOSTILE))
    make_user(site.url, "bob", "member", PASSWORD)
    make_user(site.url, "ada", "admin", PASSWORD)
    bob = site.new_client()
    bob_csrf = sign_in(bob, "bob")
    ada = site.new_client()
    ada_csrf = sign_in(ada, "ada")

    assert bob.get(f"/projects/{pid}").status_code == 404
    assert bob.post(f"/projects/{pid}/review", data={"csrf_token": bob_csrf}).status_code == 404
    shown = ada.get(f"/projects/{pid}").text
    assert 'id="findings"' in shown and 'id="review-code"' not in shown
    assert ada.post(f"/projects/{pid}/review", data={"csrf_token": ada_csrf}).status_code == 404
    assert len(_review_jobs(site)) == 1  # only the fake one
