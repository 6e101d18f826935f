"""`--registry` push to a real registry that asks for a login (docker-registry with htpasswd
auth): refused with a clear error without a credential, pushed with the one stored by
`codeforge credentials set docker`, and the password in no output, argument or record."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest
from cli_support import console
from docker_support import REGISTRY_PASSWORD, REGISTRY_USER, Dockerd, Registry

pytestmark = pytest.mark.docker

DOCKERFILE = 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCMD ["python3", "-c", "print(1)"]\n'


def tags(registry: Registry, repository: str) -> list[str]:
    request = urllib.request.Request(f"http://{registry.address}/v2/{repository}/tags/list")
    login = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {login}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return list(json.loads(answer.read())["tags"])


def test_a_push_needs_the_stored_registry_login(
    tmp_path: Path, dockerd: Dockerd, base_image: str, auth_registry: Registry
) -> None:
    made = console("init", "-t", "web-fastapi", "svc", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    (project / "Dockerfile").write_text(DOCKERFILE)
    env = {**dockerd.env(), "CODEFORGE_DOCKER_BASE_IMAGE": base_image}
    namespace = f"{auth_registry.address}/team"
    run = ("workflow", "run", "build", "--force", "--registry", namespace, "-C", str(project))

    refused = console(*run, env=env, timeout=600)
    assert refused.returncode == 11, refused.stderr
    assert f"docker push to {namespace}/svc failed" in refused.stderr
    assert f"codeforge credentials set docker --host {auth_registry.address}" in refused.stderr

    bad = console(
        "credentials", "set", "docker", "--host", auth_registry.address, "--token-stdin",
        input="no-colon-here\n",
    )  # fmt: skip
    assert bad.returncode == 2 and "is not USER:PASSWORD" in bad.stderr
    stored = console(
        "credentials", "set", "docker", "--host", auth_registry.address, "--token-stdin",
        input=f"{REGISTRY_USER}:{REGISTRY_PASSWORD}\n",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    tested = console("credentials", "test", "docker", "--host", auth_registry.address, env=env)
    assert tested.returncode == 0, tested.stderr
    assert f"docker at {auth_registry.address}: {REGISTRY_USER}" in tested.stdout

    pushed = console(*run, env=env, timeout=600)
    assert pushed.returncode == 0, pushed.stderr
    assert "(logged in)" in pushed.stderr
    assert f"digest={namespace}/svc@sha256:" in pushed.stdout
    assert tags(auth_registry, "team/svc") == ["latest"]
    # The password reached the engine only in the push's auth header.
    seen = [refused.stdout, refused.stderr, pushed.stdout, pushed.stderr, tested.stdout]
    kept = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(REGISTRY_PASSWORD in text for text in seen + kept)


def test_the_login_can_come_from_the_environment(
    tmp_path: Path, dockerd: Dockerd, base_image: str, auth_registry: Registry
) -> None:
    made = console("init", "-t", "web-fastapi", "api", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "api"
    (project / "Dockerfile").write_text(DOCKERFILE)
    env = {
        **dockerd.env(),
        "CODEFORGE_DOCKER_BASE_IMAGE": base_image,
        "CODEFORGE_DOCKER_AUTH": f"{REGISTRY_USER}:{REGISTRY_PASSWORD}",
    }
    namespace = f"{auth_registry.address}/ci"
    done = console(
        "workflow", "run", "build", "--registry", namespace, "-C", str(project),
        env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tags(auth_registry, "ci/api") == ["latest"]
    assert REGISTRY_PASSWORD not in done.stdout + done.stderr
