"""The Docker engine the container actions talk to, and what they share: inputs and labels."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from codeforge.core.answersfile import FALSE_WORDS, read_answers_file
from codeforge.core.sdlc_run import ActionContext
from codeforge.errors import CodeForgeError, UsageError

DEFAULT_HOST = "unix:///var/run/docker.sock"
# Each thread's engine clients, by DOCKER_HOST and its TLS settings (see engine()).
_THREAD = threading.local()
# The label that names the project a container belongs to (docker.run's --down finds it).
PROJECT_LABEL = "dev.codeforge.project"
OCI = "org.opencontainers.image"
# A reference's repository part: lowercase path components, with an optional registry host.
_REPO_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


class EngineUnavailable(CodeForgeError):
    """No Docker engine answers where ``DOCKER_HOST`` points (exit 1)."""

    kind = "docker_engine"


def docker_host() -> str:
    """Where the engine is looked for: ``DOCKER_HOST``, else the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def engine(action: str, timeout: float = 120.0, *, shared: bool = True) -> Any:
    """A ``docker.DockerClient`` on the engine that answers; EngineUnavailable if none.

    A new client asks the engine its API version, so an engine that does not answer is
    found before any work. With ``shared`` (the default) each thread keeps one client per
    engine and later calls only ping it: a command that builds and then runs makes one
    client and two requests, not two clients and four. A client that is not shared
    (``shared=False``) is the caller's to close: use one for anything that stores state
    in the client, such as a registry login, so nothing of it reaches a later step.
    """
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise UsageError(
            f"{action} needs the `docker` package beside CodeForge",
            hint="pip install 'codeforge[docker]'",
        ) from None
    key = (
        docker_host(),
        os.environ.get("DOCKER_TLS_VERIFY", ""),
        os.environ.get("DOCKER_CERT_PATH", ""),
    )
    clients: dict[tuple[str, str, str], Any] = _THREAD.__dict__.setdefault("clients", {})
    client = clients.pop(key, None) if shared else None
    try:
        if client is None:
            client = docker.from_env(timeout=int(timeout))  # GET /version: no answer, no client
        else:
            client.api.timeout = int(timeout)
            client.ping()
    except (DockerException, OSError) as exc:
        raise EngineUnavailable(
            f"{action}: no Docker engine answers at {key[0]} ({_reason(exc)})",
            hint=(
                "start the Docker engine (dockerd), or point DOCKER_HOST at it: "
                "export DOCKER_HOST=unix:///path/to/docker.sock (or tcp://HOST:2375)"
            ),
        ) from exc
    if shared:
        clients[key] = client
    return client


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__


def text_input(context: ActionContext, name: str, default: str = "") -> str:
    """The step's input ``name`` as stripped text (``default`` when absent or empty)."""
    value = context.inputs.get(name, default)
    text = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    return text or default


def flag_input(context: ActionContext, name: str, default: bool) -> bool:
    """The step's input ``name`` as a yes/no."""
    value = context.inputs.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in FALSE_WORDS


def number_input(context: ActionContext, name: str, default: float, *, low: float = 0) -> float:
    """The step's input ``name`` as a number above ``low``; a usage error names the input."""
    value = context.inputs.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = low - 1
    if isinstance(value, bool) or number <= low:
        raise UsageError(
            f"{name} must be a number above {low:g}, not {value!r}", where=where(context, name)
        )
    return number


def where(context: ActionContext, name: str | None = None) -> str:
    """How a message names the step (and one of its inputs)."""
    return f"workflow.{context.stage}: {context.step}" + (f" (with.{name})" if name else "")


def repository(context: ActionContext) -> str:
    """The image's repository name: the ``image`` input, else the project folder's name."""
    raw = text_input(context, "image") or context.project.name.lower()
    name = re.sub(r"[^a-z0-9._/-]+", "-", raw.lower()).strip("-._/")
    if not _REPO_RE.match(name):
        raise UsageError(f"{raw!r} is not an image name", where=where(context, "image"))
    return name


def tag(context: ActionContext) -> str:
    """The image's tag: the ``tag`` input, else ``latest``."""
    value = text_input(context, "tag", "latest")
    if not _TAG_RE.match(value):
        raise UsageError(f"{value!r} is not an image tag", where=where(context, "tag"))
    return value


def registry(context: ActionContext) -> str:
    """``HOST[:PORT]/NAMESPACE`` to push to, or empty (no push)."""
    return check_registry(text_input(context, "registry"), where(context, "registry"))


def check_registry(value: str, where: str) -> str:
    """``value`` as ``HOST[:PORT]/NAMESPACE`` (an ``http(s)://`` prefix and a final ``/``
    dropped), or empty; UsageError naming ``where`` when it is not one."""
    value = value.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        value = value.removeprefix(scheme)
    if value and not _REGISTRY_RE.match(value):
        raise UsageError(
            f"{value!r} is not a registry",
            where=where,
            hint="give it as HOST[:PORT]/NAMESPACE, e.g. registry.example.com/team",
        )
    return value


def registry_host(target: str) -> str:
    """The ``HOST[:PORT]`` of a registry or an image reference under it, lowercase."""
    return target.partition("/")[0].lower()


def project_label(context: ActionContext) -> str:
    """The value of :data:`PROJECT_LABEL` for this project: its absolute path."""
    return str(context.project.resolve())


def image_labels(context: ActionContext, version: str) -> dict[str, str]:
    """OCI labels plus the blueprint's name, version and commit and the project's commit."""
    answers: Mapping[str, Any] = context.answers
    labels = {
        f"{OCI}.title": context.project.name,
        f"{OCI}.version": version,
        f"{OCI}.created": datetime.now(UTC).isoformat(timespec="seconds"),
        PROJECT_LABEL: project_label(context),
    }
    if answers.get("description"):
        labels[f"{OCI}.description"] = str(answers["description"])
    if answers.get("license") and answers["license"] != "proprietary":
        labels[f"{OCI}.licenses"] = str(answers["license"])
    author = " ".join(
        filter(None, [str(answers.get("author_name") or ""), _bracket(answers.get("author_email"))])
    )
    if author:
        labels[f"{OCI}.authors"] = author
    revision = _project_commit(context)
    if revision:
        labels[f"{OCI}.revision"] = revision
    labels.update(_blueprint_labels(context))
    return labels


def _bracket(email: object) -> str:
    return f"<{email}>" if email else ""


def _project_commit(context: ActionContext) -> str | None:
    if not (context.project / ".git").exists():
        return None
    from codeforge.integrations.git import git_available, rev_parse

    return rev_parse(context.project, "HEAD") if git_available() else None


def _blueprint_labels(context: ActionContext) -> dict[str, str]:
    try:
        made = read_answers_file(context.project)
    except CodeForgeError:
        return {}
    labels = {
        "dev.codeforge.blueprint.name": made.blueprint_name,
        "dev.codeforge.blueprint.version": made.blueprint_version,
    }
    if made.commit:
        labels["dev.codeforge.blueprint.commit"] = made.commit
    return labels
