"""The generation stages: resolve → answers → render → write → record.

Each stage is a function with a typed result that the next stage takes as an
argument, so nothing flows through a bag of optional fields. :func:`answer`
and :func:`render` are public: ``codeforge update`` renders the recorded and
the target versions with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from codeforge.core import records
from codeforge.core.answers import Prompter
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile
from codeforge.core.blueprints import LoadedBlueprint, dialect_note, load_blueprint
from codeforge.core.collaborators import Collaborators, save_compiled
from codeforge.core.dialect import DialectRun, Rendered, dialect_of
from codeforge.core.lifecycle import GenerateEvent, RenderEvent
from codeforge.core.native import next_steps
from codeforge.core.outputs import DirectoryOutput, DryRunOutput
from codeforge.core.pipelines import add_pipeline
from codeforge.core.plan import PlanBuilder, PlannedFile, RenderPlan
from codeforge.core.postprocess import apply_formatters, apply_post_processors
from codeforge.core.records import GenerationRecord
from codeforge.core.sinks import ReportEntry, WriteResult
from codeforge.core.transaction import Recovery
from codeforge.errors import (
    BlueprintError,
    CodeForgeError,
    GitError,
    GitMissing,
    SecurityError,
    StoreError,
)
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.schema import Blueprint

T = TypeVar("T")


class GenerationRequest(NamedTuple):
    """What a caller asks one generation for."""

    template: str
    name: str
    data: Mapping[str, Any] = MappingProxyType({})
    output: Path | None = None  # the project folder; None renders in memory only
    prompter: Prompter | None = None
    dry_run: bool = False
    force: bool = False
    git: bool = True
    trust: bool = False
    allow_local: bool = True
    vcs_ref: str | None = None  # git sources: tag, branch or commit (default: latest version)
    refresh: bool = False  # git sources: fetch before resolving
    dialect: str | None = None  # the format of a template that ships several definitions


class Written(NamedTuple):
    """What the write stage did (a dry run only reports)."""

    report: list[ReportEntry]
    result: WriteResult | None
    commit: str | None


class RecordOutcome(NamedTuple):
    """The record handed to the recorder, or why recording failed (the files stay)."""

    record: GenerationRecord | None = None
    error: StoreError | None = None


class Generation(NamedTuple):
    """Every stage's result of one generation."""

    loaded: LoadedBlueprint
    answers: dict[str, Any]
    public: dict[str, Any]  # the answers without secrets
    next_steps: str  # the blueprint's next steps, rendered with the answers
    rendered: Rendered
    written: Written | None
    recorded: RecordOutcome
    timings: dict[str, float]


def timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    """Run ``step`` as stage ``name``, timing it; an OSError becomes an error naming the stage."""
    started = time.perf_counter()
    try:
        return step()
    except CodeForgeError:
        raise
    except OSError as exc:
        raise CodeForgeError(f"{name}: {exc.strerror or exc}", where=exc.filename) from exc
    finally:
        timings[name] = time.perf_counter() - started


def open_run(
    parts: Collaborators, loaded: LoadedBlueprint, name: str, destination: Path | None
) -> DialectRun:
    """A run of ``loaded``'s dialect with an environment from the pool (close it after)."""
    bp = loaded.blueprint
    env = dialect_of(parts.dialects, bp).environment(
        bp, loaded.source.trusted, parts.environments.open
    )
    if loaded.source.trusted:
        parts.extensions.offer_jinja(env)
    return DialectRun(
        blueprint=bp,
        source=loaded.source,
        name=name,
        destination=destination,
        env=env,
        settings=parts.settings,
        info=parts.reporter.info,
        progress=parts.reporter.progress,
    )


