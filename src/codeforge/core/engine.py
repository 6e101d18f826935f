"""SDLCEngine: the library entry point every adapter (CLI, API, worker) calls.

Every operation is one pipeline, run as workflow stages:
source → Blueprint → Answers → RenderPlan → Sink (→ record).
The engine never prints or prompts: it takes a Prompter and a Reporter.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from codeforge import __version__
from codeforge.core.answers import Evaluator, Prompter, public_answers, resolve_answers
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile
from codeforge.core.errors import (
    BlueprintError,
    CodeForgeError,
    SecurityError,
    StoreError,
    UsageError,
)
from codeforge.core.plan import PlanBuilder, PlannedFile, RenderPlan
from codeforge.core.postprocess import apply_formatters, plain, run_tasks
from codeforge.core.records import GenerationRecord
from codeforge.core.settings import Settings, load_settings
from codeforge.core.sinks import DirectorySink, ReportEntry, WriteResult, dry_run_report
from codeforge.core.transaction import Recovery, recover
from codeforge.sources import ResolvedSource, builtin_names, builtin_root, resolve_source
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache
from codeforge.templates.loader import load_blueprint
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from codeforge.core.update import CheckResult, UpdateResult

PROJECT_NAME_MAX = 100


class Reporter(Protocol):
    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def progress(self, done: int, total: int) -> None: ...


class SilentReporter:
    """Collects messages; the default when an adapter passes none."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)

    def warn(self, message: str) -> None:
        self.messages.append(f"warning: {message}")

    def progress(self, done: int, total: int) -> None:
        pass


Recorder = Callable[[GenerationRecord], None]


@dataclasses.dataclass
class LoadedBlueprint:
    blueprint: Blueprint
    source: ResolvedSource


@dataclasses.dataclass
class WorkflowState:
    """What flows between stages; each stage fills in its part."""

    template: str
    name: str
    data: dict[str, Any]
    output: Path | None = None
    prompter: Prompter | None = None
    dry_run: bool = False
    force: bool = False
    git: bool = True
    trust: bool = False
    allow_local: bool = True
    vcs_ref: str | None = None  # git sources: tag, branch or commit (default: latest version)
    refresh: bool = False  # git sources: fetch before resolving
    run_tasks: bool = True
    saved_answers: dict[str, Any] = dataclasses.field(default_factory=dict)
    loaded: LoadedBlueprint | None = None
    answers: dict[str, Any] = dataclasses.field(default_factory=dict)
    plan: RenderPlan | None = None
    written: WriteResult | None = None
    report: list[ReportEntry] = dataclasses.field(default_factory=list)
    commit: str | None = None
    record: GenerationRecord | None = None
    record_error: StoreError | None = None
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    env: CodeForgeEnvironment | None = None  # shared by the stages of one run
    next_steps: str = ""  # the blueprint's next steps, rendered with the answers


Stage = tuple[str, Callable[[WorkflowState], None]]


@dataclasses.dataclass
class CreateResult:
    destination: Path
    blueprint: Blueprint
    source: str
    answers: dict[str, Any]  # public (no secrets)
    files: list[str]
    dry_run: bool
    report: list[ReportEntry]
    commit: str | None
    record_error: StoreError | None
    timings: dict[str, float]
    next_steps: str = ""


