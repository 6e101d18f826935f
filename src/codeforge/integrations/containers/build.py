"""``docker.build``: the project's image, built by the engine, tagged, and optionally pushed."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Mapping
from typing import Any

from codeforge.core.sdlc_run import ActionContext
from codeforge.core.steps import TAIL_LINES, StepFailed
from codeforge.errors import UsageError
from codeforge.integrations.containers.engine import (
    engine,
    image_labels,
    registry,
    registry_host,
    repository,
    tag,
    text_input,
    where,
)
from codeforge.integrations.containers.registry import AUTH_ENV, PROVIDER, split_auth
from codeforge.redaction import redact

_ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# How an engine says a registry refused it for want of (good) credentials.
_AUTH_WORDS = re.compile(r"auth|unauthori[sz]ed|denied|401", re.IGNORECASE)


def build_args(context: ActionContext) -> dict[str, str]:
    """``build_args`` (``KEY=VALUE`` words, blank- or comma-separated) plus ``base_image``."""
    args: dict[str, str] = {}
    for word in re.split(r"[\s,]+", text_input(context, "build_args")):
        if not word:
            continue
        key, sep, value = word.partition("=")
        if not sep or not _ARG_RE.match(key):
            raise UsageError(
                f"{word!r} is not KEY=VALUE",
                where=where(context, "build_args"),
                hint="give build arguments as KEY=VALUE words, e.g. BASE_IMAGE=python:3.12-slim",
            )
        args[key] = value
    base = text_input(context, "base_image")
    if base:
        args["BASE_IMAGE"] = base
    return args


_STEP_RE = re.compile(r"^Step (\d+/\d+) : (.*)$")


class _Lines:
    """Build output, line by line: the ``Step N/M`` lines to ``info`` (what a log keeps),
    everything else to the running output (shown in place on a terminal), and the last
    lines kept as a tail for failures."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._partial = ""

    def feed(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self.line(line)

    def line(self, line: str) -> None:
        line = redact(line.rstrip("\r"))
        if not line.strip():
            return
        self.tail.append(line)
        step = _STEP_RE.match(line)
        if step is not None:
            self.context.info(f"step {step[1]}: {step[2]}")
        else:
            self.context.output(line.strip())

    def status(self, chunk: Mapping[str, Any]) -> None:
        """A pull's or push's progress record: ``Pushing 3f2a...: 12.5MB/40MB``."""
        parts = [str(chunk.get(key, "")) for key in ("status", "id", "progress")]
        self.context.output(" ".join(part for part in parts if part))

    def flush(self) -> None:
        if self._partial:
            self.line(self._partial)
            self._partial = ""
        self.context.output("")


def run_build(client: Any, context: ActionContext, reference: str) -> str:
    """Build the project's Dockerfile as ``reference``; the image id (StepFailed with the tail)."""
    dockerfile = text_input(context, "dockerfile", "Dockerfile")
    if not (context.project / dockerfile).is_file():
        raise UsageError(
            f"the project has no {dockerfile}",
            where=where(context, "dockerfile"),
            hint="a web-fastapi project has one when generated with use_docker=true",
        )
    lines, image_id = _Lines(context), ""
    stream = client.api.build(
        path=str(context.project),
        dockerfile=dockerfile,
        tag=reference,
        buildargs=build_args(context),
        labels=image_labels(context, reference.rpartition(":")[2]),
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    try:
        for chunk in _chunks(stream):
            if "stream" in chunk:
                lines.feed(str(chunk["stream"]))
            elif "error" in chunk:
                lines.flush()
                error = redact(str(chunk["error"]).strip())
                raise StepFailed(f"{where(context)}: docker build failed: {error}", tail=lines.tail)
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
            elif chunk.get("status"):
                lines.status(chunk)
    finally:
        lines.flush()
    if not image_id:  # an engine that sends no aux record: ask it
        image_id = str(client.api.inspect_image(reference)["Id"])
    return image_id


def registry_auth(context: ActionContext, target: str) -> dict[str, str] | None:
    """The push's ``auth_config`` for the registry host of ``target``, when a credential is
    stored for it (``codeforge credentials set docker --host HOST``) or in the environment."""
    host = registry_host(target)
    secret = context.credential(PROVIDER, host)
    return split_auth(secret, host) if secret else None


def push(client: Any, context: ActionContext, image_id: str, target: str, version: str) -> str:
    """Tag the image as ``target:version`` and push it; the pushed manifest's digest."""
    client.api.tag(image_id, target, version)
    auth = registry_auth(context, target)
    context.info(f"pushing {target}:{version}" + (" (logged in)" if auth else ""))
    lines = _Lines(context)
    stream = client.api.push(target, tag=version, stream=True, decode=True, auth_config=auth)
    try:
        digest = _pushed(context, stream, target, auth is not None, lines)
    finally:
        lines.flush()
    context.info(f"pushed {target}@{digest}")
    return digest


def _pushed(
    context: ActionContext, stream: Iterable[Any], target: str, logged_in: bool, lines: _Lines
) -> str:
    """Follow a push's progress records; the manifest's digest (StepFailed on an error)."""
    digest, tail, host = "", collections.deque[str](maxlen=TAIL_LINES), registry_host(target)
    for chunk in _chunks(stream):
        if "error" in chunk:
            error = redact(str(chunk["error"]).strip())
            hint = None
            if _AUTH_WORDS.search(error):
                hint = (
                    f"the registry {host} wants a login: codeforge credentials set docker "
                    f"--host {host} (USER:PASSWORD), or {AUTH_ENV} in CI; through the "
                    f"API: PUT /api/v1/credentials/docker with host {host}"
                    if not logged_in
                    else f"check the docker credential stored for {host}"
                )
            raise StepFailed(
                f"{where(context)}: docker push to {target} failed: {error}", tail=tail, hint=hint
            )
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
        if chunk.get("status") and "id" not in chunk:
            tail.append(str(chunk["status"]))
        elif chunk.get("status"):
            lines.status(chunk)
    if not digest:
        raise StepFailed(f"{where(context)}: the registry gave no digest for {target}", tail=tail)
    return digest


def _chunks(stream: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for chunk in stream:
        if isinstance(chunk, dict):
            yield chunk


class DockerBuild:
    """``docker.build``: build the project's Dockerfile with the Docker Engine API.

    Inputs: ``image`` (default: the project folder's name), ``tag`` (default
    ``latest``), ``dockerfile`` (default ``Dockerfile``), ``build_args`` (``KEY=VALUE``
    words), ``base_image`` (the ``BASE_IMAGE`` build argument), ``registry``
    (``HOST[:PORT]/NAMESPACE``: push there after the build). Outputs: ``image``,
    ``image_id``, ``tags`` (comma-separated), and ``digest`` (``REPOSITORY@sha256:...``) when pushed.
    """

    name = "docker.build"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Build, tag, push when a registry is given; the build log streams to ``info``."""
        repo, version, target = repository(context), tag(context), registry(context)
        client = engine(self.name, timeout=context.timeout)
        reference = f"{repo}:{version}"
        context.info(f"building {reference} from {context.project}")
        image_id = run_build(client, context, reference)
        context.info(f"built {reference} ({image_id})")
        outputs = {"image": reference, "image_id": image_id}
        tags = [reference]
        if target:
            pushed = f"{target}/{repo}"
            digest = push(client, context, image_id, pushed, version)
            tags.append(f"{pushed}:{version}")
            outputs["digest"] = f"{pushed}@{digest}"
        outputs["tags"] = ",".join(tags)
        return outputs
