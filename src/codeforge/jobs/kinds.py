"""The kinds of job and what each one does: ``generate``, ``register``, ``publish``,
``workflow`` and ``update``.

A kind has two halves. ``check`` runs in the API request, before the job exists: it
validates what it can cheaply (roles, names, no secret answers stored) and raises
the same errors as the synchronous endpoints. ``run`` runs in a worker: it does the
work and returns a ``Work`` whose ``record`` writes the job's rows in the same
transaction that marks it finished (see ``codeforge.app.jobstore.finish``), so a
retried job never records twice.

Both are thin adapters over the use cases the synchronous endpoints call
(``codeforge.app.generate``, ``codeforge.app.register``), so a job's zip is
byte-identical to ``POST /projects/generate``'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from codeforge.app import catalog, generate, record, register, server_publish
from codeforge.app.context import AppContext
from codeforge.app.registry import check_git_url, fetch_git
from codeforge.errors import SecurityError, ValidationError
from codeforge.jobs import publish

GIT_TEMPLATE_PREFIX: Final = "https://"


@dataclasses.dataclass(frozen=True)
class Owner:
    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class JobRun(Protocol):
    """What a running kind can see and do."""

    id: str
    payload: dict[str, Any]
    owner: Owner
    ctx: AppContext

    def progress(self, percent: int, stage: str) -> None:
        """Record progress; raises when the job timed out or was taken from this worker."""


@dataclasses.dataclass
class Work:
    """What a kind produced: result fields, an optional artifact, and the rows to record."""

    result: dict[str, Any]
    artifact: bytes | None = None
    suffix: str = "zip"
    record: Callable[[Session], dict[str, Any] | None] | None = None
    payload: dict[str, Any] | None = None  # the request to keep instead (secrets removed)
    after: Callable[[], None] | None = None  # once recorded (e.g. forget cached catalogs)


class Kind(Protocol):
    name: str
    role: str  # the least role allowed to submit it

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None: ...

    def run(self, job: JobRun) -> Work: ...


ROLE_RANK: Final = {"member": 0, "maintainer": 1, "admin": 2}


def _secret_names(variables: Any) -> set[str]:
    return {v.name for v in variables if v.secret}


class GenerateKind:
    """Render a blueprint (built-in, registered, or an https git URL) into a zip."""

    name = "generate"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        template = str(payload["template"])
        answers = payload.get("answers") or {}
        if payload.get("publish") is not None:
            publish.check_options(ctx, owner, publish.options_of(payload))
        if template.startswith(GIT_TEMPLATE_PREFIX):
            check_git_url(template)  # SSRF rules at once: no job for a refused URL
            return
        if payload.get("ref") is not None:
            raise ValidationError("ref applies to git URL templates only", where="ref")
        bp, _ = catalog.load(ctx, template, payload.get("version"), caller=owner)
        secret = sorted(_secret_names(bp.variables) & set(answers))
        if secret:
            raise ValidationError(
                f"secret answers cannot be sent to a job (its request is stored): {secret}",
                where="answers",
                hint="use POST /api/v1/projects/generate for blueprints with secrets",
            )

    def run(self, job: JobRun) -> Work:
        ctx, payload = job.ctx, job.payload
        template, name = str(payload["template"]), str(payload["name"])
        answers: dict[str, Any] = dict(payload.get("answers") or {})
        version = payload.get("version")
        if template.startswith(GIT_TEMPLATE_PREFIX):
            job.progress(10, "fetching the blueprint")
            engine, ref = generate.resolve_git(ctx, template, payload.get("ref"), version)
        else:
            engine, ref = catalog.resolve(ctx, template, version, caller=job.owner)
        job.progress(40, "rendering")
        made = generate.generate_zip(ctx, engine, ref, name, answers)
        loaded = made.rendered.loaded
        bp = loaded.blueprint
        secret = _secret_names(bp.variables)
        kept = None
        if secret & set(answers):
            kept = {**payload, "answers": {k: v for k, v in answers.items() if k not in secret}}
        owner_name, job_id = job.owner.name, job.id
        published = None
        if payload.get("publish") is not None:
            message = f"Initial commit from {bp.name} {bp.version}"
            created = publish.job_created(ctx, job_id)
            options = publish.options_of(payload)
            published = publish.publish_now(job, made.data, options, message, created)
        job.progress(80, "storing the result")

        def record_rows(session: Session) -> dict[str, Any]:
            # The job's id is the record's: recording it twice is impossible.
            rec = record.server_record(
                made.rendered, name, owner_name, record_id=job_id, details={"job_id": job_id}
            )
            project_id = record.record_in(session, rec)
            if published is not None:
                publish.record_publish(session, project_id, published, job)
            return {"project_id": project_id}

        return Work(
            result={
                "name": name,
                "template": bp.name,
                "version": bp.version,
                "source": loaded.source.source,
                "file_count": len(made.rendered.plan.files),
                "size": len(made.data),
                **({"publish": published.to_dict()} if published is not None else {}),
            },
            artifact=made.data,
            suffix="zip",
            record=record_rows,
            payload=kept,
            after=lambda: ctx.metrics.generations.labels(bp.name, "job").inc(),
        )


class RegisterKind:
    """Register a blueprint from a public https git repository (maintainers)."""

    name = "register"
    role = "maintainer"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        check_git_url(str(payload["git_url"]))

    def fetch(self, ctx: AppContext, payload: Mapping[str, Any]) -> tuple[Path, str]:
        """The checked-out blueprint folder and its pinned source."""
        return fetch_git(ctx, str(payload["git_url"]), payload.get("ref"))

    def run(self, job: JobRun) -> Work:
        ctx = job.ctx
        owner = job.owner
        if ROLE_RANK.get(owner.role, -1) < ROLE_RANK[self.role]:
            raise SecurityError(
                f"registering needs the {self.role} role ({owner.name} is {owner.role})",
                where="owner",
            )
        job.progress(10, "fetching the blueprint")
        folder, source = self.fetch(ctx, job.payload)
        bp = register.check_registrable(ctx, folder)
        actor = register.Actor(owner.id, owner.name, owner.role == "admin")
        job_id, visibility = job.id, job.payload.get("visibility")

        def record_rows(session: Session) -> dict[str, Any]:
            row = register.record_registration(
                session, bp, source, actor, job_id=job_id, visibility=visibility
            )
            return {"blueprint": row.to_json()}

        return Work(result={}, record=record_rows, after=lambda: catalog.invalidate(ctx))


class PublishKind:
    """Publish one of the caller's projects to GitHub or GitLab (the tree from the artifact store)."""

    name = "publish"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        publish.check_options(ctx, owner, publish.options_of(payload))
        with ctx.read() as session:
            server_publish.owned_tree(ctx, session, owner.id, int(payload["project_id"]))

    def run(self, job: JobRun) -> Work:
        ctx, owner = job.ctx, job.owner
        project_id = int(job.payload["project_id"])
        job.progress(10, "reading the generated tree")
        with ctx.read() as session:
            project = server_publish.owned_tree(ctx, session, owner.id, project_id)
            data = server_publish.read_tree(ctx, project)
            message = f"Initial commit from {project.blueprint_name} {project.blueprint_version}"
            date = publish.utc(project.created_at)
        result = publish.publish_now(job, data, publish.options_of(job.payload), message, date)
        job.progress(90, "recording")
        return Work(
            result={"project_id": project_id, "publish": result.to_dict()},
            record=lambda session: publish.record_publish(session, project_id, result, job),
        )