def _public(bp: Blueprint, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers safe to show and store: no secrets (and for cookiecutter/copier, only
    what the tool itself records: no private `_x` values, no `when: false` answers)."""
    if bp.compat is not None:
        from codeforge.sources.compat.stages import recorded

        return recorded(bp, answers)
    return public_answers(bp.variables, answers)


def _next_steps(
    bp: Blueprint, evaluator: Evaluator, destination: Path, context: Mapping[str, Any]
) -> str:
    """The blueprint's next steps for this project; secrets masked, since they are printed."""
    masked = {v.name: "********" if context.get(v.name) else "" for v in bp.variables if v.secret}
    full = {**context, **masked, "project_dir": _shown_path(destination)}
    return evaluator.render(bp.next_steps, full, "next_steps").strip()


def _shown_path(path: Path) -> str:
    """``path`` as a user types it from the current folder: relative below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_project_name(name: str) -> str:
    """A project name is one folder name: no separators, no traversal, printable."""
    from codeforge.core.paths import check_relpath

    if not name or "/" in name or "\\" in name or len(name) > PROJECT_NAME_MAX:
        raise UsageError(
            f"invalid project name {name!r}: use one folder name of at most {PROJECT_NAME_MAX} characters"
        )
    check_relpath(name, origin="project name")
    return name


class SDLCEngine:
    """Creates projects from blueprints and runs the stages of each operation."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        reporter: Reporter | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.reporter: Reporter = reporter or SilentReporter()
        self.recorder = recorder

    # -- blueprints ------------------------------------------------------------------

    def load_blueprints(self) -> list[Blueprint]:
        """Every blueprint known without a network: the built-ins, then installed plugins'."""
        from codeforge.sources.plugins import plugin_folders

        cache = self.settings.cache_dir
        found = [load_blueprint(builtin_root() / name, cache_dir=cache) for name in builtin_names()]
        for name, folder in plugin_folders(self.reporter.warn):
            try:
                found.append(load_blueprint(folder, cache_dir=cache))
            except CodeForgeError as exc:
                self.reporter.warn(f"plugin blueprint {name!r} skipped: {exc}")
        return found

    def load_blueprint(
        self,
        ref: str,
        *,
        allow_local: bool = True,
        trust: bool = False,
        vcs_ref: str | None = None,
        refresh: bool = False,
    ) -> LoadedBlueprint:
        """Resolve ``ref`` (git: at ``vcs_ref``, fetched first with ``refresh``) and load it."""
        source = resolve_source(
            ref,
            allow_local=allow_local,
            trust=trust,
            trusted_prefixes=self.settings.trusted_sources,
            vcs_ref=vcs_ref,
            refresh=refresh,
            settings=self.settings,
        )
        for warning in source.warnings:
            self.reporter.warn(warning)
        return LoadedBlueprint(
            load_blueprint(source.path, cache_dir=self.settings.cache_dir), source
        )

    def environment(self, root: Path) -> CodeForgeEnvironment:
        cache = CompiledCache.for_blueprint(self.settings.cache_dir, str(root))
        return CodeForgeEnvironment(root, self.settings.limits, cache)

    # -- the pipeline ----------------------------------------------------------------

    def manage_workflow(self, stages: Sequence[Stage], state: WorkflowState) -> WorkflowState:
        """Run ``stages`` in order, timing each; an error stops the run and names the stage."""
        try:
            for name, stage in stages:
                started = time.perf_counter()
                try:
                    stage(state)
                except CodeForgeError:
                    raise
                except OSError as exc:
                    raise CodeForgeError(
                        f"{name}: {exc.strerror or exc}", where=exc.filename
                    ) from exc
                finally:
                    state.timings[name] = time.perf_counter() - started
        finally:
            if state.env is not None and state.env.code_cache is not None:
                state.env.code_cache.close()
        return state

    def create_project(
        self,
        template: str,
        name: str,
        *,
        output_dir: Path | None = None,
        data: Mapping[str, Any] | None = None,
        prompter: Prompter | None = None,
        dry_run: bool = False,
        force: bool = False,
        git: bool = True,
        trust: bool = False,
        allow_local: bool = True,
        vcs_ref: str | None = None,
        refresh: bool = False,
    ) -> CreateResult:
        """Generate project ``name`` from ``template`` into ``output_dir/name``."""
        check_project_name(name)
        state = WorkflowState(
            template=template,
            name=name,
            data=dict(data or {}),
            output=(output_dir or Path.cwd()) / name,
            prompter=prompter,
            dry_run=dry_run,
            force=force,
            git=git,
            trust=trust,
            allow_local=allow_local,
            vcs_ref=vcs_ref,
            refresh=refresh,
        )
        stages: list[Stage] = [
            ("resolve", self._stage_resolve),
            ("answers", self._stage_answers),
            ("render", self._stage_render),
            ("write", self._stage_write),
            ("record", self._stage_record),
        ]
        self.manage_workflow(stages, state)
        assert state.loaded is not None and state.plan is not None and state.output is not None
        bp = state.loaded.blueprint
        return CreateResult(
            destination=state.output,
            blueprint=bp,
            source=state.loaded.source.source,
            answers=_public(bp, state.answers),
            files=sorted(f.path for f in state.plan.files),
            dry_run=dry_run,
            report=state.report,
            commit=state.commit,
            record_error=state.record_error,
            timings=state.timings,
            next_steps=state.next_steps,
        )

    def render_plan(
        self,
        template: str,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        allow_local: bool = True,
        vcs_ref: str | None = None,
        refresh: bool = False,
    ) -> tuple[LoadedBlueprint, dict[str, Any], RenderPlan]:
        """Resolve, answer (no prompts) and render in memory: what the API and zip use."""
        check_project_name(name)
        state = WorkflowState(
            template=template,
            name=name,
            data=dict(data or {}),
            allow_local=allow_local,
            vcs_ref=vcs_ref,
            refresh=refresh,
        )
        self.manage_workflow(
            [
                ("resolve", self._stage_resolve),
                ("answers", self._stage_answers),
                ("render", self._stage_render),
            ],
            state,
        )
        assert state.loaded is not None and state.plan is not None
        return (
            state.loaded,
            _public(state.loaded.blueprint, state.answers),
            state.plan,
        )

    def generate_component(
        self,
        project: Path,
        kind: str,
        args: Sequence[str] = (),
        *,
        data: Mapping[str, Any] | None = None,
        prompter: Prompter | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> ComponentResult:
        """Add component ``kind`` (e.g. ``router orders``) to the generated project at ``project``."""
        return _generate_component(
            self, project, kind, args, dict(data or {}), prompter, force, dry_run
        )

    def update_project(self, project: Path, **options: Any) -> UpdateResult:
        """Merge a newer blueprint version into ``project`` (see core/update.py)."""
        from codeforge.core.update import update_project

        return update_project(self, project, **options)

    def check_project(self, project: Path, *, template: str | None = None) -> CheckResult:
        """Whether a newer version of the project's blueprint exists."""
        from codeforge.core.update import check_project

        return check_project(self, project, template=template)

    def diff_project(self, project: Path, **options: Any) -> UpdateResult:
        """What an update would change, computed without writing (``result.diff()``)."""
        from codeforge.core.update import update_project

        return update_project(self, project, dry_run=True, **options)

    # -- stages ----------------------------------------------------------------------

    def _state_env(self, state: WorkflowState) -> CodeForgeEnvironment:
        """One environment (and one open compiled cache) for all stages of a run."""
        if state.env is None:
            assert state.loaded is not None
            bp = state.loaded.blueprint
            if bp.compat is not None:
                from codeforge.sources.compat.stages import environment

                state.env = environment(self.settings, bp, state.loaded.source.trusted)
            else:
                state.env = self.environment(bp.template_root)
        return state.env

    def _stage_resolve(self, state: WorkflowState) -> None:
        # vcs_ref/refresh only when set: subclasses (the API's) may not take them.
        git_args: dict[str, Any] = {}
        if state.vcs_ref is not None:
            git_args["vcs_ref"] = state.vcs_ref
        if state.refresh:
            git_args["refresh"] = True
        state.loaded = self.load_blueprint(
            state.template, allow_local=state.allow_local, trust=state.trust, **git_args
        )

    def base_context(self, name: str) -> dict[str, Any]:
        return {"project_name": name, "codeforge": {"version": __version__}}

    def config_defaults(self, blueprint: Blueprint) -> dict[str, Any]:
        defaults = dict(self.settings.defaults)
        if self.settings.author_name and blueprint.variable("author_name") is not None:
            defaults.setdefault("author_name", self.settings.author_name)
        if self.settings.author_email and blueprint.variable("author_email") is not None:
            defaults.setdefault("author_email", self.settings.author_email)
        return defaults

    def _stage_answers(self, state: WorkflowState) -> None:
        assert state.loaded is not None
        bp = state.loaded.blueprint
        env = self._state_env(state)
        if bp.compat is not None:  # cookiecutter/copier answer rules (sources/compat)
            from codeforge.sources.compat import stages

            run = stages.info(
                state.name, state.output, state.loaded.source, state.loaded.source.trusted
            )
            state.answers = stages.resolve(
                bp, env, state.data, state.prompter, run, state.saved_answers
            )
            if env.code_cache is not None:
                env.code_cache.save()
            return
        data = dict(state.data)
        if "project_name" in data and data["project_name"] != state.name:
            raise UsageError("project_name comes from the NAME argument; do not pass it in --data")
        data.pop("project_name", None)
        state.answers = resolve_answers(
            bp.variables,
            Evaluator(env),
            base=self.base_context(state.name),
            explicit=data,
            saved=state.saved_answers,
            config_defaults=self.config_defaults(bp),
            prompter=state.prompter,
        )
        if bp.next_steps and state.output is not None:
            # Rendered before anything is written, so a broken text fails the run cleanly.
            state.next_steps = _next_steps(bp, Evaluator(env), state.output, {
                **self.base_context(state.name), **state.answers
            })  # fmt: skip
        if env.code_cache is not None:
            env.code_cache.save()

    def _stage_render(self, state: WorkflowState) -> None:
        assert state.loaded is not None
        loaded = state.loaded
        bp = loaded.blueprint
        env = self._state_env(state)
        env.reset_budget()
        recorded = _public(bp, state.answers)
        if bp.compat is not None:  # cookiecutter/copier: their context, names and file rules
            from codeforge.sources.compat import stages

            run = stages.info(state.name, state.output, loaded.source, loaded.source.trusted)
            context = stages.context(bp, env, state.answers, run)
            plan = stages.build_plan(bp, env, self.settings.limits, context, self.reporter.progress)
        else:
            context = plain({**self.base_context(state.name), **state.answers})
            rules = bp.files
            plan = PlanBuilder(env, self.settings.limits).build(
                str(bp.template_root),
                context,
                exclude=rules.exclude,
                copy_only=rules.copy_only,
                skip_if_exists=rules.skip_if_exists,
                loops=rules.loops,
                progress=self.reporter.progress,
            )
        if env.code_cache is not None:
            env.code_cache.save()
        if bp.formatters:
            apply_formatters(plan, bp.formatters, self.reporter.warn)
        answers = AnswersFile(
            blueprint_name=bp.name,
            blueprint_version=bp.version,
            source=loaded.source.source,
            answers={"project_name": state.name, **recorded},
            ref=loaded.source.ref,
            commit=loaded.source.commit,
        )
        if bp.gitignore is not None:
            plan.files = [f for f in plan.files if f.path != ".gitignore"]
            plan.add(self._gitignore(bp, env, context))
        plan.files = [f for f in plan.files if f.path != ANSWERS_FILE]
        plan.add(PlannedFile(ANSWERS_FILE, answers.dump(), origin="(answers)"))
        state.plan = plan

    def _gitignore(
        self, bp: Blueprint, env: CodeForgeEnvironment, context: Mapping[str, Any]
    ) -> PlannedFile:
        """The blueprint's `gitignore` file, rendered, as the project's `.gitignore`."""
        assert bp.gitignore is not None
        path = (bp.root / bp.gitignore).resolve()
        if not path.is_relative_to(bp.root):
            raise SecurityError("`gitignore` points outside the blueprint", where=bp.gitignore)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BlueprintError(
                f"cannot read the gitignore file: {exc}", where=bp.gitignore
            ) from exc
        text = PlanBuilder(env, self.settings.limits).render_text(source, context, bp.gitignore)
        return PlannedFile(".gitignore", text.encode("utf-8"), origin=bp.gitignore)

    def _stage_write(self, state: WorkflowState) -> None:
        assert state.loaded is not None and state.plan is not None and state.output is not None
        dest: Path = state.output
        sink = DirectorySink(dest, force=state.force)
        if state.dry_run:
            sink.check()
            self._report_recovery(sink.recovered)
            state.report = dry_run_report(state.plan, state.output)
            return
        bp = state.loaded.blueprint
        loaded = state.loaded
        hooks: Callable[[str, Path | None], None] | None = None
        if bp.compat is not None and bp.compat.run_hooks is not None and state.run_tasks:
            # cookiecutter hooks / copier tasks: trusted sources only (sources/compat/hooks.py)
            from codeforge.sources.compat import stages

            env = self._state_env(state)
            run = stages.info(state.name, state.output, loaded.source, loaded.source.trusted)
            hook_context = stages.context(bp, env, state.answers, run)

            def hooks(stage: str, cwd: Path | None) -> None:
                stages.run_hooks(
                    bp, stage, cwd, env, hook_context, loaded.source.trusted, self.reporter.info
                )

            hooks("pre", None)

        def post(staging: Path) -> None:
            if hooks is not None:
                hooks("post", staging)
            if state.run_tasks and bp.tasks:
                env = self._state_env(state)
                evaluator = Evaluator(env)
                context = {**self.base_context(state.name), **state.answers}
                run_tasks(
                    bp.tasks,
                    staging,
                    trusted=loaded.source.trusted,
                    render=lambda text, origin: evaluator.render(text, context, origin),
                    truth=lambda expr, origin: evaluator.truth(expr, context, origin),
                    answers_json=json.dumps(public_answers(bp.variables, state.answers)),
                    info=self.reporter.info,
                )
            if state.git and (dest / ".git").exists():
                # The sink never touches a repository already there, so no commit is made.
                self.reporter.info(f"{dest} already has a git repository: nothing committed")
            elif state.git and not (staging / ".git").exists():
                state.commit = self._git_commit(
                    staging, f"Initial commit from {bp.name} {bp.version}"
                )

        try:
            state.written = sink.write(state.plan, post=post)
        finally:
            self._report_recovery(sink.recovered)

    def _report_recovery(self, recovered: Recovery | None) -> None:
        if recovered is not None:
            self.reporter.warn(recovered.message)

    def _git_commit(self, path: Path, message: str) -> str | None:
        from codeforge.integrations.git import GitError, GitMissing, init_and_commit

        try:
            return init_and_commit(
                path,
                message,
                author_name=self.settings.author_name,
                author_email=self.settings.author_email,
            )
        except GitMissing:
            self.reporter.warn("git is not installed: the project was created without a repository")
        except GitError as exc:
            self.reporter.warn(f"the project was created but git failed: {exc.message}")
        return None

    def _stage_record(self, state: WorkflowState) -> None:
        if state.dry_run or self.recorder is None:
            return
        assert state.loaded is not None and state.plan is not None and state.output is not None
        bp = state.loaded.blueprint
        record = GenerationRecord(
            project_name=state.name,
            path=str(state.output.resolve()),
            blueprint_name=bp.name,
            blueprint_version=bp.version,
            blueprint_source=state.loaded.source.source,
            answers=_public(bp, state.answers),
            action="init",
            file_count=len(state.plan.files),
            record_id=os.urandom(16).hex(),
        )
        state.record = record
        try:
            self.recorder(record)
        except StoreError as exc:
            state.record_error = exc
        except Exception as exc:  # the files are in place; say so rather than lose them
            state.record_error = StoreError(f"{type(exc).__name__}: {exc}")


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


def _generate_component(
    engine: SDLCEngine,
    project: Path,
    kind: str,
    args: Sequence[str],
    data: Mapping[str, Any],
    prompter: Prompter | None,
    force: bool,
    dry_run: bool,
) -> ComponentResult:
    from codeforge.core.answersfile import read_answers_file
    from codeforge.core.components import bind_arguments, pick_component, plan_component

    project = project.resolve()
    engine._report_recovery(recover(project))  # an interrupted write must not be read as is
    answers_file = read_answers_file(project)
    # the recorded commit, so components come from the version the project was made from
    loaded = engine.load_blueprint(answers_file.source, vcs_ref=answers_file.commit)
    bp = loaded.blueprint
    component = pick_component(bp, kind)
    env = engine.environment(bp.root / component.template_dir)
    evaluator = Evaluator(env)
    saved = dict(answers_file.answers)
    name = str(saved.pop("project_name", project.name))
    base = {**engine.base_context(name), **saved}
    explicit = bind_arguments(component, args, data)
    comp_answers = resolve_answers(
        component.variables,
        evaluator,
        base=base,
        explicit=explicit,
        prompter=prompter,
        known_extra=(),
    )
    context = plain({**base, **comp_answers})
    built = plan_component(
        project=project,
        blueprint=bp,
        component=component,
        answers_file=answers_file,
        component_answers=comp_answers,
        builder=PlanBuilder(env, engine.settings.limits),
        evaluator=evaluator,
        context=context,
        force=force,
    )
    if env.code_cache is not None:
        env.code_cache.save()
    record_error = None
    report: list[ReportEntry] = []
    if dry_run:
        report = dry_run_report(built.plan, project)
    else:
        DirectorySink(project, force=True, operation="generate").write(built.plan)
        if engine.recorder is not None:
            record = GenerationRecord(
                project_name=name,
                path=str(project),
                blueprint_name=bp.name,
                blueprint_version=bp.version,
                blueprint_source=loaded.source.source,
                answers={"project_name": name, **saved},
                action=f"generate:{kind}",
                file_count=len(built.plan.files),
                record_id=os.urandom(16).hex(),
            )
            try:
                engine.recorder(record)
            except Exception as exc:
                record_error = exc if isinstance(exc, StoreError) else StoreError(str(exc))
    return ComponentResult(
        project=project,
        component=kind,
        answers=public_answers(component.variables, comp_answers),
        added=built.added,
        edited=built.edited,
        dry_run=dry_run,
        report=report,
        record_error=record_error,
    )
