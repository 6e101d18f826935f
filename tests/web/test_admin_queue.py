"""``/admin``'s job queue (backend, counts, failed jobs with retry and discard) and rate limits;
the retry and discard forms are the API's routes, for admins only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from codeforge.errors import NotFoundError
from codeforge.jobs.kinds import KINDS, JobRun, Owner, Work

from .conftest import Site, csrf_of, make_user, sign_in
from .support import PASSWORD


class NeedsFileKind:
    """Fails for good while the payload's file is missing."""

    name = "test-web-needs-file"
    role = "member"

    def check(self, ctx: Any, owner: Owner, payload: Any) -> None:
        return None

    def run(self, job: JobRun) -> Work:
        path = Path(str(job.payload["path"]))
        if not path.exists():
            raise NotFoundError(f"no file <b>{path.name}</b>", where="path")
        return Work(result={"ok": True})


@pytest.fixture(autouse=True)
def needs_file_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, NeedsFileKind.name, NeedsFileKind())  # type: ignore[arg-type]


def _failed(site: Site, key: str, path: Path) -> str:
    headers = {"Authorization": f"Bearer {key}"}
    body = {"kind": NeedsFileKind.name, "payload": {"path": str(path)}}
    job_id = str(site.client.post("/api/v1/jobs", json=body, headers=headers).json()["id"])
    return _wait(site.client, headers, job_id, "failed")


def _wait(client: TestClient, headers: dict[str, str], job_id: str, status: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["status"] == status:
            return job_id
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never {status}")


def test_the_admin_sees_the_queue_and_retries_or_discards_failed_jobs(
    site: Site, tmp_path: Path
) -> None:
    key = make_user(site.url, "carl", "member", None)
    marker = tmp_path / "marker"
    first, second = _failed(site, key, marker), _failed(site, key, tmp_path / "never")
    make_user(site.url, "ada", "admin", PASSWORD)
    admin = site.new_client()
    sign_in(admin, "ada")
    shown = admin.get("/admin").text
    assert "in-process" in shown and '<dd id="count-failed">2</dd>' in shown
    assert f'<tr id="job-{first}">' in shown and f'<tr id="job-{second}">' in shown
    assert "no file &lt;b&gt;marker&lt;/b&gt;" in shown  # the error, as text
    assert "<td>carl</td>" in shown
    assert "10 per 1 minute" in shown and '<th scope="row">auth</th>' in shown
    marker.write_text("here")
    retried = admin.post(
        f"/admin/jobs/{first}/retry", data={"csrf_token": csrf_of(shown)}, follow_redirects=False
    )
    assert retried.status_code == 303 and retried.headers["location"] == "/admin?done=retried"
    _wait(site.client, {"Authorization": f"Bearer {key}"}, first, "finished")
    discarded = admin.post(f"/admin/jobs/{second}/discard", data={"csrf_token": csrf_of(shown)})
    assert "The failed job is discarded." in discarded.text
    after = admin.get("/admin").text
    assert f'<tr id="job-{first}">' not in after and f'<tr id="job-{second}">' not in after
    assert "no failed job" in after
    # Retrying a job that did not fail shows the API's 409 message on the page.
    again = admin.post(f"/admin/jobs/{first}/retry", data={"csrf_token": csrf_of(after)})
    assert again.status_code == 409 and "only a failed job can be retried" in again.text
    # Without the CSRF token nothing happens.
    assert admin.post(f"/admin/jobs/{first}/discard", data={}).status_code == 403


def test_members_cannot_retry_or_discard_on_the_admin_page(site: Site, tmp_path: Path) -> None:
    key = make_user(site.url, "carl", "member", None)
    job_id = _failed(site, key, tmp_path / "never")
    client = site.new_client()
    csrf = sign_in(client)
    for action in ("retry", "discard"):
        refused = client.post(f"/admin/jobs/{job_id}/{action}", data={"csrf_token": csrf})
        assert refused.status_code == 403 and "this needs the admin role" in refused.text
    headers = {"Authorization": f"Bearer {key}"}
    assert site.client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["status"] == "failed"
