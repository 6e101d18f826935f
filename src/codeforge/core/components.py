"""``generate``: render a blueprint component into an existing project.

The component's files are added, anchored insertions edit existing files, and
the answers file records the component, all through one atomic directory write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codeforge.core.answers import Evaluator, Prompter, public_answers, resolve_answers
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, read_answers_file
from codeforge.core.blueprints import LoadedBlueprint, load_blueprint
from codeforge.core.collaborators import Collaborators, save_compiled
from codeforge.core.generation import RecordOutcome, new_record, record, report_recovery
from codeforge.core.native import base_context
from codeforge.core.paths import check_relpath, safe_target
from codeforge.core.plan import PlanBuilder, PlannedFile, RenderPlan
from codeforge.core.postprocess import plain
from codeforge.core.sinks import DirectorySink, ReportEntry, dry_run_report
from codeforge.core.transaction import recover
from codeforge.errors import (
    ConflictError,
    NotFoundError,
    StoreError,
    TemplateError,
    UsageError,
)
from codeforge.templates.schema import Blueprint
from codeforge.templates.sections import Component, Insertion


@dataclasses.dataclass
class ComponentPlan:
    component: Component
    answers: dict[str, Any]
    plan: RenderPlan
    added: list[str]
    edited: list[str]


def pick_component(blueprint: Blueprint, kind: str) -> Component:
    component = blueprint.components.get(kind)
    if component is None:
        known = ", ".join(blueprint.components) or "none"
        raise NotFoundError(
            f"blueprint {blueprint.name} has no component {kind!r}", hint=f"components: {known}"
        )
    return component


def bind_arguments(
    component: Component, args: Sequence[str], data: Mapping[str, Any]
) -> dict[str, Any]:
    """Positional arguments fill the component's variables in order."""
    if len(args) > len(component.variables):
        raise UsageError(
            f"component {component.name} takes at most {len(component.variables)} argument(s), got {len(args)}"
        )
    bound = dict(data)
    for var, value in zip(component.variables, args, strict=False):
        if var.name in bound:
            raise UsageError(f"{var.name} given both as an argument and with --data")
        bound[var.name] = value
    return bound


def insert_line(text: str, insertion: Insertion, content: str, origin: str) -> str | None:
    """Return ``text`` with ``content`` placed at the anchor, or None when already there."""
    lines = text.splitlines(keepends=True)
    anchor_index = next((i for i, line in enumerate(lines) if insertion.anchor in line), None)
    if anchor_index is None:
        raise ConflictError(
            f"anchor {insertion.anchor!r} not found",
            where=origin,
            hint="the anchor comment was removed or changed; add it back",
        )
    anchor_line = lines[anchor_index]
    indent = anchor_line[: len(anchor_line) - len(anchor_line.lstrip())]
    newline = "\r\n" if anchor_line.endswith("\r\n") else "\n"
    new_lines = [indent + part for part in content.splitlines()]
    stripped = {line.strip() for line in lines}
    if all(line.strip() in stripped for line in new_lines):
        return None  # idempotent: already inserted
    block = "".join(line + newline for line in new_lines)
    if not anchor_line.endswith(("\n", "\r")):
        anchor_line += newline
        lines[anchor_index] = anchor_line
    index = anchor_index + 1 if insertion.position == "after" else anchor_index
    lines.insert(index, block)
    return "".join(lines)


