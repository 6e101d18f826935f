"""The workflow use case: run a project's SDLC stages with the installed actions, and record them.

Each stage's last result is kept twice: in a small JSON file per project in the
data folder, and in the database, as the project's ``workflows`` row and one
``workflow`` Activity row per result (what ``list projects`` and the history
show). On the embedded default the database gets it through the journal (see
``core/journal.py``), applied when the store is next read, so a run never
imports SQLAlchemy. The file also keeps the last rendered plan: a rerun whose answers file,
blueprint definition and options are unchanged checks the tree against it and,
when every stage is up to date, skips them all without loading the blueprint or
opening the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.records import workflow_record
from codeforge.core.sdlc_model import (
    SKIPPED,
    PlannedStage,
    StageResult,
    WorkflowPlan,
    WorkflowRequest,
    WorkflowRun,
    cached_plan,
    inputs_key,
    skip_message,
)
from codeforge.core.treehash import tree_hash
from codeforge.errors import StoreError
from codeforge.settings import Settings, get_dotted

if TYPE_CHECKING:  # the engine's modules load only when a stage has to run
    from codeforge.core.collaborators import Reporter
    from codeforge.plugins.manager import Plugins

STATE_FOLDER = "workflow"
PLANS_KEPT = 8  # rendered plans kept per project, one per kind of request
# (action, input) <- (environment variable, key of the [workflow] config table)
ACTION_DEFAULTS = {
    ("package.upload", "repository_url"): ("CODEFORGE_PACKAGE_INDEX", "package_index"),
    ("package.build", "isolation"): ("CODEFORGE_BUILD_ISOLATION", "build_isolation"),
    ("k8s.apply", "context"): ("CODEFORGE_KUBE_CONTEXT", "kube_context"),
    ("k8s.apply", "kube_version"): ("CODEFORGE_KUBE_VERSION", "kube_version"),
    ("docker.build", "registry"): ("CODEFORGE_DOCKER_REGISTRY", "docker_registry"),
    ("docker.build", "build_args"): ("CODEFORGE_DOCKER_BUILD_ARGS", "docker_build_args"),
    ("docker.build", "base_image"): ("CODEFORGE_DOCKER_BASE_IMAGE", "docker_base_image"),
    ("docker.run", "network"): ("CODEFORGE_DOCKER_NETWORK", "docker_network"),
    ("docker.run", "host_port"): ("CODEFORGE_DEPLOY_PORT", "deploy_port"),
    ("compose.up", "host_port"): ("CODEFORGE_DEPLOY_PORT", "deploy_port"),
}


def workflow_options(settings: Settings, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Action inputs from the environment, else the ``[workflow]`` config table, by action."""
    options: dict[str, dict[str, str]] = {}
    for (action, name), (env_name, key) in ACTION_DEFAULTS.items():
        value: object = environ.get(env_name)
        if not value:
            try:
                value = get_dotted(settings.raw, f"workflow.{key}")
            except KeyError:
                continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        options.setdefault(action, {})[name] = text
    return options


DEPLOY_TARGETS = ("docker", "compose", "kubernetes")
DEFAULT_TARGET, DEFAULT_ENVIRONMENT = "docker", "dev"


def deploy_defaults(settings: Settings, environ: Mapping[str, str]) -> tuple[str, str]:
    """The deploy target and environment when the caller names none: CODEFORGE_DEPLOY_TARGET
    and CODEFORGE_DEPLOY_ENV, else the ``[deploy]`` config table's ``target`` and ``env``."""
    found = []
    for env_name, key, default in (
        ("CODEFORGE_DEPLOY_TARGET", "target", DEFAULT_TARGET),
        ("CODEFORGE_DEPLOY_ENV", "env", DEFAULT_ENVIRONMENT),
    ):
        value: object = environ.get(env_name)
        if not value:
            try:
                value = get_dotted(settings.raw, f"deploy.{key}")
            except KeyError:
                value = default
        found.append(str(value))
    return found[0], found[1]


