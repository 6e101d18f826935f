"""The ``fleet-update`` job behind ``POST /api/v1/fleet/update``: every lagging project of the
caller, updated on the server.

Without ``pr`` each project's stored tree is merged with its blueprint's newest
version (the ``update`` job's use case, :mod:`codeforge.app.server_update`) and the
merged tree becomes the project's stored tree. With ``pr`` the repository the
project was published to is cloned with the caller's own credential and updated
through a pull (merge) request, as ``codeforge update --pr`` does
(:mod:`codeforge.app.update_pr`). Only the caller's own projects are touched (an
admin's too: credentials are per user).

One project's failure never stops the others: it is reported as ``failed`` with its
error. The rows (a project moved to its new version, the ``update`` or ``update-pr``
Activity rows) are written with the job's end, in its transaction.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from codeforge.app import catalog, fleet, fleet_server, server_publish, server_update
from codeforge.app import update as updating
from codeforge.app.context import AppContext
from codeforge.app.fleet import FleetEntry, FleetOutcome
from codeforge.app.publish import save_state
from codeforge.app.update_pr import PullForge, UpdatePull, UpdatePullResult, origin_target
from codeforge.core.credentials import DEFAULT_NAME, check_account, check_name, forge_named
from codeforge.core.update import UpdateOptions
from codeforge.errors import ForbiddenError, NotFoundError, SecurityError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.db.models import Project

UPDATE_ROLES: Final = ("maintainer", "admin")
Recording = Callable[["Session"], None]


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who runs the fleet update (the job's owner); never acts as an admin on others' rows."""

    id: int
    name: str
    role: str
    is_admin: bool = False


def check_role(role: str) -> None:
    """Updating the fleet needs the maintainer role (403 ``forbidden`` otherwise)."""
    if role not in UPDATE_ROLES:
        raise ForbiddenError(
            f"updating the fleet needs the maintainer role (you are {role})",
            hint="update one project with POST /api/v1/projects/{id}/update",
        )


