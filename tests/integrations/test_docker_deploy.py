"""web-fastapi built, deployed, probed and taken down on a real dockerd (tests/docker_support.py),
through the ``codeforge`` console script: ``workflow run build``, ``deploy``, ``deploy --down``,
the same with ``--target compose``, and a push to a real registry pulled back by digest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cli_support import console
from docker_support import Dockerd, Registry

pytestmark = pytest.mark.docker

BIN = Path(sys.executable).parent
# The generated project's runtime and build requirements (web-fastapi, database=sqlite).
REQUIREMENTS = (
    "fastapi>=0.115",
    "pydantic>=2.7",
    "uvicorn>=0.30",
    "sqlalchemy>=2.0.30",
    "hatchling>=1.27",
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("CODEFORGE_TEST_CACHE") or Path(base) / "codeforge-tests")


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Wheels for the image's Python (3.11, manylinux x86_64), downloaded once on the host."""
    folder = cache_dir() / "wheelhouse-web-fastapi-cp311"
    if folder.is_dir() and any(folder.glob("fastapi-*.whl")):
        return folder
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    platforms = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(scratch)]
        + ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"]
        + [arg for p in platforms for arg in ("--platform", p)]
        + list(REQUIREMENTS),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scratch.rename(folder)
    return folder


def env_for(dockerd: Dockerd, base_image: str, **more: str) -> dict[str, str]:
    """The CLI's environment: the test engine, the local base image, offline wheels, host network."""
    return {
        **dockerd.env(),
        "CODEFORGE_DOCKER_BUILD_ARGS": "PIP_NO_INDEX=1 PIP_FIND_LINKS=/src/wheelhouse",
        "CODEFORGE_DOCKER_BASE_IMAGE": base_image,
        "CODEFORGE_DOCKER_NETWORK": "host",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        **more,
    }


def make_project(tmp_path: Path, wheelhouse: Path, name: str = "shop-api") -> Path:
    made = console("init", "-t", "web-fastapi", name, "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / name
    shutil.copytree(wheelhouse, project / "wheelhouse")
    return project


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return dict(json.loads(answer.read()))


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line}


def test_build_deploy_probe_and_down(
    tmp_path: Path, dockerd: Dockerd, base_image: str, wheelhouse: Path, registry: Registry
) -> None:
    project = make_project(tmp_path, wheelhouse)
    port = str(_free_port())
    env = env_for(dockerd, base_image, CODEFORGE_DEPLOY_PORT=port)
    before = dockerd.containers()

    built = console("workflow", "run", "build", "-C", str(project), env=env, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    # Off a terminal the build shows its steps and the result, not its log (nor raw JSON).
    assert "step 1/" in built.stderr and "built shop-api:latest (sha256:" in built.stderr
    assert "Successfully tagged" not in built.stderr and '{"stream"' not in built.stderr
    outputs = dict(word.split("=", 1) for word in summary(built)["build"][3:])
    assert outputs["image"] == "shop-api:latest" and outputs["image_id"].startswith("sha256:")

    client = dockerd.client()
    labels = client.images.get("shop-api:latest").labels  # type: ignore[attr-defined]
    assert labels["org.opencontainers.image.title"] == "shop-api"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["dev.codeforge.blueprint.name"] == "web-fastapi"
    assert len(labels["org.opencontainers.image.revision"]) == 40  # the project's commit

    up = console("deploy", str(project), "--target", "docker", env=env, timeout=600)
    assert up.returncode == 0, up.stderr[-3000:]
    url = f"http://127.0.0.1:{port}"
    assert f"is up at {url}" in up.stderr
    assert summary(up)["build"][0] == "skipped"
    assert get(f"{url}/health")["status"] == "ok"
    (container,) = client.containers.list(filters={"name": "shop-api"})  # type: ignore[attr-defined]
    assert container.attrs["Config"]["User"] == "10001:10001"

    down = console("deploy", str(project), "--down", env=env, timeout=300)
    assert down.returncode == 0, down.stderr[-3000:]
    assert summary(down)["deploy"][-1] == "removed=shop-api"
    assert dockerd.containers() - before == set()

    # The same image pushed to a real registry, then pulled back by its digest.
    namespace = f"{registry.address}/team"
    pushed = console(
        "workflow",
        "run",
        "build",
        "--force",
        "--registry",
        namespace,
        "-C",
        str(project),
        env=env,
        timeout=900,
    )
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    found = dict(word.split("=", 1) for word in summary(pushed)["build"][3:])
    assert found["digest"].startswith(f"{namespace}/shop-api@sha256:")
    assert f"{namespace}/shop-api:latest" in found["tags"].split(",")
    for name in (f"{namespace}/shop-api:latest", "shop-api:latest"):  # gone from the engine
        client.images.remove(name)  # type: ignore[attr-defined]
    pulled = client.images.pull(found["digest"])  # type: ignore[attr-defined]
    assert pulled.id == found["image_id"]


def test_compose_up_waits_healthy_and_down_removes_it(
    tmp_path: Path, dockerd: Dockerd, base_image: str, wheelhouse: Path
) -> None:
    project = make_project(tmp_path, wheelhouse, "menu-api")
    port = _free_port()
    env = env_for(dockerd, base_image, CODEFORGE_DEPLOY_PORT=str(port))
    containers, volumes = dockerd.containers(), dockerd.volumes()
    built = console("workflow", "run", "build", "-C", str(project), env=env, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]

    up = console("deploy", str(project), "--target", "compose", env=env, timeout=600)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        assert summary(up)["deploy"][-2:] == [f"url=http://127.0.0.1:{port}", "project=menu-api"]
        assert get(f"http://127.0.0.1:{port}/health") == {"status": "ok", "database": "ok"}
        client = dockerd.client()
        (app,) = client.containers.list(  # type: ignore[attr-defined]
            filters={"label": "com.docker.compose.project=menu-api"}
        )
        assert app.attrs["State"]["Health"]["Status"] == "healthy"  # --wait waited for it
        assert dockerd.volumes() - volumes == {"menu-api_app-data"}
    finally:
        down = console(
            "deploy", str(project), "--target", "compose", "--down", env=env, timeout=300
        )
    assert down.returncode == 0, down.stderr[-3000:]
    assert dockerd.containers() - containers == set()
    assert dockerd.volumes() - volumes == set()


def _free_port() -> int:
    from process_support import free_port

    return free_port()
