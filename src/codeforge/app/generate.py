"""Generate a project for a server caller: resolve, render in memory, zip, and record.

The API's ``POST /projects/generate`` and ``GET /starter.zip`` and the worker's
``generate`` job all come through here, so a job's zip is byte-identical to the
synchronous endpoint's.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Mapping
from typing import Any, Final

from codeforge.app import catalog
from codeforge.app.blueprints import server_engine
from codeforge.app.context import AppContext
from codeforge.app.marketplace import Caller
from codeforge.app.registry import fetch_git
from codeforge.core.engine import LoadedBlueprint, SDLCEngine
from codeforge.core.generation import announce
from codeforge.core.outputs import ZipOutput
from codeforge.core.plan import RenderPlan
from codeforge.errors import NotFoundError

JOB_SOURCE_REF: Final = "job:source"


@dataclasses.dataclass
class Rendered:
    """A blueprint rendered in memory: what it came from, its public answers, its files."""

    loaded: LoadedBlueprint
    answers: dict[str, Any]
    plan: RenderPlan


@dataclasses.dataclass
class Generated:
    """A rendered project and its zip (every file under ``name/``)."""

    rendered: Rendered
    data: bytes


def render_resolved(
    engine: SDLCEngine, ref: str, name: str, answers: Mapping[str, Any]
) -> Rendered:
    """Render the resolved blueprint ``ref`` in memory with ``answers`` (no prompts)."""
    loaded, public, plan = engine.render_plan(ref, name, answers, allow_local=False)
    return Rendered(loaded, public, plan)


def render(
    ctx: AppContext,
    template: str,
    name: str,
    answers: Mapping[str, Any],
    version: str | None,
    *,
    caller: Caller,
) -> Rendered:
    """Resolve ``template`` (built-in or registered, never a path, one ``caller`` may see)
    and render it in memory."""
    engine, ref = catalog.resolve(ctx, template, version, caller=caller)
    return timed_render(ctx, engine, ref, name, answers)


def timed_render(
    ctx: AppContext, engine: SDLCEngine, ref: str, name: str, answers: Mapping[str, Any]
) -> Rendered:
    """``render_resolved``, its time counted in the blueprint's render-time histogram."""
    started = time.perf_counter()
    rendered = render_resolved(engine, ref, name, answers)
    elapsed = time.perf_counter() - started
    ctx.metrics.renders.labels(rendered.loaded.blueprint.name).observe(elapsed)
    return rendered


def resolve_git(
    ctx: AppContext, url: str, ref: str | None, version: str | None
) -> tuple[SDLCEngine, str]:
    """Fetch the public https repository ``url`` at ``ref``: the engine and reference to
    render it with (``version``, when given, must be the blueprint's)."""
    folder, source = fetch_git(ctx, url, ref)
    bp = ctx.parse(folder)
    if version is not None and bp.version != version:
        raise NotFoundError(
            f"the blueprint at {url} is version {bp.version}, not {version}", where="version"
        )
    return server_engine(ctx, {JOB_SOURCE_REF: (folder, source)}), JOB_SOURCE_REF


def zip_bytes(plan: RenderPlan, name: str) -> bytes:
    """The deterministic zip of ``plan`` with every file under ``name/``, through the
    zip sink (the same bytes a streamed download gets)."""
    buffer = io.BytesIO()
    ZipOutput(buffer, prefix=name).deliver(plan)
    return buffer.getvalue()


def generate_zip(
    ctx: AppContext, engine: SDLCEngine, ref: str, name: str, answers: Mapping[str, Any]
) -> Generated:
    """Render ``ref`` and zip it, holding one of the process's render slots."""
    with ctx.render_slots:
        rendered = timed_render(ctx, engine, ref, name, answers)
        data = zip_bytes(rendered.plan, name)
    announce(engine.parts, name, rendered.loaded, rendered.answers, rendered.plan, None, False)
    return Generated(rendered, data)