def run(
    ctx: AppContext,
    caller: Caller,
    job_id: str,
    options: Mapping[str, Any],
    progress: Callable[[int, str], None],
) -> tuple[list[FleetOutcome], list[Recording]]:
    """Update every lagging project of ``caller``; each project's outcome and the rows to record."""
    check_role(caller.role)
    entries = fleet_server.status(ctx, caller, options.get("blueprint"))
    one = _Pulls(ctx, caller) if options.get("pr") else None
    records: list[Recording] = []
    lock, stopped = threading.Lock(), list[Exception]()
    total, done = max(1, sum(e.lagging for e in entries)), [0]

    def run_one(entry: FleetEntry) -> FleetOutcome:
        if stopped:
            raise stopped[0]  # the job was cancelled or timed out: start nothing new
        outcome, recording = one.update(entry) if one else _stored(ctx, caller, job_id, entry)
        with lock:
            if recording is not None:
                records.append(recording)
            done[0] += 1
            try:
                progress(5 + 90 * done[0] // total, f"{done[0]} of {total} project(s) updated")
            except Exception as exc:
                stopped.append(exc)
        return outcome

    outcomes = fleet.update(entries, run_one, concurrency=int(options.get("concurrency") or 2))
    if stopped:
        raise stopped[0]
    return outcomes, records


def _stored(
    ctx: AppContext, caller: Caller, job_id: str, entry: FleetEntry
) -> tuple[FleetOutcome, Recording | None]:
    """Merge the newest version into the project's stored tree, stored again under a new id."""
    result, merged = server_update.run(ctx, caller, entry.id, lambda percent, stage: None)
    status: fleet.Status = "conflicts" if result.conflicts else "updated"
    outcome = FleetOutcome(
        entry.id, entry.name, entry.path, status, result.from_version, result.to_version,
        None, tuple(result.conflicts),
    )  # fmt: skip
    if merged is None:
        return dataclasses.replace(outcome, status="up-to-date"), None
    tree = f"{job_id}-{entry.id}"  # the project's tree from now on: api:<tree>/<name>
    ctx.artifacts.results.put(tree, merged, "zip")

    def record(session: Session) -> None:
        server_update.record(
            session, entry.id, result, job_id=tree, owner=(caller.id, caller.name), stored=True
        )

    return outcome, record


class _Pulls:
    """``update --pr`` for a server project: its published repository, cloned with the
    caller's token (opened and checked once per forge and host in a run; each worker
    thread keeps its own client, so no HTTP session is shared between threads)."""

    def __init__(self, ctx: AppContext, caller: Caller, credential: str = DEFAULT_NAME) -> None:
        self._ctx, self._caller, self._credential = ctx, caller, check_name(credential)
        self._tokens: dict[tuple[str, str], tuple[Any, str, str]] = {}
        self._lock = threading.Lock()
        self._clients = threading.local()

    def _checked(self, provider: str, host: str) -> tuple[Any, str, str]:
        """(forge, token, login) for the caller's credential on ``host``."""
        from codeforge.app import user_credentials

        with self._lock:
            known = self._tokens.get((provider, host))
            if known is None:
                forge = forge_named(self._ctx.plugins.forges().values(), provider)
                if not hasattr(forge, "repos"):
                    raise NotFoundError(f"the forge {provider!r} cannot open pull requests")
                key = (provider, host, self._credential)
                with self._ctx.factory.begin() as session:
                    token = user_credentials.token(session, self._ctx, self._caller.id, key)
                origin = f"your credential {self._credential!r}"
                account = check_account(forge, host, token, origin)
                known = self._tokens[(provider, host)] = (forge, token, account.login)
        return known

    def _forge(self, provider: str, host: str) -> PullForge:
        clients: dict[tuple[str, str], PullForge] = self._clients.__dict__.setdefault("by_host", {})
        repos = clients.get((provider, host))
        if repos is None:
            forge, token, login = self._checked(provider, host)
            repos = clients[(provider, host)] = forge.repos(host, token, login)
        return repos

    def update(self, entry: FleetEntry) -> tuple[FleetOutcome, Recording | None]:
        from codeforge.db.repositories import get_project

        with self._ctx.read() as session:
            project = get_project(session, entry.id, self._caller.id)
        made = self._update(project)
        outcome = FleetOutcome(
            entry.id, entry.name, entry.path, fleet.PULL_STATUSES.get(made.action, "up-to-date"),
            made.from_version, made.to_version, made.pull.web_url if made.pull else None,
            made.conflicts,
        )  # fmt: skip
        return outcome, self._recording(entry.id, made)

    def _update(self, project: Project) -> UpdatePullResult:
        from codeforge.integrations.gitbranch import GitUpdateBranches, clone
        from codeforge.integrations.gitpush import HttpsPusher

        if not project.remote_url or not project.provider:
            raise NotFoundError(
                f"project {project.id} was never published, so there is no repository "
                "to open a pull request on",
                hint=f"publish it first: POST /api/v1/projects/{project.id}/publish",
            )
        provider = project.provider
        target = origin_target(project.remote_url, lambda host: provider, "project")
        if target.host not in server_publish.allowed_hosts(self._ctx):
            raise SecurityError(
                f"this server does not talk to {target.host}",
                hint=f"the server's operator lists the forge hosts in {server_publish.HOSTS_ENV}",
            )
        forge = self._forge(provider, target.host)
        repo = forge.find(target.owner, target.name)
        if repo is None:
            raise NotFoundError(f"{provider} at {target.host} has no repository "
                                f"{target.owner}/{target.name}")  # fmt: skip
        engine, base, newest = catalog.resolve_update(
            self._ctx, project.blueprint_name, project.blueprint_version, caller=self._caller
        )

        def update(path: Path, options: UpdateOptions) -> updating.UpdateResult:
            # The catalog's versions, never a source named in the project's answers file.
            chosen = dataclasses.replace(options, template=newest, base_template=base, force=True)
            return updating.update(engine, path, chosen)

        scratch = Path(tempfile.mkdtemp(prefix="codeforge-fleet-"))
        try:
            checkout = scratch / target.name
            clone(repo.clone_url, forge.push_header(), checkout)
            key = f"{provider}|{target.host}|{target.owner}|{target.name}"
            save_state(checkout / ".git", {"key": key})
            case = UpdatePull(
                update, HttpsPusher(), GitUpdateBranches(), lambda provider, host: forge,
                None, lambda: datetime.now(UTC), lambda host: provider,
            )  # fmt: skip
            return case.run(checkout, UpdateOptions(conflict="rej"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _recording(self, project_id: int, made: UpdatePullResult) -> Recording | None:
        if made.pull is None:
            return None
        caller, pull = self._caller, made.pull
        details: dict[str, Any] = {
            "blueprint": made.blueprint, "from_version": made.from_version,
            "to_version": made.to_version, "branch": made.branch, "pull": pull.number,
            "outcome": made.action, "conflicts": list(made.conflicts),
        }  # fmt: skip

        def record(session: Session) -> None:
            from codeforge.db.repositories import log_activity

            log_activity(
                session, "update-pr", actor=caller.name, user_id=caller.id,
                project_id=project_id, target=pull.web_url, details=details,
            )  # fmt: skip

        return record


def pull_request(
    ctx: AppContext, caller: Caller, project_id: int
) -> tuple[UpdatePullResult, Recording | None]:
    """``update --pr`` for one of the caller's projects (the ``update`` job with ``pr``): the
    pull request's outcome and the ``update-pr`` row to record."""
    from codeforge.db.repositories import get_project

    with ctx.read() as session:
        project = get_project(session, project_id, caller.id)
    pulls = _Pulls(ctx, caller)
    made = pulls._update(project)
    return made, pulls._recording(project_id, made)


def summary(outcomes: list[FleetOutcome]) -> dict[str, Any]:
    """The job's result: each project's outcome and the counts by status."""
    return {"projects": [o.to_dict() for o in outcomes], "counts": fleet.counts(outcomes)}
