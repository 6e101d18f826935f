"""Preview a project: its rendered files and folders, without writing or recording anything."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from codeforge.app.context import AppContext
from codeforge.app.generate import Rendered, render
from codeforge.app.marketplace import Caller


@dataclasses.dataclass(frozen=True)
class PreviewedFile:
    path: str
    size: int
    binary: bool
    mode: int
    content: str | None  # UTF-8 text; None for binary or undecodable files


@dataclasses.dataclass(frozen=True)
class Preview:
    template: str
    version: str
    name: str
    answers: dict[str, Any]
    files: list[PreviewedFile]  # by path
    directories: list[str]  # sorted


def _text(content: bytes, binary: bool) -> str | None:
    if binary:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def preview(
    ctx: AppContext,
    template: str,
    name: str,
    answers: Mapping[str, Any],
    version: str | None,
    *,
    caller: Caller,
) -> Preview:
    """Render ``template`` in memory and describe every file it would make."""
    rendered: Rendered = render(ctx, template, name, answers, version, caller=caller)
    bp = rendered.loaded.blueprint
    ctx.metrics.generations.labels(bp.name, "preview").inc()
    files = [
        PreviewedFile(f.path, len(f.content), f.binary, f.mode, _text(f.content, f.binary))
        for f in sorted(rendered.plan.files, key=lambda f: f.path)
    ]
    return Preview(
        template=bp.name,
        version=bp.version,
        name=name,
        answers=rendered.answers,
        files=files,
        directories=sorted(rendered.plan.directories),
    )
