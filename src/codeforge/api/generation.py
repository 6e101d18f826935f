"""Render a project for a request and record it: the shared part of generate and starter.zip."""

from __future__ import annotations

import dataclasses
import io
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import quote

from codeforge.api import catalog
from codeforge.api.auth import Principal
from codeforge.api.context import AppContext
from codeforge.core.engine import LoadedBlueprint
from codeforge.core.plan import RenderPlan
from codeforge.core.records import GenerationRecord
from codeforge.core.sinks import write_zip

CHUNK: Final = 64 * 1024
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclasses.dataclass
class Rendered:
    loaded: LoadedBlueprint
    answers: dict[str, Any]
    plan: RenderPlan


def render(
    ctx: AppContext, template: str, name: str, answers: Mapping[str, Any], version: str | None
) -> Rendered:
    """Resolve ``template`` (built-in or registered, never a path) and render it in memory."""
    engine, ref = catalog.resolve(ctx, template, version)
    loaded, public, plan = engine.render_plan(ref, name, answers, allow_local=False)
    return Rendered(loaded, public, plan)


def record(
    ctx: AppContext, user: Principal, name: str, rendered: Rendered, action: str = "generate"
) -> int:
    """Store the project and its activity row in one transaction; returns the project id."""
    from codeforge.db.repositories import record_generation

    bp = rendered.loaded.blueprint
    record_id = uuid.uuid4().hex
    rec = GenerationRecord(
        project_name=name,
        # API projects live in the caller's download, not on a server path: one row each.
        path=f"api:{record_id}/{name}",
        blueprint_name=bp.name,
        blueprint_version=bp.version,
        blueprint_source=rendered.loaded.source.source,
        answers=rendered.answers,
        action=action,
        actor=user.name,
        file_count=len(rendered.plan.files),
        record_id=record_id,
    )
    with ctx.factory.begin() as session:
        project = record_generation(session, rec)
        project_id = project.id
    ctx.metrics.generations.labels(bp.name, "zip").inc()
    return project_id


def zip_bytes(plan: RenderPlan, name: str) -> bytes:
    """The deterministic zip of ``plan`` with every file under ``name/``."""
    buffer = io.BytesIO()
    write_zip(plan, buffer, prefix=name)
    return buffer.getvalue()


def chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start : start + CHUNK])


def content_disposition(name: str, suffix: str = ".zip") -> str:
    """``attachment`` with an ASCII-only ``filename`` and the exact name in ``filename*``.

    The ASCII form keeps only letters, digits, dot, dash and underscore, so no quote,
    separator, control character or header injection can get through.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_FILENAME.sub("_", ascii_name).strip("._") or "project"
    exact = quote(name + suffix, safe="")
    return f"attachment; filename=\"{ascii_name[:100]}{suffix}\"; filename*=UTF-8''{exact}"