class WorkflowKind:
    """Run one of the caller's projects' workflow stages on its stored tree (results recorded
    stage by stage; see :mod:`codeforge.app.server_workflow`)."""

    name = "workflow"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        from codeforge.app import server_workflow

        server_workflow.check_options(owner.role, payload)
        with ctx.read() as session:
            server_publish.owned_tree(ctx, session, owner.id, int(payload["project_id"]))

    def run(self, job: JobRun) -> Work:
        from codeforge.app import server_workflow

        ctx, owner = job.ctx, job.owner
        project_id = int(job.payload["project_id"])
        server_workflow.check_options(owner.role, job.payload)  # the role may have changed
        job.progress(5, "reading the generated tree")
        with ctx.read() as session:
            data = server_publish.read_tree(
                ctx, server_publish.owned_tree(ctx, session, owner.id, project_id)
            )
        done = server_workflow.run_stored_tree(
            ctx, project_id, data, job.payload, (owner.id, owner.role), job.progress
        )
        return Work(result={"project_id": project_id, **server_workflow.summary(done)})


class UpdateKind:
    """Merge the newest version of its blueprint into one of the caller's projects (its stored
    tree; see :mod:`codeforge.app.server_update`); the merged tree is the result. With
    ``pr``: a pull request on the repository the project was published to instead (the
    caller's own credential; see :func:`codeforge.app.fleet_jobs.pull_request`)."""

    name = "update"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        from codeforge.app import server_update

        project_id = int(payload["project_id"])
        if payload.get("pr"):
            server_update.check_published(ctx, owner.id, project_id)
            return
        with ctx.read() as session:
            server_publish.owned_tree(ctx, session, owner.id, project_id)

    def run(self, job: JobRun) -> Work:
        from codeforge.app import server_update

        if job.payload.get("pr"):
            return self._pull_request(job)
        owner, job_id = job.owner, job.id
        project_id = int(job.payload["project_id"])
        result, merged = server_update.run(job.ctx, owner, project_id, job.progress)
        job.progress(90, "storing the merged tree")
        return Work(
            result={
                "project_id": project_id,
                "blueprint": result.blueprint,
                "from_version": result.from_version,
                "to_version": result.to_version,
                "changed": [c.path for c in result.changes],
                "conflicts": result.conflicts,
            },
            artifact=merged,
            record=lambda session: server_update.record(
                session,
                project_id,
                result,
                job_id=job_id,
                owner=(owner.id, owner.name),
                stored=merged is not None,
            ),
        )

    def _pull_request(self, job: JobRun) -> Work:
        from codeforge.app import fleet_jobs

        owner = job.owner
        project_id = int(job.payload["project_id"])
        job.progress(10, "cloning the published repository")
        caller = fleet_jobs.Caller(owner.id, owner.name, owner.role)
        made, recording = fleet_jobs.pull_request(job.ctx, caller, project_id)
        job.progress(90, "recording")
        return Work(
            result={
                "project_id": project_id,
                "blueprint": made.blueprint,
                "from_version": made.from_version,
                "to_version": made.to_version,
                "changed": list(made.changed),
                "conflicts": list(made.conflicts),
                "pull": {
                    "action": made.action,
                    "branch": made.branch,
                    "url": made.pull.web_url if made.pull else None,
                },
            },
            record=recording,
        )


