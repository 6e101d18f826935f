"""SDLCEngine: the library entry point every adapter (CLI, API, worker) calls.

Every generation is one pipeline, run as the generation stages of
:mod:`codeforge.core.generation`: source → Blueprint → Answers → RenderPlan →
Sink (→ record). The engine never prints or prompts: it takes a Prompter and a
Reporter. Everything else it uses (blueprint resolver, dialects, environment
pool, version control, recorder) is passed in by the adapter's composition
root; nothing extends the engine by subclassing it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.answers import Prompter
from codeforge.core.blueprints import LoadedBlueprint, load_blueprint, load_blueprints
from codeforge.core.collaborators import (
    NO_EXTENSIONS,
    Collaborators,
    EnvironmentPool,
    Extensions,
    FreshEnvironments,
    Recorder,
    Reporter,
    SilentReporter,
)
from codeforge.core.dialect import Dialect
from codeforge.core.generation import GenerationRequest, generate, timed
from codeforge.core.native import base_context, config_defaults
from codeforge.core.paths import check_relpath
from codeforge.core.plan import RenderPlan
from codeforge.core.sinks import ReportEntry
from codeforge.core.source import BlueprintResolver
from codeforge.core.vcs import Vcs
from codeforge.errors import StoreError, UsageError
from codeforge.settings import Settings, load_settings
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from codeforge.core.components import ComponentResult
    from codeforge.core.sdlc import WorkflowAction, WorkflowRequest, WorkflowRun, WorkflowStore
    from codeforge.core.update import CheckResult, UpdateResult

__all__ = [
    "ComponentResult",
    "CreateResult",
    "LoadedBlueprint",
    "Reporter",
    "SDLCEngine",
    "SilentReporter",
    "StagesState",
    "check_project_name",
]

PROJECT_NAME_MAX = 100


def __getattr__(name: str) -> Any:
    """``ComponentResult``, imported on first use (``init`` never loads core.components)."""
    if name == "ComponentResult":
        from codeforge.core.components import ComponentResult

        return ComponentResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class StagesState:
    """A run of :meth:`SDLCEngine.run_stages`: what it is about, its timings.

    A plain class, not a dataclass: ``init`` never makes one, yet every run imports this
    module, and a dataclass costs its generated methods' compilation at import.
    """

    def __init__(
        self,
        template: str,
        name: str,
        data: dict[str, Any],
        timings: dict[str, float] | None = None,
    ) -> None:
        self.template = template
        self.name = name
        self.data = data
        self.timings: dict[str, float] = {} if timings is None else timings

    def __repr__(self) -> str:
        return f"StagesState(template={self.template!r}, name={self.name!r})"


Stage = tuple[str, Callable[[StagesState], None]]


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
    # The secret answers, for a publish that follows (CI secrets); never shown or stored.
    secrets: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


def check_project_name(name: str) -> str:
    """A project name is one folder name: no separators, no traversal, printable."""
    if not name or "/" in name or "\\" in name or len(name) > PROJECT_NAME_MAX:
        raise UsageError(
            f"invalid project name {name!r}: use one folder name of at most {PROJECT_NAME_MAX} characters"
        )
    check_relpath(name, origin="project name")
    return name


class SDLCEngine:
    """Creates projects from blueprints, adds components, and keeps projects up to date."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        resolver: BlueprintResolver,
        dialects: Sequence[Dialect],
        vcs: Vcs,
        reporter: Reporter | None = None,
        recorder: Recorder | None = None,
        environments: EnvironmentPool | None = None,
        parse: Callable[[Path], Blueprint] | None = None,
        extensions: Extensions | None = None,
    ) -> None:
        settings = settings or load_settings()
        self.parts = Collaborators(
            settings=settings,
            resolver=resolver,
            dialects=tuple(dialects),
            environments=environments or FreshEnvironments(settings),
            vcs=vcs,
            reporter=reporter or SilentReporter(),
            recorder=recorder,
            parse=parse,
            extensions=extensions or NO_EXTENSIONS,
        )

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @property
    def reporter(self) -> Reporter:
        return self.parts.reporter

    @reporter.setter
    def reporter(self, reporter: Reporter) -> None:
        self.parts = self.parts._replace(reporter=reporter)

    @property
    def recorder(self) -> Recorder | None:
        return self.parts.recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        self.parts = self.parts._replace(recorder=recorder)

    # -- blueprints ------------------------------------------------------------------

    def load_blueprints(self) -> list[Blueprint]:
        """Every blueprint known without a network: the built-ins, then installed plugins'."""
        return load_blueprints(self.parts)

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
        return load_blueprint(
            self.parts, ref, allow_local=allow_local, trust=trust, vcs_ref=vcs_ref, refresh=refresh
        )

    def environment(self, root: Path) -> CodeForgeEnvironment:
        """A render environment on the template folder ``root`` (from the pool)."""
        return self.parts.environments.open(root, str(root))

    def base_context(self, name: str) -> dict[str, Any]:
        """What every native template sees besides the answers."""
        return base_context(name)

    def config_defaults(self, blueprint: Blueprint) -> dict[str, Any]:
        """The user's configured defaults for ``blueprint``'s questions."""
        return config_defaults(self.settings, blueprint)

    # -- workflows and operations ----------------------------------------------------

    def run_stages(self, stages: Sequence[Stage], state: StagesState) -> StagesState:
        """Run ``stages`` in order, timing each; an error stops the run and names the stage.

        Generating files is :mod:`codeforge.core.generation`'s stages; the project's
        lifecycle after that is :meth:`manage_workflow`.
        """
        for name, stage in stages:
            timed(state.timings, name, functools.partial(stage, state))
        return state

    def manage_workflow(
        self,
        request: WorkflowRequest,
        *,
        actions: Mapping[str, WorkflowAction],
        store: WorkflowStore | None = None,
    ) -> WorkflowRun:
        """Run the project's SDLC workflow: the verify, build, publish and deploy stages
        its blueprint declares (see core/sdlc.py), skipping those whose inputs are unchanged.
        """
        from codeforge.core.sdlc import run_workflow  # init never pays for the workflow

        return run_workflow(self.parts, request, actions, store)

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
        dialect: str | None = None,
    ) -> CreateResult:
        """Generate project ``name`` from ``template`` into ``output_dir/name``.

        ``dialect`` chooses the format of a template that ships several definitions.
        """
        check_project_name(name)
        request = GenerationRequest(
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
            dialect=dialect,
        )
        done = generate(self.parts, request, write_files=True)
        return CreateResult(
            destination=request.output or Path(name),
            blueprint=done.loaded.blueprint,
            source=done.loaded.source.source,
            answers=done.public,
            files=sorted(f.path for f in done.rendered.plan.files),
            dry_run=dry_run,
            report=done.written.report if done.written else [],
            commit=done.written.commit if done.written else None,
            record_error=done.recorded.error,
            timings=done.timings,
            next_steps=done.next_steps,
            secrets={
                var.name: done.answers[var.name]
                for var in done.loaded.blueprint.variables
                if var.secret and var.name in done.answers
            },
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
        request = GenerationRequest(
            template=template,
            name=name,
            data=dict(data or {}),
            allow_local=allow_local,
            vcs_ref=vcs_ref,
            refresh=refresh,
        )
        done = generate(self.parts, request, write_files=False)
        return done.loaded, done.public, done.rendered.plan

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
        # Imported here: `init` never pays for the component machinery.
        from codeforge.core.components import ComponentRequest, generate_component

        request = ComponentRequest(
            project, kind, tuple(args), dict(data or {}), prompter, force, dry_run
        )
        return generate_component(self.parts, request)

    def update_project(self, project: Path, **options: Any) -> UpdateResult:
        """Merge a newer blueprint version into ``project`` (see core/update.py)."""
        from codeforge.core import update as updating  # init never pays for update's imports

        return updating.update_project(self.parts, project, **options)

    def check_project(self, project: Path, *, template: str | None = None) -> CheckResult:
        """Whether a newer version of the project's blueprint exists."""
        from codeforge.core import update as updating  # init never pays for update's imports

        return updating.check_project(self.parts, project, template=template)

    def diff_project(self, project: Path, **options: Any) -> UpdateResult:
        """What an update would change, computed without writing (``result.diff()``)."""
        from codeforge.core import update as updating  # init never pays for update's imports

        return updating.update_project(self.parts, project, dry_run=True, **options)
