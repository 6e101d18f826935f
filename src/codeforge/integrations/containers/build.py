"""``docker.build``: the project's image, built by the engine, tagged, and optionally pushed."""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from codeforge.core.sdlc import ActionContext
from codeforge.core.steps import TAIL_LINES, StepFailed
from codeforge.errors import UsageError
from codeforge.integrations.containers.engine import (
    engine,
    image_labels,
    registry,
    repository,
    tag,
    text_input,
    where,
)
from codeforge.redaction import redact

_ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


class _Lines:
    """Build output, streamed line by line to ``info`` and kept as a tail for failures."""

    def __init__(self, info: Callable[[str], None]) -> None:
        self.info = info
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._partial = ""

    def feed(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self.line(line)

    def line(self, line: str) -> None:
        line = redact(line.rstrip("\r"))
        if line.strip():
            self.tail.append(line)
            self.info(f"  {line}")

    def flush(self) -> None:
        if self._partial:
            self.line(self._partial)
            self._partial = ""


def run_build(client: Any, context: ActionContext, reference: str) -> str:
    """Build the project's Dockerfile as ``reference``; the image id (StepFailed with the tail)."""
    dockerfile = text_input(context, "dockerfile", "Dockerfile")
    if not (context.project / dockerfile).is_file():
        raise UsageError(
            f"the project has no {dockerfile}",
            where=where(context, "dockerfile"),
            hint="a web-fastapi project has one when generated with use_docker=true",
        )
    lines, image_id = _Lines(context.info), ""
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
    for chunk in stream:
        if "stream" in chunk:
            lines.feed(str(chunk["stream"]))
        elif "error" in chunk:
            lines.flush()
            error = redact(str(chunk["error"]).strip())
            raise StepFailed(f"{where(context)}: docker build failed: {error}", tail=lines.tail)
        elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
    lines.flush()
    if not image_id:  # an engine that sends no aux record: ask it
        image_id = str(client.api.inspect_image(reference)["Id"])
    return image_id


def push(client: Any, context: ActionContext, image_id: str, target: str, version: str) -> str:
    """Tag the image as ``target:version`` and push it; the pushed manifest's digest."""
    client.api.tag(image_id, target, version)
    context.info(f"pushing {target}:{version}")
    digest, tail = "", collections.deque[str](maxlen=TAIL_LINES)
    for chunk in _chunks(client.api.push(target, tag=version, stream=True, decode=True)):
        if "error" in chunk:
            error = redact(str(chunk["error"]).strip())
            raise StepFailed(
                f"{where(context)}: docker push to {target} failed: {error}", tail=tail
            )
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
        if chunk.get("status") and "id" not in chunk:
            tail.append(str(chunk["status"]))
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
        try:
            reference = f"{repo}:{version}"
            context.info(f"building {reference} from {context.project}")
            image_id = run_build(client, context, reference)
            outputs = {"image": reference, "image_id": image_id}
            tags = [reference]
            if target:
                pushed = f"{target}/{repo}"
                digest = push(client, context, image_id, pushed, version)
                tags.append(f"{pushed}:{version}")
                outputs["digest"] = f"{pushed}@{digest}"
            outputs["tags"] = ",".join(tags)
            return outputs
        finally:
            client.close()