class ReviewKind:
    """Review one of the caller's projects' stored tree (ruff, bandit, the taint pass, and the
    server's model when one is configured); progress per file, a SARIF 2.1.0 log as the
    artifact (see :mod:`codeforge.app.server_review`)."""

    name = "review"
    role = "member"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        with ctx.read() as session:
            server_publish.owned_tree(ctx, session, owner.id, int(payload["project_id"]))

    def run(self, job: JobRun) -> Work:
        from codeforge.ai.settings import load_ai_settings
        from codeforge.app import server_review

        ctx, owner = job.ctx, job.owner
        project_id = int(job.payload["project_id"])
        job.progress(2, "reading the generated tree")
        with ctx.read() as session:
            project = server_publish.owned_tree(ctx, session, owner.id, project_id)
            data = server_publish.read_tree(ctx, project)
            name = project.name
        timeout = load_ai_settings().review_timeout
        with server_review.server_provider(bool(job.payload.get("static_only"))) as provider:
            done = server_review.review_tree(data, provider, job.progress, timeout=timeout)
        job.progress(95, "storing the SARIF log")
        return Work(
            result={"project_id": project_id, "name": f"{name}-review", **done.summary()},
            artifact=done.sarif,
            suffix="sarif",
        )


class FleetUpdateKind:
    """Update every lagging project of the caller (maintainers): stored trees merged, or pull
    requests opened with the caller's credential; see :mod:`codeforge.app.fleet_jobs`."""

    name = "fleet-update"
    role = "maintainer"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        from codeforge.app import fleet, fleet_jobs

        fleet_jobs.check_role(owner.role)
        fleet.check_concurrency(int(payload.get("concurrency") or 2))

    def run(self, job: JobRun) -> Work:
        from codeforge.app import fleet_jobs
        from codeforge.errors import NotFoundError

        owner = job.owner
        caller = fleet_jobs.Caller(owner.id, owner.name, owner.role)
        job.progress(5, "reading the fleet")
        outcomes, records = fleet_jobs.run(job.ctx, caller, job.id, job.payload, job.progress)

        def record_rows(session: Session) -> None:
            for record_one in records:
                try:
                    record_one(session)
                except NotFoundError:
                    continue  # the project was removed meanwhile: nothing to move on

        return Work(result=fleet_jobs.summary(outcomes), record=record_rows)


# Kinds added in this process besides the plugins' (tests and embedding programs).
KINDS: dict[str, Kind] = {}


def kinds_of(ctx: AppContext) -> dict[str, Kind]:
    """Every kind this process runs: the plugins' (the built-ins among them), then KINDS."""
    return {**ctx.plugins.job_kinds(), **KINDS}


def get_kind(ctx: AppContext, name: str) -> Kind:
    """The kind called ``name``; a ValidationError listing the known ones otherwise."""
    kinds = kinds_of(ctx)
    try:
        return kinds[name]
    except KeyError:
        raise ValidationError(
            f"unknown job kind {name!r}", where="kind", hint=f"one of: {', '.join(sorted(kinds))}"
        ) from None