def plan_component(
    *,
    project: Path,
    blueprint: Blueprint,
    component: Component,
    answers_file: AnswersFile,
    component_answers: dict[str, Any],
    builder: PlanBuilder,
    evaluator: Evaluator,
    context: Mapping[str, Any],
    force: bool,
) -> ComponentPlan:
    """Render the component and its insertions into one plan over the project."""
    plan = builder.build(str(blueprint.root / component.template_dir), context)
    added = []
    for f in plan.files:
        target = safe_target(project, f.path)
        if target.exists() and not force:
            raise ConflictError(
                f"{f.path} already exists in the project",
                hint="choose another name, or pass --force to overwrite it",
            )
        added.append(f.path)
    edited = []
    for index, insertion in enumerate(component.insertions):
        origin = f"components.{component.name}.insertions[{index}]"
        rel = evaluator.render(insertion.file, context, origin + ".file")
        check_relpath(rel, origin=origin)
        content = evaluator.render(insertion.content, context, origin + ".content")
        planned = next((f for f in plan.files if f.path == rel), None)
        if planned is not None:
            current = planned.content.decode("utf-8")
        else:
            target = safe_target(project, rel)
            try:
                current = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise ConflictError(
                    f"{rel} does not exist in the project",
                    where=origin,
                    hint="the component edits this file; restore it first",
                ) from None
            except UnicodeDecodeError as exc:
                raise TemplateError(f"{rel} is not UTF-8 text", where=origin) from exc
        updated = insert_line(current, insertion, content, rel)
        if updated is None:
            continue
        if planned is not None:
            planned.content = updated.encode("utf-8")
        else:
            mode = 0o755 if (project / rel).stat().st_mode & 0o111 else 0o644
            plan.add(PlannedFile(rel, updated.encode("utf-8"), mode, origin=origin))
            edited.append(rel)
    public = public_answers(component.variables, component_answers)
    answers_file.components.append({"kind": component.name, "answers": public})
    plan.add(PlannedFile(ANSWERS_FILE, answers_file.dump(), origin="(answers)"))
    return ComponentPlan(component, component_answers, plan, added, edited)


@dataclasses.dataclass
class ComponentResult:
    project: Path
    component: str
    answers: dict[str, Any]
    added: list[str]
    edited: list[str]
    dry_run: bool
    report: list[ReportEntry]
    record_error: StoreError | None


@dataclasses.dataclass(frozen=True)
class ComponentRequest:
    """Add component ``kind`` with ``args`` to the project at ``project``."""

    project: Path
    kind: str
    args: Sequence[str] = ()
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    prompter: Prompter | None = None
    force: bool = False
    dry_run: bool = False


def generate_component(parts: Collaborators, request: ComponentRequest) -> ComponentResult:
    """Render component ``request.kind`` into the project, from the version it was made from."""
    project = request.project.resolve()
    report_recovery(parts, recover(project))  # an interrupted write must not be read as is
    answers_file = read_answers_file(project)
    loaded = load_blueprint(
        parts, answers_file.source, vcs_ref=answers_file.commit, dialect=answers_file.dialect
    )
    bp = loaded.blueprint
    component = pick_component(bp, request.kind)
    root = bp.root / component.template_dir
    env = parts.environments.open(root, str(root))
    try:
        saved = dict(answers_file.answers)
        name = str(saved.pop("project_name", project.name))
        base = {**base_context(name), **saved}
        evaluator = Evaluator(env)
        comp_answers = resolve_answers(
            component.variables,
            evaluator,
            base=base,
            explicit=bind_arguments(component, request.args, request.data),
            prompter=request.prompter,
            known_extra=(),
        )
        built = plan_component(
            project=project,
            blueprint=bp,
            component=component,
            answers_file=answers_file,
            component_answers=comp_answers,
            builder=PlanBuilder(env, parts.settings.limits),
            evaluator=evaluator,
            context=plain({**base, **comp_answers}),
            force=request.force,
        )
        save_compiled(env)
    finally:
        parts.environments.close(env)
    return _write_component(parts, request, loaded, built, name, saved, comp_answers)


def _write_component(
    parts: Collaborators,
    request: ComponentRequest,
    loaded: LoadedBlueprint,
    built: ComponentPlan,
    name: str,
    saved: Mapping[str, Any],
    comp_answers: Mapping[str, Any],
) -> ComponentResult:
    project = request.project.resolve()
    outcome = RecordOutcome()
    report: list[ReportEntry] = []
    if request.dry_run:
        report = dry_run_report(built.plan, project)
    else:
        DirectorySink(project, force=True, operation="generate").write(built.plan)
        answers = {"project_name": name, **saved}
        files = len(built.plan.files)
        action = f"generate:{request.kind}"
        if parts.recorder is not None:
            outcome = record(parts, new_record(name, project, loaded, answers, action, files))
    return ComponentResult(
        project=project,
        component=request.kind,
        answers=public_answers(built.component.variables, comp_answers),
        added=built.added,
        edited=built.edited,
        dry_run=request.dry_run,
        report=report,
        record_error=outcome.error,
    )
