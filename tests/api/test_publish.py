"""Publishing from the API: ``POST /projects/{id}/publish``, and ``"publish"`` on generate and jobs.

Against the forge contract server of tests/integrations (GitHub and GitLab REST in
front of a real ``git http-backend``). Each user's own stored credential is used,
never anyone else's, and the token is never in a payload, a result, an Activity
row, a response or the logs.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integrations.forge_contract import Account, ForgeContract, running_contract
from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Job

from .conftest import Api, Caller
from .test_jobs import wait_done

V1 = "/api/v1"
GH = "ghp_" + "ApiPublish" * 4
GL = "glpat-" + "ApiPublish" * 2
TOKENS = {"github": GH, "gitlab": GL}
GENERATE = {"template": "lib-python", "name": "demo", "answers": {}}


@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeContract]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with running_contract() as contract:
        contract.tokens[GH] = Account("octocat", "The Octocat", ["repo", "workflow"])
        contract.tokens[GL] = Account("ada", "Ada", ["api"])
        contract.orgs["acme"] = {"octocat", "ada"}
        monkeypatch.setenv("CODEFORGE_FORGE_HOSTS", f"github.com,{contract.url}")
        yield contract


def store_token(api: Api, caller: Caller, forge: ForgeContract, provider: str = "github") -> None:
    body = {"token": TOKENS[provider], "host": forge.url}
    response = api.as_(caller, "PUT", f"{V1}/credentials/{provider}", json=body)
    assert response.status_code == 200, response.text


def generated(api: Api, caller: Caller) -> tuple[int, bytes]:
    response = api.as_(caller, "POST", f"{V1}/jobs", json={"kind": "generate", **GENERATE})
    assert response.status_code == 202, response.text
    done = wait_done(api, caller, response.json()["id"])
    assert done["status"] == "finished", done
    data = api.as_(caller, "GET", done["result_url"]).content
    return int(done["result"]["project_id"]), data


def options(forge: ForgeContract, provider: str = "github", **extra: Any) -> dict[str, Any]:
    return {"to": provider, "host": forge.url, **extra}


def remote_files(forge: ForgeContract, tmp_path: Path, owner: str, name: str) -> dict[str, bytes]:
    """The files of a clone of what was pushed (``.git`` left out)."""
    target = tmp_path / f"clone-{owner}-{name}-{len(list(tmp_path.iterdir()))}"
    pair = base64.b64encode(f"x-access-token:{GH}".encode()).decode()
    subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: Basic {pair}", "clone", "--quiet",
         f"{forge.url}/{owner}/{name}.git", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    return {
        p.relative_to(target).as_posix(): p.read_bytes()
        for p in target.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(target).parts
    }


def zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            i.filename.split("/", 1)[1]: archive.read(i)
            for i in archive.infolist()
            if not i.is_dir()
        }


def no_token_anywhere(api: Api, forge: ForgeContract, *texts: str) -> None:
    with session_factory(api.url)() as session:
        jobs = [(j.payload, j.result, j.error) for j in session.scalars(select(Job))]
        rows = [(a.target, a.details) for a in session.scalars(select(Activity))]
    for token in TOKENS.values():
        assert token not in json.dumps(jobs, default=str)
        assert token not in json.dumps(rows, default=str)
        assert token not in api.logs.getvalue()
        assert all(token not in r.path for r in forge.requests)
        for text in texts:
            assert token not in text


@pytest.mark.parametrize(("provider", "login"), [("github", "octocat"), ("gitlab", "ada")])
def test_publish_a_project_as_a_job(
    api: Api, forge: ForgeContract, tmp_path: Path, provider: str, login: str
) -> None:
    store_token(api, api.alice, forge, provider)
    pid, data = generated(api, api.alice)
    body = options(forge, provider, owner="acme", topics=["demo"], protect_default_branch=True)
    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "publish"
    assert response.headers["location"] == f"{V1}/jobs/{job['id']}"
    done = wait_done(api, api.alice, job["id"])
    assert done["status"] == "finished", done
    shown = done["result"]["publish"]
    assert (shown["provider"], shown["owner"], shown["name"], shown["branch"]) == (
        provider, "acme", "demo", "main",
    )  # fmt: skip
    [repo] = forge.repos.values()
    assert (repo.kind, repo.owner, repo.topics, repo.protected) == (
        provider, "acme", ["demo"], {"main"},
    )  # fmt: skip
    if provider == "github":
        assert remote_files(forge, tmp_path, "acme", "demo") == zip_files(data)
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert (project["provider"], project["remote_url"]) == (provider, f"{forge.url}/acme/demo")
    assert project["published_at"] is not None
    activity = api.as_(api.alice, "GET", f"{V1}/activity", params={"project": pid}).json()
    assert [r["action"] for r in activity["items"]][:1] == ["publish"]
    assert activity["items"][0]["details"]["job_id"] == job["id"]
    no_token_anywhere(api, forge, response.text, json.dumps(done), json.dumps(activity))


def test_publishing_again_reuses_the_repository_and_the_same_commit(
    api: Api, forge: ForgeContract
) -> None:
    store_token(api, api.alice, forge)
    pid, _ = generated(api, api.alice)
    heads = []
    for _ in range(2):
        response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=options(forge))
        done = wait_done(api, api.alice, response.json()["id"])
        assert done["status"] == "finished", done
        heads.append(done["result"]["publish"]["head"])
    assert heads[0] == heads[1] and len(forge.repos) == 1
    posts = [r for r in forge.requests if (r.method, r.path) == ("POST", "/api/v3/user/repos")]
    assert len(posts) == 1


def test_generate_with_publish_streams_the_zip_and_queues_the_publish(
    api: Api, forge: ForgeContract, tmp_path: Path
) -> None:
    store_token(api, api.alice, forge)
    body = {**GENERATE, "publish": options(forge, description="From the API")}
    response = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    done = wait_done(api, api.alice, response.headers["x-publish-job"])
    assert done["status"] == "finished", done
    assert done["result"]["project_id"] == int(response.headers["x-project-id"])
    [repo] = forge.repos.values()
    assert (repo.owner, repo.name, repo.description) == ("octocat", "demo", "From the API")
    assert remote_files(forge, tmp_path, "octocat", "demo") == zip_files(response.content)
    no_token_anywhere(api, forge, json.dumps(done))


def test_a_generate_job_with_publish_does_both(
    api: Api, forge: ForgeContract, tmp_path: Path
) -> None:
    store_token(api, api.alice, forge)
    body = {"kind": "generate", **GENERATE, "publish": options(forge, repo="lib-demo")}
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(api, api.alice, response.json()["id"])
    assert done["status"] == "finished", done
    assert done["result"]["publish"]["name"] == "lib-demo"
    data = api.as_(api.alice, "GET", done["result_url"]).content
    assert remote_files(forge, tmp_path, "octocat", "lib-demo") == zip_files(data)
    project = api.as_(api.alice, "GET", f"{V1}/projects/{done['result']['project_id']}").json()
    assert project["remote_url"] == f"{forge.url}/octocat/lib-demo"
    no_token_anywhere(api, forge, json.dumps(done))


def test_another_users_credential_is_never_used(api: Api, forge: ForgeContract) -> None:
    store_token(api, api.alice, forge)
    bobs, _ = generated(api, api.bob)
    alices, _ = generated(api, api.alice)
    # Bob has no credential of his own: Alice's is not a fallback.
    mine = api.as_(api.bob, "POST", f"{V1}/projects/{bobs}/publish", json=options(forge))
    assert mine.status_code == 404, mine.text
    assert "you have no github credential 'default'" in mine.json()["message"]
    # Alice's project is not Bob's to publish, whatever credential is named.
    theirs = api.as_(api.bob, "POST", f"{V1}/projects/{alices}/publish", json=options(forge))
    assert theirs.status_code == 404, theirs.text
    store_token(api, api.bob, forge, "gitlab")
    theirs = api.as_(
        api.bob, "POST", f"{V1}/projects/{alices}/publish", json=options(forge, "gitlab")
    )
    assert theirs.status_code == 404, theirs.text
    on_generate = api.as_(
        api.bob, "POST", f"{V1}/projects/generate", json={**GENERATE, "publish": options(forge)}
    )
    assert on_generate.status_code == 404, on_generate.text
    jobs = api.as_(api.bob, "GET", f"{V1}/jobs", params={"kind": "publish"}).json()
    assert jobs == [] and forge.mutating() == []


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"to": "github", "host": "http://127.0.0.1:9"}, 422, "publish.host"),
        ({"to": "bitbucket"}, 404, None),
        ({"to": "github", "repo": "bad name"}, 422, "publish.repo"),
        ({"to": "github", "topics": ["Not A Topic"]}, 422, "publish.topics"),
        ({"to": "github", "token": GH}, 422, None),
        ({"to": "github", "visibility": "secret"}, 422, None),
    ],
)
def test_bad_publish_requests_queue_nothing(
    api: Api, forge: ForgeContract, body: dict[str, Any], status: int, where: str | None
) -> None:
    store_token(api, api.alice, forge)
    pid, _ = generated(api, api.alice)
    body = {"host": forge.url, **body}
    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=body)
    assert response.status_code == status, response.text
    if where is not None:
        assert response.json()["where"] == where
    assert api.as_(api.alice, "GET", f"{V1}/jobs", params={"kind": "publish"}).json() == []
    assert GH not in response.text and forge.mutating() == []


def test_a_project_whose_tree_expired_is_409(api: Api, forge: ForgeContract) -> None:
    store_token(api, api.alice, forge)
    pid, _ = generated(api, api.alice)
    with session_factory(api.url)() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "generate")).all()
        artifact_id = job.artifact_id
    assert artifact_id is not None
    assert api.client.app.state.ctx.artifacts.results.delete(artifact_id)
    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=options(forge))
    assert response.status_code == 409, response.text
    assert "no longer stored" in response.json()["message"]


def test_a_refused_token_fails_the_job_with_a_clear_message_and_no_token(
    api: Api, forge: ForgeContract
) -> None:
    bad = "ghp_" + "Refused" * 6
    body = {"token": bad, "host": forge.url}
    assert api.as_(api.alice, "PUT", f"{V1}/credentials/github", json=body).status_code == 200
    pid, _ = generated(api, api.alice)
    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=options(forge))
    assert response.status_code == 202, response.text
    done = wait_done(api, api.alice, response.json()["id"])
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert f"github at {forge.url} refused the token (401" in done["error"]
    assert forge.mutating() == [] and forge.repos == {}
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["remote_url"] is None
    for text in (json.dumps(done), api.logs.getvalue()):
        assert bad not in text
    with session_factory(api.url)() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "publish")).all()
        assert bad not in json.dumps([job.payload, job.result, job.error], default=str)


def test_generate_with_publish_still_answers_the_zip_when_the_job_cannot_be_queued(
    api: Api, forge: ForgeContract, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from codeforge.api.routes import projects
    from codeforge.errors import QueueUnavailable

    store_token(api, api.alice, forge)
    real = projects.publish_job

    def queue_down(*args: Any, **kwargs: Any) -> Any:
        raise QueueUnavailable("the job queue is unavailable (Redis is not answering)")

    monkeypatch.setattr(projects, "publish_job", queue_down)
    body = {**GENERATE, "publish": options(forge)}
    response = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body)
    assert response.status_code == 200, response.text
    assert "x-publish-job" not in response.headers
    assert response.headers["x-publish-error"].startswith("the job queue is unavailable")
    pid = int(response.headers["x-project-id"])
    assert response.headers["x-publish-retry"] == f"POST {V1}/projects/{pid}/publish"
    monkeypatch.setattr(projects, "publish_job", real)
    again = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=options(forge))
    assert again.status_code == 202, again.text
    assert wait_done(api, api.alice, again.json()["id"])["status"] == "finished"
    assert remote_files(forge, tmp_path, "octocat", "demo") == zip_files(response.content)
