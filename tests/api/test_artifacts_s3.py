"""Job results and blueprint archives in S3 (SeaweedFS), through the API; a bucket outage.

One SQLite-backed app per test with ``CODEFORGE_ARTIFACTS_URL`` on a prefix of its own
in the session's bucket. The outage is the S3 gateway stopped: 503 with Retry-After,
a job whose upload fails is retried (not finished), and everything works once it is back.
"""

from __future__ import annotations

import io
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from s3_support import SeaweedFS

from .conftest import Api, make_caller
from .test_jobs import GENERATE, V1, submit, wait_done
from .test_registry import TEMPLATE, make_zip, upload


@pytest.fixture
def prefix() -> str:
    return SeaweedFS.new_prefix()


@pytest.fixture
def presign() -> str:
    return "300"  # CODEFORGE_S3_PRESIGN_SECONDS; a test parametrizes "0"


@pytest.fixture
def s3_api(
    seaweedfs: SeaweedFS,
    prefix: str,
    presign: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    from codeforge.api.app import create_app
    from codeforge.settings import load_settings

    for name, value in seaweedfs.env(prefix).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CODEFORGE_S3_PRESIGN_SECONDS", presign)
    monkeypatch.setenv("CODEFORGE_JOB_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("CODEFORGE_JOB_SWEEP_SECONDS", "0.2")
    monkeypatch.setenv("CODEFORGE_JOB_MAX_ATTEMPTS", "50")  # ride out the outage below
    url = f"sqlite:///{tmp_path / 's3api.db'}"
    app = create_app(load_settings(overrides={"database_url": url}), log_stream=io.StringIO())
    callers = {
        name: make_caller(url, name, role)
        for name, role in (("alice", "member"), ("bob", "member"), ("maya", "maintainer"))
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, url=url, logs=io.StringIO(), root=callers["maya"], **callers)


def download(api: Api, caller: Any, job_id: str) -> tuple[Any, bytes]:
    """The API's answer, and the bytes at the presigned URL it redirects to."""
    answer = api.as_(caller, "GET", f"{V1}/jobs/{job_id}/result", follow_redirects=False)
    assert answer.status_code == 307, answer.text
    with urllib.request.urlopen(answer.headers["location"], timeout=10) as response:
        assert response.headers["Content-Disposition"].startswith('attachment; filename="demo.zip"')
        return answer, response.read()


def assert_outage(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    body = answer.json()
    assert body["error"] == "store" and "artifact store" in body["message"]


def test_a_job_result_is_stored_in_s3_and_downloaded_through_a_presigned_url(
    s3_api: Api, seaweedfs: SeaweedFS, prefix: str
) -> None:
    job = submit(s3_api, s3_api.alice, GENERATE).json()
    done = wait_done(s3_api, s3_api.alice, job["id"])
    assert done["status"] == "finished", done
    assert seaweedfs.keys(prefix) == [f"results/{job['id']}.zip"]
    # Ownership first: another member gets 404, never a URL.
    assert s3_api.as_(s3_api.bob, "GET", done["result_url"]).status_code == 404
    answer, data = download(s3_api, s3_api.alice, job["id"])
    assert answer.headers["location"].startswith(seaweedfs.endpoint)
    assert answer.headers["x-job-id"] == job["id"]
    direct = s3_api.as_(
        s3_api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={k: v for k, v in GENERATE.items() if k != "kind"},
    )
    assert data == direct.content  # the same bytes as the synchronous endpoint
    assert all(n.startswith("demo/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    # Gone from the bucket (say, a lifecycle rule): 410, not a redirect to a 404.
    seaweedfs.client().delete_object(
        Bucket=seaweedfs.bucket, Key=f"{prefix}/results/{job['id']}.zip"
    )
    assert s3_api.as_(s3_api.alice, "GET", done["result_url"]).status_code == 410


@pytest.mark.parametrize("presign", ["0"])
def test_without_presigning_the_api_streams_the_result_from_s3(s3_api: Api) -> None:
    job = submit(s3_api, s3_api.alice, GENERATE).json()
    done = wait_done(s3_api, s3_api.alice, job["id"])
    answer = s3_api.as_(s3_api.alice, "GET", done["result_url"], follow_redirects=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith('attachment; filename="demo.zip"')
    assert int(answer.headers["content-length"]) == len(answer.content) == done["result"]["size"]
    assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist()


def test_a_bucket_outage_answers_503_loses_nothing_and_recovers(
    s3_api: Api, seaweedfs: SeaweedFS, prefix: str
) -> None:
    first = submit(s3_api, s3_api.alice, GENERATE).json()
    assert wait_done(s3_api, s3_api.alice, first["id"])["status"] == "finished"
    archive = make_zip(TEMPLATE)
    seaweedfs.stop()
    try:
        assert_outage(s3_api.as_(s3_api.alice, "GET", f"{V1}/jobs/{first['id']}/result"))
        # A job whose result cannot be uploaded is retried, not finished.
        second = submit(s3_api, s3_api.alice, GENERATE).json()
        retrying = wait_retrying(s3_api, second["id"])
        assert retrying["status"] in ("queued", "started") and retrying["attempts"] >= 1
        assert "artifact store" in retrying["error"]
        # Registering an archive: 503, and no blueprint row points at a missing archive.
        assert_outage(upload(s3_api, archive))  # type: ignore[arg-type]
        listed = s3_api.as_(s3_api.alice, "GET", f"{V1}/blueprints").json()
        assert "team-lib" not in [b["name"] for b in listed]
    finally:
        seaweedfs.start()
    done = wait_done(s3_api, s3_api.alice, second["id"], timeout=60)
    assert done["status"] == "finished", done
    assert done["attempts"] >= 2
    _, data = download(s3_api, s3_api.alice, second["id"])
    _, before = download(s3_api, s3_api.alice, first["id"])
    assert data == before
    assert upload(s3_api, archive).status_code == 201  # type: ignore[attr-defined]
    assert sorted(seaweedfs.keys(prefix)) == sorted(
        [
            f"blueprints/sha256-{_sha256(archive)}.bin",
            f"results/{first['id']}.zip",
            f"results/{second['id']}.zip",
        ]
    )


def wait_retrying(api: Api, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.as_(api.alice, "GET", f"{V1}/jobs/{job_id}").json()
        assert job["status"] != "finished", "a job finished without its result stored"
        if job["error"]:
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never failed to store its result")


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_registered_archives_live_in_s3_not_in_the_database(
    s3_api: Api, seaweedfs: SeaweedFS, prefix: str
) -> None:
    from sqlalchemy import func, select

    from codeforge.db.engine import session_factory
    from codeforge.db.models import BlueprintArchive

    archive = make_zip(TEMPLATE)
    response = upload(s3_api, archive)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    assert seaweedfs.keys(prefix) == [f"blueprints/sha256-{_sha256(archive)}.bin"]
    with session_factory(s3_api.url)() as session:
        assert session.scalar(select(func.count()).select_from(BlueprintArchive)) == 0
    body = {"template": "team-lib", "name": "t1"}
    first = s3_api.as_(s3_api.alice, "POST", f"{V1}/projects/generate", json=body)
    assert first.status_code == 200, first.text
    # Another server (an empty cache) rebuilds the blueprint from the archive in S3.
    import shutil

    shutil.rmtree(s3_api.client.app.state.ctx.config.blueprint_dir)  # type: ignore[attr-defined]
    again = s3_api.as_(s3_api.bob, "POST", f"{V1}/projects/generate", json=body)
    assert again.content == first.content


def test_the_sweeper_deletes_expired_results_from_the_bucket(
    s3_api: Api, seaweedfs: SeaweedFS, prefix: str
) -> None:
    from sqlalchemy import update

    from codeforge.db.engine import session_factory
    from codeforge.db.models import Job, utcnow

    kept, expiring = (submit(s3_api, s3_api.alice, GENERATE).json() for _ in range(2))
    for job in (kept, expiring):
        assert wait_done(s3_api, s3_api.alice, job["id"])["status"] == "finished"
    with session_factory(s3_api.url).begin() as session:
        session.execute(update(Job).where(Job.id == expiring["id"]).values(expires_at=utcnow()))
    deadline = time.monotonic() + 30
    while f"results/{expiring['id']}.zip" in seaweedfs.keys(prefix):
        assert time.monotonic() < deadline, "the sweeper never deleted the expired result"
        time.sleep(0.1)
    assert seaweedfs.keys(prefix) == [f"results/{kept['id']}.zip"]
    gone = s3_api.as_(s3_api.alice, "GET", f"{V1}/jobs/{expiring['id']}/result")
    assert gone.status_code == 410
