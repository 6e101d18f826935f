"""The CodeForge image on a real engine: built once per session from the imported Debian
base (tests/deploy/image_support.py), it is one flat layer of at most 200 MB, runs as
user 10001 on a read-only root, `codeforge serve` answers /healthz (and the image's
HEALTHCHECK says healthy), `codeforge worker` starts and stops on SIGTERM. hadolint
checks the Dockerfile in test_docker.py."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from ci_support import skip_unless_ci
from docker_support import Dockerd
from postgres_support import postgres_admin_url, postgres_unreachable_reason
from process_support import free_port

from .image_support import AI_IMAGE, IMAGE

pytestmark = pytest.mark.docker

SIZE_LIMIT = 200 * 1000 * 1000  # bytes, as `docker images` counts MB
SECOND = 1_000_000_000  # the engine's durations are in nanoseconds


def get(url: str, timeout: float = 3) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.status, answer.read()


def wait_for(url: str, container: Any, seconds: float = 60) -> tuple[int, bytes]:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError):
            return get(url)
        container.reload()
        assert container.status in {"created", "running"}, container.logs()[-3000:]
        assert time.monotonic() < deadline, container.logs()[-3000:]
        time.sleep(0.3)


@contextlib.contextmanager
def running(dockerd: Dockerd, *command: str, **options: Any) -> Iterator[Any]:
    """A container of the image on the host's network, read-only, /tmp a tmpfs."""
    client: Any = dockerd.client()
    volume = client.volumes.create()
    container = client.containers.run(
        IMAGE,
        list(command) or None,
        detach=True,
        network_mode="host",
        read_only=True,
        tmpfs={"/tmp": ""},
        volumes={volume.name: {"bind": "/var/lib/codeforge", "mode": "rw"}},
        **options,
    )
    try:
        yield container
    finally:
        container.remove(force=True)
        volume.remove(force=True)


def test_the_image_is_one_small_layer_with_labels_and_a_healthcheck(
    codeforge_image: dict[str, Any],
) -> None:
    print(f"\n{IMAGE}: {codeforge_image['Size'] / 1e6:.1f} MB")
    assert codeforge_image["Size"] <= SIZE_LIMIT, codeforge_image["Size"]
    assert len(codeforge_image["RootFS"]["Layers"]) == 1  # flattened onto scratch
    config = codeforge_image["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/bin/tini", "--"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "CodeForge"
    assert labels["org.opencontainers.image.version"] == "dev"
    assert len(labels["org.opencontainers.image.revision"]) == 40
    for name in ("description", "licenses", "documentation"):
        assert labels[f"org.opencontainers.image.{name}"], name


def test_serve_answers_on_a_read_only_root_and_turns_healthy(
    dockerd: Dockerd, codeforge_image: dict[str, Any]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(
        dockerd,
        "codeforge",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        environment={"CODEFORGE_HEALTHCHECK_URL": f"{url}/healthz"},
        # the image's check, run every second instead of every 15
        healthcheck={"interval": SECOND, "start_period": SECOND},
    ) as container:
        status, body = wait_for(f"{url}/healthz", container)
        assert (status, json.loads(body)["status"]) == (200, "ok")
        deadline = time.monotonic() + 60
        # (checks that ran before the server was up may have marked it unhealthy)
        while container.attrs["State"]["Health"]["Status"] != "healthy":
            assert time.monotonic() < deadline, container.attrs["State"]["Health"]
            time.sleep(0.5)
            container.reload()
        assert container.exec_run("id -u").output.strip() == b"10001"
        # the root is read-only; /tmp and the state volume are writable
        denied = container.exec_run("touch /opt/codeforge/x")
        assert denied.exit_code != 0 and b"Read-only file system" in denied.output
        assert container.exec_run("touch /tmp/x /var/lib/codeforge/x").exit_code == 0
        # git works (blueprints from repositories, generated projects' first commit)
        made = container.exec_run(
            "sh -c 'git init -q /tmp/r && git -C /tmp/r -c user.name=t -c user.email=t@t "
            "commit -q --allow-empty -m first && git -C /tmp/r log --format=%s'"
        )
        assert (made.exit_code, made.output) == (0, b"first\n")


def test_worker_starts_answers_healthz_and_stops_on_sigterm(
    dockerd: Dockerd, codeforge_image: dict[str, Any], redis_url: str
) -> None:
    port = free_port()
    with running(
        dockerd,
        "codeforge",
        "worker",
        "--health-port",
        str(port),
        environment={"CODEFORGE_REDIS_URL": redis_url},
    ) as container:
        status, _ = wait_for(f"http://127.0.0.1:{port}/healthz", container)
        assert status == 200
        container.stop(timeout=30)  # SIGTERM through tini
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0, container.logs()[-3000:]
        assert b"worker stopped" in container.logs()


def test_the_python_implementation_of_psycopg_reaches_postgresql(
    dockerd: Dockerd, codeforge_image: dict[str, Any]
) -> None:
    """The image uses Debian's libpq5 (psycopg's binary build is left out)."""
    url = postgres_admin_url()
    reason = postgres_unreachable_reason(url)
    if reason is not None:
        skip_unless_ci(reason)
    postgres_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    client: Any = dockerd.client()
    script = (
        "import sys, psycopg; print(psycopg.pq.__impl__);"
        "print(psycopg.connect(sys.argv[1]).execute('select 41 + 1').fetchone()[0])"
    )
    output = client.containers.run(
        IMAGE,
        ["python3", "-c", script, postgres_url],
        network_mode="host",
        read_only=True,
        remove=True,
    )
    assert output.split() == [b"python", b"42"]


@pytest.mark.slow
def test_the_ai_tag_adds_the_ai_extra(dockerd: Dockerd, codeforge_ai_image: dict[str, Any]) -> None:
    print(f"\n{AI_IMAGE}: {codeforge_ai_image['Size'] / 1e6:.1f} MB")
    client: Any = dockerd.client()
    output = client.containers.run(
        AI_IMAGE,
        ["python3", "-c", "import openai, jsonschema; print('ok')"],
        network_mode="host",
        read_only=True,
        remove=True,
    )
    assert output == b"ok\n"
