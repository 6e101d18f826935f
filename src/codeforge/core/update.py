"""``codeforge update``, ``check`` and ``diff``: bring a project up to a newer blueprint version.

The steps of one update:

1. Read what the project was made from: ``.codeforge-answers.yml``, or the
   answers file another tool wrote (each dialect adopts its own: copier's
   ``.copier-answers.yml``, cruft's ``.cruft.json``). The first update writes
   CodeForge's file; the other tool's file is left where it is.
2. Refuse a git working tree with uncommitted changes (``force`` skips this):
   the user's own changes must be recoverable from git.
3. Load the recorded version (git sources: the recorded commit) as *base* and
   the target version (``to``, else the newest: the highest semver tag of a
   git source, or the folder as it is) as *theirs*. Answers: the recorded ones,
   ``data`` on top, and only questions new in the target version are asked
   (or defaulted without a prompter).
4. Render both in memory (:mod:`codeforge.core.generation`, through
   :mod:`codeforge.core.fastpath` when only some files differ) and merge three
   ways with the project (:mod:`codeforge.core.merge`). Paths the blueprint did
   not change are never read from the project.
5. Apply every change in one transaction (:func:`codeforge.core.sinks.apply_changes`),
   with the answers file rewritten in the same transaction. It is journalled
   (:mod:`codeforge.core.transaction`): a killed update is rolled back by the next
   command that touches the project, which is why every entry point here starts
   with :func:`~codeforge.core.transaction.recover`.
6. Migrations (:mod:`codeforge.core.migrations`) whose version is above the
   recorded one and at most the target run in semver order, ``before`` tasks
   ahead of the merge and ``after`` tasks once it is applied. They run only for
   trusted sources. When migrations run, tasks and merge work on a copy of the
   project staged in the transaction, and the result moves in through the same
   journalled swap (:mod:`codeforge.core.staged`).
7. An Activity row (action ``update``) records from → to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.core.answers import OnlyNew, Prompter
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile
from codeforge.core.blueprints import LoadedBlueprint, Recorded, load_blueprint, read_recorded
from codeforge.core.collaborators import Collaborators
from codeforge.core.dialect import DialectRun, dialect_of
from codeforge.core.fastpath import fast_render
from codeforge.core.generation import (
    answer,
    new_record,
    open_run,
    record,
    render,
    report_recovery,
)
from codeforge.core.lifecycle import UpdateEvent
from codeforge.core.merge import INLINE, Change, Kept, Merger, unified
from codeforge.core.migrations import apply_with_migrations, check_migrations
from codeforge.core.plan import PlannedFile, RenderPlan
from codeforge.core.project import apply, project_reader, refuse_dirty
from codeforge.core.transaction import Recovery, recover
from codeforge.errors import NotFoundError, StoreError
from codeforge.templates.loader import semver_key

UPDATE_AVAILABLE_EXIT = 100  # `codeforge check`: a newer version exists (0: up to date)


@dataclasses.dataclass
class UpdateResult:
    project: Path
    blueprint: str
    from_version: str
    to_version: str
    changes: list[Change]
    kept: list[Kept]
    answers: dict[str, Any]
    new_questions: list[str]
    migrations: list[str]
    dry_run: bool
    adopted_from: str | None
    record_error: StoreError | None = None
    recovered: Recovery | None = None  # an interrupted earlier write, resolved first

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action == "conflict"]

    def diff(self) -> str:
        """The unified diff of every change (what ``codeforge diff`` prints)."""
        return "".join(unified(c.path, c.before, c.content) for c in self.changes)


@dataclasses.dataclass
class CheckResult:
    project: Path
    blueprint: str
    source: str
    current: str
    latest: str
    recovered: Recovery | None = None  # an interrupted earlier write, resolved first

    @property
    def update_available(self) -> bool:
        return semver_key(self.latest) > semver_key(self.current)


@dataclasses.dataclass(frozen=True)
class UpdateOptions:
    """What the caller asks of one update (see :func:`update_project`)."""

    to: str | None = None
    template: str | None = None
    base_template: str | None = None
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    prompter: Prompter | None = None
    dry_run: bool = False
    force: bool = False
    conflict: str = INLINE
    trust: bool = False
    skip_migrations: bool = False
    fast_path: bool = True


@dataclasses.dataclass(frozen=True)
class Plans:
    """Both versions, answered and rendered."""

    name: str
    saved: dict[str, Any]  # the recorded answers (without the project's NAME)
    answers: dict[str, Any]  # the target version's
    base: RenderPlan
    theirs: RenderPlan


def identity(parts: Collaborators, loaded: LoadedBlueprint) -> tuple[str, str]:
    """(name, version) of a loaded blueprint, as its dialect tells them."""
    dialect = dialect_of(parts.dialects, loaded.blueprint)
    return dialect.identity(loaded.blueprint, loaded.source, parts.resolver.versions)


def _load(
    parts: Collaborators,
    source: str,
    vcs_ref: str | None,
    trust: bool,
    *,
    refresh: bool = False,
    dialect: str | None = None,
) -> LoadedBlueprint:
    """``source`` at ``vcs_ref`` (git: tag, branch or commit; None: the newest version).

    ``dialect`` is the one the answers file records for a template with several definitions.
    """
    return load_blueprint(
        parts, source, trust=trust, vcs_ref=vcs_ref, refresh=refresh, dialect=dialect
    )


def _versions(
    parts: Collaborators, recorded: Recorded, options: UpdateOptions
) -> tuple[LoadedBlueprint, LoadedBlueprint]:
    af = recorded.answers_file
    template, trust = options.template, options.trust
    # The newest version: fetch first so tags pushed since the last look are seen.
    target = _load(
        parts,
        template or af.source,
        options.to,
        trust,
        refresh=options.to is None,
        dialect=af.dialect,
    )
    if options.base_template is not None:
        return _load(parts, options.base_template, None, trust, dialect=af.dialect), target
    base_ref = af.commit or af.ref
    if base_ref is not None:
        at = _tag_or_commit(parts, af.source, af.ref, af.commit)
        return _load(parts, af.source, at, trust, dialect=af.dialect), target
    same = target.source.ref is None and (template is None or template == af.source)
    base = target if same else _load(parts, af.source, None, trust, dialect=af.dialect)
    holds = identity(parts, base)[1]
    if af.blueprint_version and holds != af.blueprint_version:
        raise NotFoundError(
            f"the project was made from version {af.blueprint_version} of {af.source}, "
            f"which holds version {holds} now and is not a git "
            "repository, so the old version cannot be rebuilt for the merge",
            hint="keep blueprints in git with a tag per version, or pass "
            "--base-template FOLDER holding the version the project was made from",
        )
    return base, target


def _tag_or_commit(
    parts: Collaborators, source: str, ref: str | None, commit: str | None
) -> str | None:
    """The recorded tag while it still names the recorded commit, else the commit.

    The commit is the truth, but a copier template renders the ref it was loaded at
    (``_commit``): rebuilt at the bare commit, the base would differ from what the
    project holds (``v2.0.0``) and every update would conflict in the answers file.
    """
    if commit is None or ref is None or ref == commit:
        return commit or ref
    return ref if dict(parts.resolver.versions(source)).get(ref) == commit else commit


def _render_versions(
    parts: Collaborators,
    project: Path,
    recorded: Recorded,
    versions: tuple[LoadedBlueprint, LoadedBlueprint],
    options: UpdateOptions,
) -> Plans:
    """Answer the target (asking only new questions), then the recorded version; render both."""
    base_loaded, target = versions
    saved = dict(recorded.answers_file.answers)
    target_dialect = dialect_of(parts.dialects, target.blueprint)
    name = target_dialect.project_name(project, saved)
    given = target_dialect.update_given(target.blueprint, saved, options.data)
    ask = OnlyNew(options.prompter, saved) if options.prompter is not None else None
    runs: list[DialectRun] = []
    try:
        runs.append(open_run(parts, target, name, project))
        theirs = answer(parts, runs[0], given, ask, saved)
        base_dialect = dialect_of(parts.dialects, base_loaded.blueprint)
        base_given = base_dialect.base_given(base_loaded.blueprint, saved, theirs)
        runs.append(open_run(parts, base_loaded, name, project))
        base = answer(parts, runs[1], base_given, None, saved)
        fast = fast_render(parts, (runs[1], base), (runs[0], theirs)) if options.fast_path else None
        if fast is not None:
            return Plans(name, saved, theirs, fast[0], fast[1])
        theirs_plan = render(parts, runs[0], theirs).plan
        return Plans(name, saved, theirs, render(parts, runs[1], base).plan, theirs_plan)
    finally:
        for run in runs:
            parts.environments.close(run.env)


def update_project(parts: Collaborators, project: Path, **options: Any) -> UpdateResult:
    """Merge the target blueprint version into ``project`` (see the module docstring).

    ``options`` are :class:`UpdateOptions`' fields.
    """
    opts = UpdateOptions(**options)
    project = Path(project)
    if not project.is_dir():
        raise NotFoundError(f"no project folder at {project}")
    project = project.resolve()
    recovered = recover(project)  # before reading: an interrupted write may hold the answers
    report_recovery(parts, recovered)
    recorded = read_recorded(parts.dialects, project)
    if not opts.dry_run and not opts.force:
        refuse_dirty(parts.vcs, project)
    base_loaded, target = _versions(parts, recorded, opts)
    plans = _render_versions(parts, project, recorded, (base_loaded, target), opts)
    from_version = identity(parts, base_loaded)[1]
    bp_name, to_version = identity(parts, target)
    migrations = check_migrations(
        parts,
        target,
        bp_name,
        (from_version, to_version),
        skip=opts.skip_migrations,
        dry_run=opts.dry_run,
    )
    result = _result(parts, project, recorded, target, plans, opts)
    result.blueprint, result.from_version, result.to_version = bp_name, from_version, to_version
    result.migrations, result.recovered = [m.version for m in migrations], recovered
    new_answers = _new_answers(parts, recorded.answers_file, target, plans, (bp_name, to_version))
    labels = ("project", f"blueprint {from_version}", f"blueprint {to_version}")

    def compute(root: Path) -> list[Change]:
        # ``root``: the project, or its staged copy once ``before`` migrations ran there.
        merger = Merger(
            project_reader(root),
            lambda base, ours, theirs: parts.vcs.merge_text(labels, base, ours, theirs),
            style=opts.conflict,
        )
        merged = merger.merge(_files(plans.base), _files(plans.theirs))
        result.changes = merged.changes + _answers_change(root, new_answers)
        result.kept = merged.kept
        return result.changes

    if opts.dry_run:
        compute(project)
        return result
    if migrations:
        versions = (from_version, to_version)
        apply_with_migrations(
            parts, project, target, migrations, versions, plans.answers, plans.name, compute
        )
    else:
        apply(project, compute(project))
    _record(parts, result, target, plans.name)
    _announce(parts, result, plans.name)
    return result


def _announce(parts: Collaborators, result: UpdateResult, name: str) -> None:
    """Tell the lifecycle listeners the update is merged into the project."""
    event = UpdateEvent(
        project_name=name,
        blueprint_name=result.blueprint,
        old_version=result.from_version,
        new_version=result.to_version,
        destination=result.project,
        changed=[c.path for c in result.changes],
        conflicts=result.conflicts,
    )
    parts.extensions.lifecycle.after_update(event)


def _result(
    parts: Collaborators,
    project: Path,
    recorded: Recorded,
    target: LoadedBlueprint,
    plans: Plans,
    opts: UpdateOptions,
) -> UpdateResult:
    """The result before the merge: answers and new questions (versions are set by the caller)."""
    bp = target.blueprint
    public, _ = dialect_of(parts.dialects, bp).update_answers(bp, plans.name, plans.answers)
    return UpdateResult(
        project=project,
        blueprint=bp.name,
        from_version="",
        to_version="",
        changes=[],
        kept=[],
        answers=public,
        new_questions=[
            v.name for v in bp.variables if v.name not in plans.saved and v.name not in opts.data
        ],
        migrations=[],
        dry_run=opts.dry_run,
        adopted_from=recorded.adopted_from,
    )


def _new_answers(
    parts: Collaborators,
    af: AnswersFile,
    target: LoadedBlueprint,
    plans: Plans,
    name_version: tuple[str, str],
) -> AnswersFile:
    """The answers file the update writes: the target version and its answers."""
    bp = target.blueprint
    _, file_answers = dialect_of(parts.dialects, bp).update_answers(bp, plans.name, plans.answers)
    return AnswersFile(
        blueprint_name=name_version[0],
        blueprint_version=name_version[1],
        source=target.source.source,
        answers=file_answers,
        components=list(af.components),
        ref=target.source.ref,
        commit=target.source.commit,
        dialect=bp.dialect if bp.other_definitions else None,
    )


def _answers_change(project: Path, new_answers: AnswersFile) -> list[Change]:
    """The answers file rewritten, when its bytes change."""
    answers_bytes = new_answers.dump()
    current = project_reader(project)(ANSWERS_FILE)
    if current is not None and current.content == answers_bytes:
        return []
    before = current.content if current is not None else None
    action = "update" if before is not None else "add"
    return [Change(ANSWERS_FILE, action, answers_bytes, None, before)]


def _files(plan: RenderPlan) -> dict[str, PlannedFile]:
    return {f.path: f for f in plan.files if f.path != ANSWERS_FILE}


def _record(parts: Collaborators, result: UpdateResult, target: LoadedBlueprint, name: str) -> None:
    if parts.recorder is None:
        return
    entry = new_record(
        name,
        result.project,
        target,
        {"project_name": name, **result.answers},
        "update",
        len(result.changes),
    )
    entry = dataclasses.replace(
        entry,
        blueprint_name=result.blueprint,
        blueprint_version=result.to_version,
        details={
            "from_version": result.from_version,
            "to_version": result.to_version,
            "changed": [c.path for c in result.changes],
            "conflicts": result.conflicts,
            "adopted_from": result.adopted_from,
        },
    )
    result.record_error = record(parts, entry).error


def check_project(
    parts: Collaborators, project: Path, *, template: str | None = None
) -> CheckResult:
    """Compare the project's recorded version with the newest version of its blueprint."""
    project = Path(project).resolve()
    recovered = recover(project)  # before reading: an interrupted write may hold the answers
    af = read_recorded(parts.dialects, project).answers_file
    target = _load(parts, template or af.source, None, False, refresh=True, dialect=af.dialect)
    current = af.blueprint_version
    if not current:  # adopted: the version is what the recorded commit holds
        current = identity(
            parts, _load(parts, af.source, af.commit or af.ref, False, dialect=af.dialect)
        )[1]
    name, latest = identity(parts, target)
    return CheckResult(
        project=project,
        blueprint=name,
        source=target.source.source,
        current=current,
        latest=latest,
        recovered=recovered,
    )
