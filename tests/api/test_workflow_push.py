"""``POST /projects/{id}/workflow`` with ``registry``: the server's build pushes to an allowed
registry host only (``CODEFORGE_REGISTRY_HOSTS``), with the job owner's own ``docker``
credential for that host (never another user's, never the server's environment), and the
login appears in no payload, result, Activity row, log or message."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
import zipfile
from pathlib import Path

import pytest
from docker_support import REGISTRY_PASSWORD, REGISTRY_USER, Dockerd, Registry
from sqlalchemy import select

from codeforge.app import server_publish
from codeforge.app.context import AppContext
from codeforge.app.server_registry import HOSTS_ENV, allowed_hosts, owner_login
from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Job, Project
from codeforge.errors import SecurityError, UsageError

from .conftest import Api, Caller
from .test_jobs import wait_done
from .test_workflow_job import generated

V1 = "/api/v1"
LOGIN = f"{REGISTRY_USER}:{REGISTRY_PASSWORD}"
DOCKERFILE = 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCMD ["python3", "-c", "print(1)"]\n'


def context(api: Api) -> AppContext:
    ctx: AppContext = api.client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def store_login(api: Api, caller: Caller, host: str, login: str = LOGIN) -> None:
    body = {"token": login, "host": host}
    stored = api.as_(caller, "PUT", f"{V1}/credentials/docker", json=body)
    assert stored.status_code == 200, stored.text
    assert (stored.json()["provider"], stored.json()["host"]) == ("docker", host.lower())


# --- fast: validation, allowed hosts, whose login ------------------------------------------


def test_a_malformed_registry_is_422_naming_it(api: Api) -> None:
    pid = generated(api, api.alice)
    for registry in ["", "not a registry", "host/UPPER", "a/b c", "ftp://host/team", "h:1/x y"]:
        bad = api.as_(
            api.alice, "POST", f"{V1}/projects/{pid}/workflow", json={"registry": registry}
        )
        assert bad.status_code == 422, (registry, bad.text)
        body = bad.json()
        assert body.get("where") == "registry" or "registry" in str(body.get("errors")), body


@pytest.mark.parametrize(
    ("allowed", "registry"),
    [
        (None, "127.0.0.1:5000/team"),  # default: docker.io only
        (None, "localhost/team"),
        (None, "10.0.0.5:5000/team"),
        ("127.0.0.1:5000", "127.0.0.1:5001/team"),  # the port is part of the host
        ("127.0.0.1:5000", "127.0.0.1/team"),
        ("registry.example.com", "registry.example.com.evil.net/team"),
    ],
)
def test_a_registry_host_the_server_does_not_allow_is_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch, allowed: str | None, registry: str
) -> None:
    if allowed is None:
        monkeypatch.delenv(HOSTS_ENV, raising=False)
    else:
        monkeypatch.setenv(HOSTS_ENV, allowed)
    pid = generated(api, api.alice)
    refused = api.as_(
        api.alice, "POST", f"{V1}/projects/{pid}/workflow", json={"registry": registry}
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["where"] == "registry"
    assert f"does not push to the registry {registry.partition('/')[0]}" in body["message"]
    assert HOSTS_ENV in body["hint"]
    with session_factory(api.url)() as session:
        assert session.scalars(select(Job).where(Job.kind == "workflow")).all() == []


def test_the_allowed_hosts_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOSTS_ENV, raising=False)
    assert allowed_hosts() == {"docker.io"}
    assert allowed_hosts({HOSTS_ENV: " Registry.Example.com, 127.0.0.1:5000 ,"}) == {
        "registry.example.com",
        "127.0.0.1:5000",
    }
    for bad in ["registry.example.com/team", "not a host"]:
        with pytest.raises(UsageError) as caught:
            allowed_hosts({HOSTS_ENV: bad})
        assert caught.value.where == HOSTS_ENV


def test_the_push_gets_the_owners_own_login_for_that_exact_host_only(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOSTS_ENV, "127.0.0.1:5000,127.0.0.1:5001,registry.example.com")
    monkeypatch.setenv("CODEFORGE_DOCKER_AUTH", "server:env-login")  # the server's: never used
    store_login(api, api.bob, "127.0.0.1:5000", "bob:bobs-password")
    ctx = context(api)
    alice, bob = owner_login(ctx, api.alice.id), owner_login(ctx, api.bob.id)
    assert alice("docker", "127.0.0.1:5000") is None  # bob's is not hers; nor the env's
    assert bob("docker", "127.0.0.1:5000") == "bob:bobs-password"
    assert bob("docker", "127.0.0.1:5001") is None  # another port: another host
    assert bob("docker", "registry.example.com") is None
    assert bob("github", "127.0.0.1:5000") is None
    store_login(api, api.alice, "127.0.0.1:5000", "alice:alices-password")
    assert alice("docker", "127.0.0.1:5000") == "alice:alices-password"
    assert bob("docker", "127.0.0.1:5000") == "bob:bobs-password"
    # A blueprint's own registry input goes through the same check when the push asks.
    with pytest.raises(SecurityError) as caught:
        bob("docker", "10.0.0.5:5000")
    assert "bobs-password" not in str(caught.value) + str(caught.value.hint)
    listed = api.as_(api.bob, "GET", f"{V1}/credentials").json()
    assert listed[0]["last_used_at"] is not None


def test_a_docker_credential_is_user_colon_password(api: Api) -> None:
    body = {"token": "no-colon-secret", "host": "127.0.0.1:5000"}
    bad = api.as_(api.alice, "PUT", f"{V1}/credentials/docker", json=body)
    assert bad.status_code == 422, bad.text
    assert bad.json()["where"] == "token" and "USER:PASSWORD" in bad.json()["message"]
    assert "no-colon-secret" not in bad.text
    assert api.as_(api.alice, "GET", f"{V1}/credentials").json() == []
    store_login(api, api.alice, "Registry.Example.com:5000")


# --- slow: build and push on a real engine, to docker-registry with htpasswd auth --------


@pytest.fixture
def push_server(
    isolated_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    dockerd: Dockerd,
    base_image: str,
    auth_registry: Registry,
) -> Registry:
    """The server's config before the app is made: the engine, the base image, the registry
    allowed; and a CODEFORGE_DOCKER_AUTH in its environment that no job may use."""
    config = isolated_dirs["config"]
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(f'[workflow]\ndocker_base_image = "{base_image}"\n')
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.setenv(HOSTS_ENV, auth_registry.address)
    monkeypatch.setenv("CODEFORGE_DOCKER_AUTH", LOGIN)
    return auth_registry


def small_dockerfile(api: Api, pid: int) -> None:
    """The stored tree with a Dockerfile that builds offline on the base image."""
    ctx = context(api)
    with session_factory(api.url)() as session:
        project = session.get(Project, pid)
        assert project is not None
        data, key = server_publish.read_tree(ctx, project), server_publish.tree_id(project)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        names = old.namelist()
        assert any(Path(name).name == "Dockerfile" for name in names), names
        for info in old.infolist():
            body = DOCKERFILE.encode() if Path(info.filename).name == "Dockerfile" else None
            new.writestr(info, body if body is not None else old.read(info))
    ctx.artifacts.results.put(key.rpartition(".")[0], out.getvalue(), "zip")


def tags(registry: Registry, repository: str) -> list[str]:
    request = urllib.request.Request(f"http://{registry.address}/v2/{repository}/tags/list")
    request.add_header("Authorization", f"Basic {base64.b64encode(LOGIN.encode()).decode()}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return list(json.loads(answer.read())["tags"])


def push(api: Api, caller: Caller, pid: int, registry: str) -> dict[str, object]:
    body = {"stages": ["build"], "registry": registry, "force": True}
    response = api.as_(caller, "POST", f"{V1}/projects/{pid}/workflow", json=body)
    assert response.status_code == 202, response.text
    return wait_done(api, caller, response.json()["id"], timeout=600)


@pytest.mark.docker
@pytest.mark.parametrize("api_db_url", ["sqlite"], indirect=True)
def test_a_server_build_pushes_with_the_owners_own_login(
    push_server: Registry, api: Api, isolated_dirs: dict[str, Path]
) -> None:
    registry = push_server
    body = {"kind": "generate", "template": "web-fastapi", "name": "svc", "answers": {}}
    made = api.as_(api.alice, "POST", f"{V1}/jobs", json=body)
    assert made.status_code == 202, made.text
    pid = int(wait_done(api, api.alice, made.json()["id"], timeout=120)["result"]["project_id"])
    small_dockerfile(api, pid)
    namespace = f"{registry.address}/team"
    store_login(api, api.bob, registry.address)  # bob's login is not alice's

    refused = push(api, api.alice, pid, namespace)
    assert refused["status"] == "failed", refused
    error = str(refused["error"])
    assert f"docker push to {namespace}/svc failed" in error, error
    state = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/workflow").json()
    assert {s["stage"]: s["status"] for s in state["stages"]} == {"build": "failed"}

    store_login(api, api.alice, registry.address)
    pushed = push(api, api.alice, pid, namespace)
    assert pushed["status"] == "finished", pushed
    stages = pushed["result"]["stages"]  # type: ignore[index]
    assert [(s["stage"], s["status"]) for s in stages] == [("build", "succeeded")]
    assert stages[0]["outputs"]["digest"].startswith(f"{namespace}/svc@sha256:")
    assert tags(registry, "team/svc") == ["latest"]

    # The login is in nothing the server keeps or says: jobs (payload, result, error),
    # Activity rows, the workflow record, the artifacts, the logs, the responses.
    secrets = [REGISTRY_PASSWORD, base64.b64encode(LOGIN.encode()).decode()]
    with session_factory(api.url)() as session:
        jobs = session.scalars(select(Job)).all()
        rows = session.scalars(select(Activity)).all()
        kept = [repr((j.payload, j.result, j.error, j.stage)) for j in jobs]
        kept += [repr((r.action, r.target, r.details)) for r in rows]
    assert any("workflow" in text for text in kept)
    files = [p for p in Path(isolated_dirs["data"]).rglob("*") if p.is_file()]
    files += [p for p in Path(api.url.removeprefix("sqlite:///")).parent.rglob("*") if p.is_file()]
    kept += [p.read_bytes().decode("latin-1") for p in files]
    kept += [api.logs.getvalue(), str(refused), str(pushed), str(state)]
    kept.append(api.as_(api.alice, "GET", f"{V1}/credentials").text)
    assert not [secret for secret in secrets for text in kept if secret in text]
