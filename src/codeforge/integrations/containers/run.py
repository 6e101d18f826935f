"""``docker.run``: start the project's image, wait until it is healthy, print its URL.

Ports are published on 127.0.0.1 only. With ``network: host`` (an engine started
with ``--bridge=none``, as in the tests, has no bridge to publish through) the
container shares the host's network: it is told the address to listen on through
the ``host_env`` and ``port_env`` variables (web-fastapi's image reads
``UVICORN_HOST`` and ``UVICORN_PORT``) and the probe goes to that port.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections.abc import Mapping
from typing import Any

from codeforge.core.sdlc_run import ActionContext
from codeforge.core.steps import TAIL_LINES, StepFailed
from codeforge.errors import ConflictError, UsageError
from codeforge.integrations.containers.engine import (
    PROJECT_LABEL,
    engine,
    number_input,
    project_label,
    repository,
    tag,
    text_input,
    where,
)
from codeforge.redaction import redact

ACTION_LABEL = "dev.codeforge.action"
# The health wait polls every 20 ms at first (an app is often up within a second: a
# coarse poll would add its own latency to every deploy), then backs off to 250 ms.
_POLL_FIRST, _POLL_GROWTH, _POLL_MAX = 0.02, 1.25, 0.25


def port_input(context: ActionContext, name: str, default: int) -> int:
    """A TCP port input (1-65535)."""
    value = number_input(context, name, default)
    if value != int(value) or not 0 < value < 65536:
        raise UsageError(f"{name} must be a TCP port, not {value:g}", where=where(context, name))
    return int(value)


def check_port_free(port: int, context: ActionContext) -> None:
    """ConflictError naming the port when something already listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ConflictError(
                f"port {port} on 127.0.0.1 is already taken",
                where=where(context, "host_port"),
                hint="stop what listens there, or deploy on another port "
                "(CODEFORGE_DEPLOY_PORT, or the step's `with: {host_port: N}`)",
            ) from None


def ours(client: Any, context: ActionContext) -> list[Any]:
    """The containers docker.run started for this project (running or not)."""
    wanted = [f"{PROJECT_LABEL}={project_label(context)}", f"{ACTION_LABEL}=docker.run"]
    return list(client.containers.list(all=True, filters={"label": wanted}))


def remove(container: Any) -> None:
    """Stop and remove ``container`` (already gone is fine)."""
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        container.remove(force=True, v=True)


def probe(url: str) -> bool:
    """True when ``url`` answers with a status below 400."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        conn.request("GET", "/" + path)
        return conn.getresponse().status < 400
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def logs_tail(container: Any) -> list[str]:
    """The container's last log lines, redacted."""
    try:
        raw = container.logs(tail=TAIL_LINES).decode("utf-8", "replace")
    except Exception:  # the engine may already have lost it
        return []
    return [redact(line) for line in raw.splitlines()]


def wait_healthy(container: Any, url: str, seconds: float) -> str | None:
    """Wait for the health check or the HTTP probe; None when healthy, else why not."""
    deadline = time.monotonic() + seconds
    pause = _POLL_FIRST
    while True:
        container.reload()
        state = container.attrs.get("State", {})
        if state.get("Status") in ("exited", "dead"):
            return f"the container exited with {state.get('ExitCode')}"
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy" or probe(url):
            return None
        if health == "unhealthy":
            return "its health check failed"
        if time.monotonic() > deadline:
            return f"it was not healthy within {seconds:g} s (health check or GET {url})"
        time.sleep(pause)
        pause = min(pause * _POLL_GROWTH, _POLL_MAX)


class DockerRun:
    """``docker.run``: run the project's image with its port on 127.0.0.1, wait until healthy.

    Inputs: ``image`` and ``tag`` (as docker.build's), ``name`` (the container's, default
    the image name), ``port`` (the container's, default 8000), ``host_port`` (default the
    same), ``network`` (``bridge``, the default, or ``host``), ``host_env`` and ``port_env``
    (with host networking: the variables that tell the app where to listen, default
    ``HOST`` and ``PORT``), ``health_path`` (default ``/health``), ``wait`` (seconds,
    default 60). Outputs: ``url``, ``container``, ``image``. With ``--down`` it stops and
    removes the containers it started for the project (found by their labels).
    """

    name = "docker.run"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Start (or, with down, remove) the project's container."""
        client = engine(self.name)
        if getattr(context, "down", False):
            return self._down(client, context)
        return self._up(client, context)

    def _down(self, client: Any, context: ActionContext) -> Mapping[str, str]:
        found = ours(client, context)
        for container in found:
            context.info(f"removing container {container.name}")
            remove(container)
        if not found:
            context.info("no container of this project to remove")
        return {"removed": " ".join(c.name for c in found)}

    def _up(self, client: Any, context: ActionContext) -> Mapping[str, str]:
        image = text_input(context, "image") or repository(context)
        if ":" not in image.rpartition("/")[2] and "@" not in image:
            image = f"{image}:{tag(context)}"
        port = port_input(context, "port", 8000)
        host_port = port_input(context, "host_port", port)
        network = text_input(context, "network", "bridge")
        if network not in ("bridge", "host"):
            raise UsageError(
                f"network must be bridge or host, not {network!r}", where=where(context, "network")
            )
        for old in ours(client, context):  # a new deploy replaces the last one
            context.info(f"replacing container {old.name}")
            remove(old)
        check_port_free(host_port, context)
        container = self._start(client, context, image, port, host_port, network)
        url = f"http://127.0.0.1:{host_port}"
        health = "/" + text_input(context, "health_path", "/health").lstrip("/")
        seconds = number_input(context, "wait", 60.0)
        context.info(f"waiting for {container.name} to be healthy")
        try:
            failure = wait_healthy(container, url + health, seconds)
        except KeyboardInterrupt:  # Ctrl-C: nothing half-started stays behind
            remove(container)
            raise
        if failure is not None:
            tail = logs_tail(container)
            remove(container)
            raise StepFailed(
                f"{where(context)}: {container.name} did not become healthy: {failure}; "
                "the container was removed (its last log lines follow)",
                tail=tail,
            )
        context.info(f"{container.name} is up at {url}")
        return {"url": url, "container": str(container.name), "image": image}

    def _start(
        self, client: Any, context: ActionContext, image: str, port: int, host_port: int, net: str
    ) -> Any:
        from docker.errors import APIError, ImageNotFound

        name = text_input(context, "name") or repository(context).rpartition("/")[2]
        options: dict[str, Any] = {
            "detach": True,
            "name": name,
            "labels": {PROJECT_LABEL: project_label(context), ACTION_LABEL: self.name},
        }
        if net == "host":
            options["network_mode"] = "host"
            options["environment"] = {
                text_input(context, "host_env", "HOST"): "127.0.0.1",
                text_input(context, "port_env", "PORT"): str(host_port),
            }
        else:
            options["ports"] = {f"{port}/tcp": ("127.0.0.1", host_port)}
        try:
            return client.containers.run(image, **options)
        except ImageNotFound:
            raise UsageError(
                f"the engine has no image {image}",
                where=where(context, "image"),
                hint="run the build stage first (codeforge workflow run build)",
            ) from None
        except APIError as exc:
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise ConflictError(
                    f"port {host_port} on 127.0.0.1 is already taken", where=where(context)
                ) from None
            raise StepFailed(
                f"{where(context)}: the engine refused the container: {text}"
            ) from None
