"""Ctrl-C during a docker step, through the real console script: the build or the health
wait stops, nothing it started is left in the engine, the stage is recorded as
interrupted (`workflow status`), and the exit status is 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_support import CODEFORGE, console
from docker_support import Dockerd
from process_support import free_port

pytestmark = pytest.mark.docker

SLOW_BUILD = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'slow step begins' && sleep 300\n"
NEVER_HEALTHY = (
    "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
    'CMD ["python3", "-c", "import time; print(\'up, never healthy\', flush=True); '
    'time.sleep(600)"]\n'
)


def interrupt_when(argv: list[str], env: dict[str, str], marker: str) -> tuple[int, str]:
    """Start the console script, send SIGINT once ``marker`` is on its stderr; exit, stderr."""
    proc = subprocess.Popen(
        [str(CODEFORGE), *argv],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 600
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            break
        assert time.monotonic() < deadline, "".join(seen)
    else:
        pytest.fail(f"{marker!r} never appeared:\n{''.join(seen)}")
    time.sleep(1.0)  # well inside the step
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    return proc.wait(timeout=120), "".join(seen) + rest


def stage_status(project: Path, env: dict[str, str], stage: str) -> dict[str, object]:
    shown = console("workflow", "status", "-C", str(project), "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return dict(next(s["last"] for s in json.loads(shown.stdout) if s["stage"] == stage))


def leftovers(dockerd: Dockerd, before: set[str]) -> set[str]:
    """The containers made since ``before``, once a cancelled build has had time to clean
    up (30 s); the engine is shared with the session's other docker tests."""
    deadline = time.monotonic() + 30
    while True:
        found = dockerd.containers() - before
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def project_with(tmp_path: Path, name: str, dockerfile: str) -> Path:
    made = console("init", "-t", "web-fastapi", name, "--defaults", "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / name / "Dockerfile").write_text(dockerfile)
    return tmp_path / name


def test_ctrl_c_stops_a_docker_build(tmp_path: Path, dockerd: Dockerd, base_image: str) -> None:
    project = project_with(tmp_path, "slow", SLOW_BUILD)
    before = dockerd.containers()
    env = {**dockerd.env(), "CODEFORGE_DOCKER_BASE_IMAGE": base_image}
    code, err = interrupt_when(
        ["workflow", "run", "build", "-C", str(project)], env, "slow step begins"
    )
    assert code == 130, err
    last = stage_status(project, env, "build")
    assert last["status"] == "interrupted" and last["step"] == "Image", last
    assert (
        leftovers(dockerd, before) == set()
    )  # the build's container went with the cancelled build
    assert "slow:latest" not in str(dockerd.client().images.list())  # type: ignore[attr-defined]


def test_ctrl_c_during_the_health_wait_removes_the_container(
    tmp_path: Path, dockerd: Dockerd, base_image: str
) -> None:
    project = project_with(tmp_path, "stuck", NEVER_HEALTHY)
    before = dockerd.containers()
    env = {
        **dockerd.env(),
        "CODEFORGE_DOCKER_BASE_IMAGE": base_image,
        "CODEFORGE_DOCKER_NETWORK": "host",
        "CODEFORGE_DEPLOY_PORT": str(free_port()),
    }
    built = console("workflow", "run", "build", "-C", str(project), env=env, timeout=600)
    assert built.returncode == 0, built.stderr
    code, err = interrupt_when(
        ["workflow", "run", "deploy", "-C", str(project)], env, "to be healthy"
    )
    assert code == 130, err
    last = stage_status(project, env, "deploy")
    assert last["status"] == "interrupted", last
    assert leftovers(dockerd, before) == set()