def answer(
    parts: Collaborators,
    run: DialectRun,
    data: Mapping[str, Any],
    prompter: Prompter | None,
    saved: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answers stage: every answer, by the blueprint's dialect."""
    answers = dialect_of(parts.dialects, run.blueprint).resolve(run, data, prompter, saved or {})
    save_compiled(run.env)
    return answers


def render(parts: Collaborators, run: DialectRun, answers: Mapping[str, Any]) -> Rendered:
    """The render stage: the plan in memory, formatted, with its ``.gitignore`` and answers file."""
    bp = run.blueprint
    dialect = dialect_of(parts.dialects, bp)
    event = RenderEvent(
        run.name, bp.name, bp.version, dialect.recorded(bp, answers), run.destination
    )
    extensions = parts.extensions
    extensions.lifecycle.before_render(event)
    run.env.reset_budget()
    rendered = dialect.render(run, answers)
    add_pipeline(run, rendered, extensions.ci_providers)
    save_compiled(run.env)
    plan = rendered.plan
    if bp.formatters:
        apply_formatters(plan, bp.formatters, parts.reporter.warn, extensions.formatters)
    apply_post_processors(plan, event, extensions.post_processors)
    answers_file = AnswersFile(
        blueprint_name=bp.name,
        blueprint_version=bp.version,
        source=run.source.source,
        answers={"project_name": run.name, **dialect.recorded(bp, answers)},
        ref=run.source.ref,
        commit=run.source.commit,
        dialect=bp.dialect if bp.other_definitions else None,
    )
    if bp.gitignore is not None:
        plan.files = [f for f in plan.files if f.path != ".gitignore"]
        plan.add(_gitignore(parts, bp, run.env, rendered.context))
    plan.files = [f for f in plan.files if f.path != ANSWERS_FILE]
    plan.add(PlannedFile(ANSWERS_FILE, answers_file.dump(), origin="(answers)"))
    return rendered


def _gitignore(
    parts: Collaborators, bp: Blueprint, env: CodeForgeEnvironment, context: Mapping[str, Any]
) -> PlannedFile:
    """The blueprint's `gitignore` file, rendered, as the project's `.gitignore`."""
    gitignore = bp.gitignore or ""
    path = (bp.root / gitignore).resolve()
    if not path.is_relative_to(bp.root):
        raise SecurityError("`gitignore` points outside the blueprint", where=gitignore)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BlueprintError(f"cannot read the gitignore file: {exc}", where=gitignore) from exc
    text = PlanBuilder(env, parts.settings.limits).render_text(source, context, gitignore)
    return PlannedFile(".gitignore", text.encode("utf-8"), origin=gitignore)


def write(
    parts: Collaborators,
    run: DialectRun,
    request: GenerationRequest,
    answers: Mapping[str, Any],
    rendered: Rendered,
) -> Written:
    """The write stage: hooks and tasks (trusted only), the atomic write, the first commit."""
    output = run.destination or Path(request.name)
    if request.dry_run:
        checked = DryRunOutput(output, force=request.force).deliver(rendered.plan)
        report_recovery(parts, checked.recovered)
        return Written(checked.report, None, None)
    dialect = dialect_of(parts.dialects, run.blueprint)
    dialect.before_write(run, answers, rendered.context)
    commits: list[str] = []

    def post(staging: Path) -> None:
        dialect.after_write(run, answers, rendered.context, staging)
        if request.git and (output / ".git").exists():
            # The sink never touches a repository already there, so no commit is made.
            parts.reporter.info(f"{output} already has a git repository: nothing committed")
        elif request.git and not (staging / ".git").exists():
            bp = run.blueprint
            commit = git_commit(parts, staging, f"Initial commit from {bp.name} {bp.version}")
            commits.extend([commit] if commit else [])

    sink = DirectoryOutput(output, force=request.force)
    try:
        delivery = sink.deliver(rendered.plan, post=post)
    finally:
        report_recovery(parts, sink.sink.recovered)
    return Written([], delivery.written, commits[0] if commits else None)


def report_recovery(parts: Collaborators, recovered: Recovery | None) -> None:
    """Tell the user an interrupted earlier operation was resolved first (and how)."""
    if recovered is not None:
        parts.reporter.warn(recovered.message)


def git_commit(parts: Collaborators, path: Path, message: str) -> str | None:
    """Commit everything in ``path``; a missing or failing git is a warning, not an error."""
    settings = parts.settings
    try:
        return parts.vcs.commit_all(
            path, message, author_name=settings.author_name, author_email=settings.author_email
        )
    except GitMissing:
        parts.reporter.warn("git is not installed: the project was created without a repository")
    except GitError as exc:
        parts.reporter.warn(f"the project was created but git failed: {exc.message}")
    return None


def record(parts: Collaborators, record: GenerationRecord) -> RecordOutcome:
    """Hand ``record`` to the recorder; a failure is reported, never raised (the files stay)."""
    if parts.recorder is None:
        return RecordOutcome()
    try:
        parts.recorder(record)
    except StoreError as exc:
        return RecordOutcome(record, exc)
    except Exception as exc:  # the files are in place; say so rather than lose them
        return RecordOutcome(record, StoreError(f"{type(exc).__name__}: {exc}"))
    return RecordOutcome(record)


def new_record(
    name: str,
    path: Path | str,
    loaded: LoadedBlueprint,
    answers: Mapping[str, Any],
    action: str,
    file_count: int,
    *,
    actor: str | None = None,
    record_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> GenerationRecord:
    """A record of one generation of ``loaded`` into ``path`` (see ``records.new_record``)."""
    bp = loaded.blueprint
    return records.new_record(
        name,
        str(path),
        records.BlueprintIdentity(bp.name, bp.version, loaded.source.source),
        answers,
        action,
        file_count,
        actor=actor,
        record_id=record_id,
        details=details,
    )


def generate(parts: Collaborators, request: GenerationRequest, *, write_files: bool) -> Generation:
    """Run the stages for ``request``: all five, or up to render when not ``write_files``."""
    timings: dict[str, float] = {}
    loaded = timed(
        timings,
        "resolve",
        lambda: load_blueprint(
            parts,
            request.template,
            allow_local=request.allow_local,
            trust=request.trust,
            vcs_ref=request.vcs_ref,
            refresh=request.refresh,
            dialect=request.dialect,
        ),
    )
    if note := dialect_note(loaded.blueprint):
        parts.reporter.info(note)
    runs: list[DialectRun] = []

    def answers_stage() -> tuple[dict[str, Any], str]:
        runs.append(open_run(parts, loaded, request.name, request.output))
        answers = answer(parts, runs[0], request.data, request.prompter)
        steps = ""
        if loaded.blueprint.next_steps and request.output is not None:
            # Rendered before anything is written, so a broken text fails the run cleanly.
            steps = next_steps(runs[0], answers, request.output)
        return answers, steps

    try:
        answers, steps = timed(timings, "answers", answers_stage)
        run = runs[0]
        rendered = timed(timings, "render", lambda: render(parts, run, answers))
        public = dialect_of(parts.dialects, loaded.blueprint).recorded(loaded.blueprint, answers)
        if not write_files:
            return Generation(
                loaded, answers, public, steps, rendered, None, RecordOutcome(), timings
            )
        written = timed(timings, "write", lambda: write(parts, run, request, answers, rendered))
    finally:
        for opened in runs:
            parts.environments.close(opened.env)
    outcome = timed(
        timings, "record", lambda: _record_init(parts, request, loaded, public, rendered)
    )
    announce(parts, request.name, loaded, public, rendered.plan, request.output, request.dry_run)
    return Generation(loaded, answers, public, steps, rendered, written, outcome, timings)


def announce(
    parts: Collaborators,
    name: str,
    loaded: LoadedBlueprint,
    public: Mapping[str, Any],
    plan: RenderPlan,
    destination: Path | None,
    dry_run: bool,
) -> None:
    """Tell the lifecycle listeners a project was generated (or, in a dry run, planned)."""
    bp = loaded.blueprint
    files = [f.path for f in plan.files]
    event = GenerateEvent(name, bp.name, bp.version, public, destination, files, dry_run)
    parts.extensions.lifecycle.after_generate(event)


def _record_init(
    parts: Collaborators,
    request: GenerationRequest,
    loaded: LoadedBlueprint,
    public: Mapping[str, Any],
    rendered: Rendered,
) -> RecordOutcome:
    if request.dry_run or parts.recorder is None or request.output is None:
        return RecordOutcome()
    path = request.output.resolve()
    files = len(rendered.plan.files)
    return record(parts, new_record(request.name, path, loaded, public, "init", files))
