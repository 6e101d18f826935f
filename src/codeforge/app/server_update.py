"""Keep a server project in step with its blueprint: the diff behind
``GET /api/v1/projects/{id}/diff`` and the ``update`` job behind ``POST /api/v1/projects/{id}/update``.

The project's tree is its zip in the artifact store (as for publishing and the
workflow), unpacked into a scratch folder. The base version the project was made
from and the newest version are both rebuilt from the server's catalog (built-in
or registered), then merged three ways with the stored tree by the same use case
``codeforge update`` calls (:mod:`codeforge.app.update`). The server never trusts a
blueprint, so a blueprint that needs its own code to migrate is refused.

An update's merged tree becomes the job's result and the project's stored tree:
the project row moves to the new version, with an ``update`` Activity row.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from codeforge.app import catalog, server_publish
from codeforge.app import update as updating
from codeforge.app.context import AppContext
from codeforge.app.marketplace import Caller
from codeforge.core.update import UpdateOptions, UpdateResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.db.models import Project

MAX_DIFF_CHARS: Final = 200_000  # a page and a JSON answer stay readable


def _merge(
    ctx: AppContext, project: Project, data: bytes, *, dry_run: bool, caller: Caller
) -> tuple[UpdateResult, bytes | None]:
    """Unpack ``data`` and merge the newest version into it; the result and (unless
    ``dry_run``) the merged tree as a zip."""
    engine, base, target = catalog.resolve_update(
        ctx, project.blueprint_name, project.blueprint_version, caller=caller
    )
    options = UpdateOptions(template=target, base_template=base, force=True, dry_run=dry_run)
    with tempfile.TemporaryDirectory(prefix="codeforge-update-") as scratch:
        root = server_publish.unpack(data, Path(scratch))
        if dry_run:
            return updating.diff(engine, root, options), None
        result = updating.update(engine, root, options)
        return result, _zip_tree(root)


def _zip_tree(root: Path) -> bytes:
    """``root`` as a zip of one folder (its name), files in path order, modes kept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            relative = f"{root.name}/{path.relative_to(root).as_posix()}"
            if path.is_symlink():
                info = zipfile.ZipInfo(relative, (1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o120777 << 16) & 0xFFFF0000
                archive.writestr(info, os.readlink(path))
            elif path.is_file():
                info = zipfile.ZipInfo(relative, (1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def diff(ctx: AppContext, project: Project, caller: Caller) -> dict[str, Any]:
    """What updating ``project`` to its blueprint's newest version would change: the
    ``codeforge update --json`` fields plus the unified diff (capped)."""
    server_publish.check_stored(ctx, project)
    data = server_publish.read_tree(ctx, project)
    result, _ = _merge(ctx, project, data, dry_run=True, caller=caller)
    text = result.diff()
    summary = updating.update_summary(result)
    summary.pop("project")
    summary.pop("dry_run")
    return {
        "project_id": project.id,
        **summary,
        "update_available": bool(result.changes),
        "diff": text[:MAX_DIFF_CHARS],
        "truncated": len(text) > MAX_DIFF_CHARS,
    }


def run(
    ctx: AppContext, owner: Caller, project_id: int, progress: Callable[[int, str], None]
) -> tuple[UpdateResult, bytes | None]:
    """The ``update`` job's work: merge the newest version into the owner's stored tree.

    The merged zip is None when the project is already up to date (nothing to store)."""
    progress(10, "reading the generated tree")
    with ctx.read() as session:
        project = server_publish.owned_tree(ctx, session, owner.id, project_id)
        data = server_publish.read_tree(ctx, project)
    progress(30, "merging the newest blueprint version")
    result, merged = _merge(ctx, project, data, dry_run=False, caller=owner)
    return result, merged if result.changes else None


def record(
    session: Session,
    project_id: int,
    result: UpdateResult,
    *,
    job_id: str,
    owner: tuple[int, str],
    stored: bool,
) -> dict[str, Any]:
    """Move the project to the new version (its tree: the job's zip when ``stored``) and log
    an ``update`` Activity row; the job's extra result fields."""
    from codeforge.db.repositories import get_project, log_activity

    user_id, actor = owner
    project = get_project(session, project_id, user_id)
    at = datetime.now(UTC)
    if stored:
        project.path = f"{server_publish.SERVER_PREFIX}{job_id}/{project.name}"
        project.blueprint_version = result.to_version
        project.answers = {k: v for k, v in result.answers.items() if k != "project_name"}
        project.updated_at = at
    log_activity(
        session,
        "update",
        actor=actor,
        user_id=user_id,
        project_id=project_id,
        target=f"{result.blueprint} {result.to_version}",
        details={
            "blueprint": result.blueprint,
            "from_version": result.from_version,
            "to_version": result.to_version,
            "changed": [c.path for c in result.changes],
            "conflicts": result.conflicts,
            "job_id": job_id,
        },
        at=at,
    )
    return {"project_id": project_id}


def pull_request_possible(ctx: AppContext, user_id: int, project: Project) -> bool:
    """Whether ``user_id`` can update ``project`` as a pull request: it is theirs, it was
    published, and they hold their default credential for its forge host."""
    from codeforge.app.update_pr import origin_target
    from codeforge.core.credentials import DEFAULT_NAME
    from codeforge.db.credentials import find_credential
    from codeforge.errors import CodeForgeError

    provider = project.provider
    if project.owner_id != user_id or not project.remote_url or not provider:
        return False
    try:
        host = origin_target(project.remote_url, lambda _host: provider, "project").host
    except CodeForgeError:
        return False
    with ctx.read() as session:
        return find_credential(session, user_id, provider, host, DEFAULT_NAME) is not None


def check_published(ctx: AppContext, owner_id: int, project_id: int) -> None:
    """In the request of an update as a pull request: the owner's project was published
    (NotFoundError otherwise, as for someone else's project)."""
    from codeforge.db.repositories import get_project
    from codeforge.errors import NotFoundError

    with ctx.read() as session:
        project = get_project(session, project_id, owner_id)
        if not project.remote_url or not project.provider:
            raise NotFoundError(
                f"project {project_id} was never published, so there is no repository "
                "to open a pull request on",
                where="pr",
                hint=f"publish it first: POST /api/v1/projects/{project_id}/publish",
            )