class LocalWorkflowStore:
    """Stage results in the data folder (read on every run) and the database (the record)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _state_file(self, project: Path) -> Path:
        key = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:32]
        return self._settings.data_dir / STATE_FOLDER / f"{key}.json"

    def _state(self, project: Path) -> dict[str, Any]:
        try:
            data = json.loads(self._state_file(project).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, project: Path, state: dict[str, Any]) -> None:
        path = self._state_file(project)
        state["path"] = str(project.resolve())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(json.dumps(state, indent=1), encoding="utf-8")
            os.replace(scratch, path)
        except OSError as exc:
            raise StoreError(
                f"cannot keep the workflow state: {exc.strerror}", where=str(path)
            ) from exc

    def last_results(self, project: Path) -> dict[str, StageResult]:
        """The last result of each stage, from the state file (none when it is unreadable)."""
        try:
            stages = self._state(project).get("stages", {})
            return {name: StageResult.from_dict(item) for name, item in stages.items()}
        except (KeyError, TypeError, AttributeError, ValueError):
            return {}

    def plan_caches(self, project: Path) -> list[dict[str, Any]]:
        """The plans recent runs rendered, newest first (one per kind of request)."""
        state = self._state(project)
        plans = state.get("plans")
        found = list(plans.values())[::-1] if isinstance(plans, dict) else []
        return [cache for cache in found if isinstance(cache, dict)]

    def remember_plan(self, project: Path, cache: Mapping[str, Any]) -> None:
        """Keep the rendered plan for the next runs' quick check, beside those of other
        requests (``deploy`` and ``deploy --down``, say), the last :data:`PLANS_KEPT`."""
        state = self._state(project)
        plans: dict[str, Any] = state["plans"] if isinstance(state.get("plans"), dict) else {}
        fingerprint = str(cache.get("fingerprint", ""))
        plans = {k: v for k, v in plans.items() if k != fingerprint}
        plans[fingerprint] = dict(cache)
        state["plans"] = dict(list(plans.items())[-PLANS_KEPT:])
        state.pop("plan", None)  # the single plan of earlier versions
        self._write(project, state)

    def tree_hash(self, project: Path) -> str:
        """The project's tree hash, reading only files changed since the last one."""
        path = self._state_file(project).with_suffix(".files.json")
        try:
            cache = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
        cache = cache if isinstance(cache, dict) else {}
        before = json.dumps(cache, sort_keys=True)
        tree = tree_hash(project, cache)
        if json.dumps(cache, sort_keys=True) != before:
            with contextlib.suppress(OSError):  # a cache: the next run hashes again
                path.parent.mkdir(parents=True, exist_ok=True)
                scratch = path.with_suffix(f".{os.getpid()}.tmp")
                scratch.write_text(json.dumps(cache), encoding="utf-8")
                os.replace(scratch, path)
        return tree

    def record(self, project: Path, result: StageResult) -> None:
        """Write the state file atomically, then the record: a journal line on the embedded
        default (applied on the store's next read; no SQLAlchemy on a run), else the database."""
        state = self._state(project)
        state["stages"] = {**state.get("stages", {}), result.stage: result.to_dict()}
        self._write(project, state)
        at, settings = datetime.now(UTC), self._settings
        if settings.database_url:
            from codeforge.app.record import project_store

            project_store(settings).record_workflow(project, result.to_dict(), at)
            return
        from codeforge.core import journal

        record = workflow_record(str(project.resolve()), result.to_dict(), at)
        journal.append(settings.data_dir, record, store_url=settings.store_url)


def _quick_plan(
    settings: Settings, request: WorkflowRequest, store: LocalWorkflowStore
) -> tuple[WorkflowPlan, bool] | None:
    """The plan from a recent run's cache with today's tree, when one still holds, and
    whether it can run as it is (no input was redacted when it was kept)."""
    project = request.project.resolve()
    for cache in store.plan_caches(project):
        hit = cached_plan(request, cache, project / ANSWERS_FILE, settings.trusted_sources)
        if hit is not None:
            break
    else:
        return None
    blueprint, stages, cache = hit
    tree, last = store.tree_hash(project), store.last_results(project)
    answers = cache["answers"]
    planned = tuple(
        PlannedStage(
            name,
            steps,
            inputs_key(tree, answers, steps, request.deploy() if name == "deploy" else None),
            last.get(name),
        )
        for name, steps in stages.items()
    )
    plan = WorkflowPlan(
        project, blueprint, bool(cache["trusted"]), answers, planned, str(cache["definition"])
    )
    return plan, cache.get("exact") is True


def run_workflow(
    settings: Settings,
    plugins: Callable[[], Plugins],
    request: WorkflowRequest,
    reporter: Reporter | None = None,
) -> WorkflowRun:
    """Run the project's workflow through ``SDLCEngine.manage_workflow`` with the plugins' actions.

    When a recent run's cached plan still holds, the engine is not loaded: a run
    whose stages are all up to date (and no ``force``) is all skips without even
    the plugins (``plugins`` is called only when needed), and any other runs the
    cached steps with the plugins' actions.
    """
    store = LocalWorkflowStore(settings)
    info = reporter.info if reporter is not None else (lambda message: None)
    quick = _quick_plan(settings, request, store)
    if quick is not None and not request.force and all(p.up_to_date for p in quick[0].stages):
        run = WorkflowRun(quick[0], dry_run=request.dry_run)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for planned in quick[0].stages:
            info(skip_message(planned))
            run.results.append(StageResult(planned.stage, SKIPPED, planned.inputs_key, now, 0.0))
        return run
    if quick is not None and quick[1]:
        from codeforge.core.sdlc_run import detail_of, run_plan

        actions = plugins().workflow_actions()
        return run_plan(quick[0], request, actions, store, info, detail_of(reporter))
    from codeforge.app.local import local_engine

    loaded = plugins()
    engine = local_engine(settings, reporter=reporter, plugins=loaded)
    return engine.manage_workflow(request, actions=loaded.workflow_actions(), store=store)


def workflow_status(
    settings: Settings, plugins: Callable[[], Plugins], request: WorkflowRequest
) -> list[dict[str, object]]:
    """Each declared stage: its last result and whether its inputs changed since."""
    store = LocalWorkflowStore(settings)
    quick = _quick_plan(settings, request, store)
    plan = quick[0] if quick is not None else None
    if plan is None:
        from codeforge.app.local import local_engine
        from codeforge.core.sdlc import plan_workflow

        plan = plan_workflow(local_engine(settings, plugins=plugins()).parts, request, store)
    return [
        {
            "stage": p.stage,
            "steps": [s.label for s in p.steps],
            "up_to_date": p.up_to_date,
            "last": p.last.to_dict() if p.last is not None else None,
        }
        for p in plan.stages
    ]
