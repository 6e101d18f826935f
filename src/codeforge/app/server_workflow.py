"""Run a project's workflow on the server: the ``workflow`` job behind
``POST /api/v1/projects/{id}/workflow``.

The tree is the project's zip in the artifact store (as for publishing), unpacked
into a scratch folder for the run. Each stage's result is written to the project's
workflow record and an Activity row as soon as the stage ends (a failed or
interrupted stage too), and the last results are read back from the record, so a
rerun with the same tree and answers skips its stages as ``workflow run`` does.

The server never passes ``trust``: a blueprint's own commands run only when its
source is trusted here (built-in blueprints, or the operator's
``trusted_sources``). The deploy stage starts things on the server's host, so
it needs the maintainer role. With ``registry``, docker.build pushes the image
there, to an allowed host only and with the job owner's own login (see
:mod:`codeforge.app.server_registry`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from codeforge.app import server_registry
from codeforge.app.context import AppContext
from codeforge.core.sdlc_model import StageResult, WorkflowRequest, WorkflowRun
from codeforge.errors import ForbiddenError, ValidationError
from codeforge.templates.workflow import STAGES

DEPLOY_ROLES: Final = ("maintainer", "admin")
_SPAN = 80 // len(STAGES)  # progress points per stage, from 10 to 90


def check_options(role: str, options: Mapping[str, Any]) -> None:
    """In the request: stage names are known, deploying needs the maintainer role, and the
    registry is HOST[:PORT]/NAMESPACE on a host this server pushes to."""
    server_registry.requested(options)
    stages = list(options.get("stages") or ())
    for name in stages:
        if name not in STAGES:
            raise ValidationError(
                f"unknown stage {name!r}", where="stages", hint=f"one of: {', '.join(STAGES)}"
            )
    if "deploy" in stages and role not in DEPLOY_ROLES:
        raise ForbiddenError(
            "the deploy stage runs on the server's host: it needs the maintainer role",
            hint="run the other stages, or deploy from your machine with `codeforge deploy`",
        )


class _ProgressReporter:
    """The engine's messages as job progress: each stage moves the bar on by a fifth."""

    def __init__(self, progress: Callable[[int, str], None]) -> None:
        self._progress = progress
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)
        stage = message.split(":", 1)[0]
        done = STAGES.index(stage) if stage in STAGES else 0
        self._progress(10 + _SPAN * done, message[:200])

    def warn(self, message: str) -> None:
        self.messages.append(f"warning: {message}")

    def progress(self, done: int, total: int) -> None:
        del done, total  # the stages' messages carry the progress


class ServerStageStore:
    """The project's stage results in the database, by project id (no files, no plan cache)."""

    def __init__(self, ctx: AppContext, project_id: int) -> None:
        self._ctx, self._project_id = ctx, project_id

    def last_results(self, project: Path) -> Mapping[str, StageResult]:
        """The project's recorded results (the tree's path plays no part: the id keys them)."""
        del project
        from codeforge.db.repositories import workflow_of

        with self._ctx.read() as session:
            row = workflow_of(session, self._project_id)
            stages = dict(row.stages or {}) if row is not None else {}
        found = {}
        for name, data in stages.items():
            try:
                found[name] = StageResult.from_dict(data)
            except (KeyError, TypeError, ValueError):
                continue  # an unreadable old result only means the stage runs again
        return found

    def record(self, project: Path, result: StageResult) -> None:
        """Write the result and its Activity row now, in their own transaction."""
        del project
        from codeforge.db.models import Project
        from codeforge.db.repositories import save_stage_result

        with self._ctx.factory.begin() as session:
            row = session.get(Project, self._project_id)
            if row is not None:  # deleted meanwhile: nothing to keep the result on
                save_stage_result(session, row, result.to_dict(), datetime.now(UTC))

    def remember_plan(self, project: Path, cache: Mapping[str, Any]) -> None:
        """Nothing to keep: the server plans every run (the tree is unpacked afresh)."""
        del project, cache


def run_stored_tree(
    ctx: AppContext,
    project_id: int,
    data: bytes,
    options: Mapping[str, Any],
    owner: tuple[int, str],
    progress: Callable[[int, str], None],
) -> WorkflowRun:
    """Unpack ``data`` (the project's stored zip) and run the asked stages on it for
    ``owner`` (user id, role): a push logs in with that user's own credential only."""
    from codeforge.app.local import local_engine
    from codeforge.app.server_publish import unpack
    from codeforge.app.workflow import deploy_defaults, workflow_options

    settings, (user_id, role) = ctx.settings, owner
    default_target, default_env = deploy_defaults(settings, {})
    # Never the server's environment: its CODEFORGE_DOCKER_AUTH is nobody's login here.
    action_options = workflow_options(settings, {})
    registry = server_registry.requested(options)
    if registry:
        action_options.setdefault("docker.build", {})["registry"] = registry
    stages: Sequence[str] = tuple(options.get("stages") or ())
    reporter = _ProgressReporter(progress)
    engine = local_engine(settings, reporter=reporter, plugins=ctx.plugins)
    with tempfile.TemporaryDirectory(prefix="codeforge-workflow-") as scratch:
        project = unpack(data, Path(scratch))
        request = WorkflowRequest(
            project=project,
            stages=tuple(stages),
            force=bool(options.get("force")),
            options=action_options,
            target=str(options.get("target") or default_target),
            # Without the role, "every stage" means every stage but deploy (check_options
            # refused an explicit one).
            exclude=() if role in DEPLOY_ROLES else ("deploy",),
            environment=str(options.get("env") or default_env),
            credentials=server_registry.owner_login(ctx, user_id),
        )
        store = ServerStageStore(ctx, project_id)
        return engine.manage_workflow(request, actions=ctx.plugins.workflow_actions(), store=store)


def summary(run: WorkflowRun) -> dict[str, Any]:
    """The job's result: each stage's result, in order."""
    return {"stages": [result.to_dict() for result in run.results]}
