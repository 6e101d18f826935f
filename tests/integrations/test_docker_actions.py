"""The container actions' bad input (issue 13's table) against a real dockerd: no engine, a
failed build, a health check that never passes, a port already taken."""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest
from cli_support import console
from docker_support import Dockerd
from process_support import free_port

from codeforge.core.sdlc import ActionContext
from codeforge.core.steps import StepFailed
from codeforge.errors import ConflictError, UsageError
from codeforge.plugins.manager import build_plugins

pytest.importorskip("docker")


def context(project: Path, lines: list[str], **inputs: str | int) -> ActionContext:
    return ActionContext(
        project=project,
        stage="deploy",
        inputs=inputs,
        answers={},
        step="Container",
        timeout=120,
        info=lines.append,
    )


def test_the_default_plugin_gives_the_container_actions() -> None:
    actions = build_plugins({}).workflow_actions()
    assert {"docker.build", "docker.run", "compose.up"} <= set(actions)


def test_build_args_are_key_value_words(tmp_path: Path) -> None:
    from codeforge.integrations.containers.build import build_args

    made = build_args(context(tmp_path, [], build_args="A=1, B=x=y", base_image="base:1"))
    assert made == {"A": "1", "B": "x=y", "BASE_IMAGE": "base:1"}
    with pytest.raises(UsageError, match="'oops' is not KEY=VALUE"):
        build_args(context(tmp_path, [], build_args="A=1 oops"))


def test_no_engine_exits_1_saying_how_to_point_docker_host(tmp_path: Path) -> None:
    made = console("init", "-t", "web-fastapi", "svc", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    nowhere = f"unix://{tmp_path}/no-engine.sock"
    done = console(
        "workflow", "run", "build", "-C", str(tmp_path / "svc"), env={"DOCKER_HOST": nowhere}
    )
    assert done.returncode == 1, done.stderr
    assert f"no Docker engine answers at {nowhere}" in done.stderr
    assert "export DOCKER_HOST=" in done.stderr


def test_a_malformed_registry_is_refused_before_anything_runs(tmp_path: Path) -> None:
    made = console("init", "-t", "web-fastapi", "svc", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    done = console(
        "workflow", "run", "build", "--registry", "not a registry!", "-C", str(tmp_path / "svc")
    )
    assert done.returncode == 2, done.stderr
    assert "'not a registry!' is not a registry" in done.stderr
    assert "HOST[:PORT]/NAMESPACE" in done.stderr


@pytest.mark.docker
def test_a_failed_build_shows_the_log_tail_and_exits_11(
    tmp_path: Path, dockerd: Dockerd, base_image: str
) -> None:
    made = console("init", "-t", "web-fastapi", "svc", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "svc" / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'compiling the marker' && exit 3\n"
    )
    env = {**dockerd.env(), "CODEFORGE_DOCKER_BASE_IMAGE": base_image}
    done = console("workflow", "run", "build", "-C", str(tmp_path / "svc"), env=env, timeout=300)
    assert done.returncode == 11, done.stderr
    assert "docker build failed" in done.stderr and "non-zero code: 3" in done.stderr
    assert "  | compiling the marker" in done.stderr  # the tail, after the message


@pytest.fixture(scope="module")
def sleeper(dockerd: Dockerd, base_image: str) -> str:
    """An image whose process prints a line and never serves anything."""
    dockerfile = (
        f"FROM {base_image}\n"
        'CMD ["python3", "-c", "print(\'booting, never healthy\', flush=True); '
        'import time; time.sleep(600)"]\n'
    )
    client = dockerd.client()
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="sleeper:1", rm=True)  # type: ignore[attr-defined]
    return "sleeper:1"


@pytest.mark.docker
def test_a_health_check_that_never_passes_shows_the_logs_then_removes_the_container(
    tmp_path: Path, dockerd: Dockerd, sleeper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codeforge.integrations.containers.run import DockerRun

    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    before = dockerd.containers()
    lines: list[str] = []
    ctx = context(tmp_path, lines, image=sleeper, network="host", host_port=free_port(), wait=3)
    with pytest.raises(
        StepFailed, match="did not become healthy: it was not healthy within 3 s"
    ) as failed:
        DockerRun().run(ctx)
    assert failed.value.exit_code == 11
    assert "booting, never healthy" in failed.value.tail
    assert dockerd.containers() - before == set()


@pytest.mark.docker
def test_a_port_already_taken_is_named(
    tmp_path: Path, dockerd: Dockerd, sleeper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codeforge.integrations.containers.run import DockerRun

    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    before = dockerd.containers()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConflictError, match=f"port {port} on 127.0.0.1 is already taken"):
            DockerRun().run(context(tmp_path, [], image=sleeper, network="host", host_port=port))
    assert dockerd.containers() - before == set()


@pytest.mark.docker
def test_down_with_nothing_running_removes_nothing(
    tmp_path: Path, dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from codeforge.integrations.containers.run import DockerRun

    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    lines: list[str] = []
    down = dataclasses.replace(context(tmp_path, lines), down=True)
    assert DockerRun().run(down) == {"removed": ""}
    assert lines == ["no container of this project to remove"]


# A RUN step printing a line its own text does not hold; {run} keeps the engine's cache out.
OUTPUT_DOCKERFILE = (
    "ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\n"
    "RUN python3 -c \"print('out' + 'put-marker', {run})\"\n"
    'CMD ["python3"]\n'
)


@pytest.mark.docker
def test_build_output_shows_steps_and_its_log_only_on_a_terminal(
    tmp_path: Path, dockerd: Dockerd, base_image: str
) -> None:
    from cli_support import Terminal

    made = console("init", "-t", "web-fastapi", "svc", "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "svc" / "Dockerfile").write_text(OUTPUT_DOCKERFILE.format(run=1))
    env = {**dockerd.env(), "CODEFORGE_DOCKER_BASE_IMAGE": base_image}
    argv = ["workflow", "run", "build", "--force", "-C", str(tmp_path / "svc")]
    piped = console(*argv, env=env, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert re.search(r"step 3/\d+: RUN python3 -c", piped.stderr), piped.stderr
    assert "built svc:latest" in piped.stderr
    assert "output-marker" not in piped.stderr  # the log: only on a terminal

    import os

    (tmp_path / "svc" / "Dockerfile").write_text(OUTPUT_DOCKERFILE.format(run=2))
    terminal = Terminal(argv, environ={**os.environ, **env})
    terminal.wait_for("built svc:latest", timeout=300)
    assert terminal.finish() == 0, terminal.seen
    assert re.search(r"step 3/\d+: RUN python3 -c", terminal.seen), terminal.seen
    assert "output-marker" in terminal.seen  # the running output, shown in place
    assert '{"stream"' not in terminal.seen
