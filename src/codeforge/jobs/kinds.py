"""The kinds of job and what each one does: ``generate`` and ``register`` for now.

A kind has two halves. ``check`` runs in the API request, before the job exists: it
validates what it can cheaply (roles, names, no secret answers stored) and raises
the same errors as the synchronous endpoints. ``run`` runs in a worker: it does the
work and returns a ``Work`` whose ``record`` writes the job's rows in the same
transaction that marks it finished (see ``codeforge.jobs.store.finish``), so a
retried job never records twice.

Both call the code the synchronous endpoints use (``codeforge.api.generation``,
``codeforge.api.registry``), so a job's zip is byte-identical to
``POST /projects/generate``'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from codeforge.api.context import AppContext
from codeforge.core.errors import (
    ConflictError,
    NotFoundError,
    SecurityError,
    ValidationError,
)

GIT_TEMPLATE_PREFIX: Final = "https://"
JOB_SOURCE_REF: Final = "job:source"


@dataclasses.dataclass(frozen=True)
class Owner:
    id: int
    name: str
    role: str


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
        from codeforge.api import catalog
        from codeforge.api.registry import check_git_url

        template = str(payload["template"])
        answers = payload.get("answers") or {}
        if template.startswith(GIT_TEMPLATE_PREFIX):
            check_git_url(template)  # SSRF rules at once: no job for a refused URL
            return
        if payload.get("ref") is not None:
            raise ValidationError("ref applies to git URL templates only", where="ref")
        bp, _ = catalog.load(ctx, template, payload.get("version"))
        secret = sorted(_secret_names(bp.variables) & set(answers))
        if secret:
            raise ValidationError(
                f"secret answers cannot be sent to a job (its request is stored): {secret}",
                where="answers",
                hint="use POST /api/v1/projects/generate for blueprints with secrets",
            )

    def run(self, job: JobRun) -> Work:
        from codeforge.api import catalog
        from codeforge.api.generation import zip_bytes
        from codeforge.api.registry import fetch_git

        ctx = job.ctx
        payload = job.payload
        template = str(payload["template"])
        name = str(payload["name"])
        answers: dict[str, Any] = dict(payload.get("answers") or {})
        version = payload.get("version")
        if template.startswith(GIT_TEMPLATE_PREFIX):
            job.progress(10, "fetching the blueprint")
            folder, source = fetch_git(ctx, template, payload.get("ref"))
            engine = ctx.engine({JOB_SOURCE_REF: (folder, source)})
            ref = JOB_SOURCE_REF
            bp = ctx.parse(folder)
            if version is not None and bp.version != version:
                raise NotFoundError(
                    f"the blueprint at {template} is version {bp.version}, not {version}",
                    where="version",
                )
        else:
            engine, ref = catalog.resolve(ctx, template, version)
        job.progress(40, "rendering")
        with ctx.render_slots:
            loaded, public, plan = engine.render_plan(ref, name, answers, allow_local=False)
            data = zip_bytes(plan, name)
        job.progress(80, "storing the result")
        bp = loaded.blueprint
        secret = _secret_names(bp.variables)
        kept = None
        if secret & set(answers):
            kept = {**payload, "answers": {k: v for k, v in answers.items() if k not in secret}}
        owner = job.owner
        job_id = job.id

        def record(session: Session) -> dict[str, Any]:
            from codeforge.core.records import GenerationRecord
            from codeforge.db.repositories import record_generation

            rec = GenerationRecord(
                project_name=name,
                path=f"api:{job_id}/{name}",
                blueprint_name=bp.name,
                blueprint_version=bp.version,
                blueprint_source=loaded.source.source,
                answers=public,
                action="generate",
                actor=owner.name,
                file_count=len(plan.files),
                record_id=job_id,  # the job's id: recording it twice is impossible
                details={"job_id": job_id},
            )
            project = record_generation(session, rec)
            return {"project_id": project.id}

        return Work(
            result={
                "name": name,
                "template": bp.name,
                "version": bp.version,
                "source": loaded.source.source,
                "file_count": len(plan.files),
                "size": len(data),
            },
            artifact=data,
            suffix="zip",
            record=record,
            payload=kept,
            after=lambda: ctx.metrics.generations.labels(bp.name, "job").inc(),
        )


class RegisterKind:
    """Register a blueprint from a public https git repository (maintainers)."""

    name = "register"
    role = "maintainer"

    def check(self, ctx: AppContext, owner: Owner, payload: Mapping[str, Any]) -> None:
        from codeforge.api.registry import check_git_url

        check_git_url(str(payload["git_url"]))

    def fetch(self, ctx: AppContext, payload: Mapping[str, Any]) -> tuple[Path, str]:
        """The checked-out blueprint folder and its pinned source."""
        from codeforge.api.registry import fetch_git

        return fetch_git(ctx, str(payload["git_url"]), payload.get("ref"))

    def run(self, job: JobRun) -> Work:
        from codeforge.api import catalog
        from codeforge.sources import builtin_names

        ctx = job.ctx
        owner = job.owner
        if ROLE_RANK.get(owner.role, -1) < ROLE_RANK[self.role]:
            raise SecurityError(
                f"registering needs the {self.role} role ({owner.name} is {owner.role})",
                where="owner",
            )
        job.progress(10, "fetching the blueprint")
        folder, source = self.fetch(ctx, job.payload)
        bp = ctx.parse(folder)
        if bp.name in builtin_names():
            raise ConflictError(
                f"{bp.name} is a built-in blueprint name", hint="rename the blueprint (its `name`)"
            )
        job_id = job.id

        def record(session: Session) -> dict[str, Any]:
            from codeforge.db.repositories import log_activity, register_blueprint

            row = register_blueprint(
                session,
                bp.name,
                bp.version,
                source,
                description=bp.description,
                registered_by=owner.id,
            )
            log_activity(
                session,
                "blueprint.register",
                actor=owner.name,
                user_id=owner.id,
                target=f"blueprint:{bp.name}@{bp.version}",
                details={
                    "source": source,
                    "blueprint_id": row.id,
                    "tasks_ignored": bool(bp.tasks),
                    "job_id": job_id,
                },
            )
            return {
                "blueprint": {
                    "id": row.id,
                    "name": row.name,
                    "version": row.version,
                    "source": row.source,
                    "description": row.description,
                    "created_at": row.created_at.isoformat(),
                }
            }

        return Work(result={}, record=record, after=lambda: catalog.invalidate(ctx))


KINDS: dict[str, Kind] = {"generate": GenerateKind(), "register": RegisterKind()}


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(
            f"unknown job kind {name!r}", where="kind", hint=f"one of: {', '.join(sorted(KINDS))}"
        ) from None
