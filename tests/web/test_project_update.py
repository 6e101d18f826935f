"""A project's page: the diff to the newest blueprint version and the "update" action, with the
API's role checks (the owner updates; an admin reads; anyone else gets 404)."""

from __future__ import annotations

import io
import time
import zipfile

from fastapi.testclient import TestClient

from .conftest import Site, csrf_of, make_user, sign_in
from .support import FILES, PASSWORD
from .test_pages import DEMO_FORM


def _job_project(site: Site) -> int:
    """alice generates web-demo 2.1.0 as a job (so its tree is stored); the project's id."""
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.use_db": "false"}
    queued = client.post("/blueprints/web-demo/job", data=form, follow_redirects=False)
    assert queued.status_code == 303, queued.text
    job = _wait(client, queued.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "finished", job
    return int(job["result"]["project_id"])


def _wait(client: TestClient, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("finished", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.05)


def _register_v2(site: Site) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in FILES.items():
            if name == "blueprint.yaml":
                content = content.replace(b"version: 2.1.0", b"version: 2.2.0")
            if name == "template/README.md.jinja":
                content += b"<b>new in 2.2</b>\n"
            archive.writestr(f"web-demo/{name}", content)
    response = site.client.post(
        "/api/v1/blueprints/upload",
        headers={"Authorization": f"Bearer {site.maintainer_key}"},
        files={"archive": ("bp.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text


def test_the_page_shows_the_diff_and_the_update_runs_as_a_job(site: Site) -> None:
    pid = _job_project(site)
    client = site.new_client()
    sign_in(client)
    first = client.get(f"/projects/{pid}").text
    assert "Up to date with web-demo 2.1.0." in first, first.split("diff-h")[2][:800]
    _register_v2(site)
    shown = client.get(f"/projects/{pid}").text
    assert "web-demo 2.1.0 → 2.2.0" in shown
    assert "<code>README.md</code></td><td>update" in shown
    assert "+&lt;b&gt;new in 2.2&lt;/b&gt;" in shown  # the diff, escaped
    assert f'action="/projects/{pid}/update"' in shown
    # Without the CSRF token the form is refused.
    assert client.post(f"/projects/{pid}/update", data={}).status_code == 403
    done = client.post(
        f"/projects/{pid}/update", data={"csrf_token": csrf_of(shown)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/jobs/")
    job = _wait(client, done.headers["location"].rsplit("/", 1)[1])
    assert job["kind"] == "update" and job["status"] == "finished", job
    after = client.get(f"/projects/{pid}").text
    assert "Up to date with web-demo 2.2.0." in after
    assert "<code>update</code>" in after  # its activity row


def test_roles_on_the_page(site: Site) -> None:
    pid = _job_project(site)
    _register_v2(site)
    make_user(site.url, "bob", "member", PASSWORD)
    make_user(site.url, "ada", "admin", PASSWORD)
    bob = site.new_client()
    bob_csrf = sign_in(bob, "bob")
    assert bob.get(f"/projects/{pid}").status_code == 404
    refused = bob.post(f"/projects/{pid}/update", data={"csrf_token": bob_csrf})
    assert refused.status_code == 404, refused.text
    ada = site.new_client()
    ada_csrf = sign_in(ada, "ada")
    shown = ada.get(f"/projects/{pid}").text
    assert "web-demo 2.1.0 → 2.2.0" in shown  # an admin reads the diff
    assert f'action="/projects/{pid}/update"' not in shown  # but updates only their own
    assert ada.post(f"/projects/{pid}/update", data={"csrf_token": ada_csrf}).status_code == 404


def test_a_downloaded_project_says_why_there_is_no_diff(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.use_db": "false"}
    made = client.post("/blueprints/web-demo/download", data=form)
    shown = client.get(f"/projects/{made.headers['x-project-id']}").text
    assert "No diff: the generated tree of project" in shown and "no longer stored" in shown
    assert "/update" not in shown


def test_update_as_pull_request_shows_for_a_published_project_with_a_credential(
    site: Site,
) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.db.models import Project

    pid = _job_project(site)
    _register_v2(site)
    client = site.new_client()
    csrf = sign_in(client)
    assert 'id="update-pr"' not in client.get(f"/projects/{pid}").text  # never published
    # Without a remote the job is refused before it exists, with the API's message.
    refused = client.post(f"/projects/{pid}/update", data={"csrf_token": csrf, "pr": "true"})
    assert refused.status_code == 404 and "never published" in refused.text
    with session_factory(site.url).begin() as session:
        row = session.get(Project, pid)
        assert row is not None
        row.remote_url, row.provider = "https://github.com/alice/shop", "github"
    assert 'id="update-pr"' not in client.get(f"/projects/{pid}").text  # no credential yet
    stored = client.put(
        "/api/v1/credentials/github",
        json={"token": "ghp_" + "x" * 36},
        headers={"X-CSRF-Token": csrf},
    )
    assert stored.status_code == 200, stored.text
    shown = client.get(f"/projects/{pid}").text
    assert 'id="update-pr"' in shown and 'name="pr" value="true"' in shown
