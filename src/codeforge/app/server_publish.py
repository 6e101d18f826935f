"""Publish on the server: a user's generated tree to GitHub or GitLab with the user's own token.

The tree is the project's zip in the artifact store (a ``generate`` job's result,
or the one ``POST /projects/generate`` keeps when it is asked to publish), found by
the project's record id. The token is the requesting user's stored credential,
opened only inside the job and handed to the forge client and the git wrapper;
payloads, results, Activity rows and logs carry the credential's *name* only.

The server talks only to the forge hosts its operator allows (``CODEFORGE_FORGE_HOSTS``,
comma-separated; default: each forge's public host), so a caller cannot point it
at an internal address.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

from sqlalchemy.orm import Session

from codeforge.app import user_credentials
from codeforge.app.context import AppContext
from codeforge.app.publish import Publisher, PublishResult, check_request, request_from
from codeforge.app.publish_secrets import CredentialLookup
from codeforge.core.answersfile import ANSWERS_FILE, read_answers_file
from codeforge.core.artifacts import artifact_id_for
from codeforge.core.credentials import (
    DEFAULT_NAME,
    check_account,
    check_name,
    forge_named,
    normalise_host,
)
from codeforge.core.publishing import PublishingForge
from codeforge.db.credentials import find_credential
from codeforge.db.models import Project
from codeforge.db.repositories import get_project, log_activity
from codeforge.errors import (
    ConflictError,
    CredentialError,
    NotFoundError,
    SecurityError,
    UsageError,
    ValidationError,
)
from codeforge.integrations.git import init_and_commit
from codeforge.integrations.gitpush import HttpsPusher

HOSTS_ENV: Final = "CODEFORGE_FORGE_HOSTS"
_API_NAMES: Final = {"--repo": "publish.repo", "--topic": "publish.topics"}
SERVER_PREFIX: Final = "api:"
COMMIT_NAME: Final = "CodeForge"
COMMIT_EMAIL: Final = "codeforge@localhost"
# Credential keys: (provider, host, name).
Key = tuple[str, str, str]


def allowed_hosts(ctx: AppContext, env: Mapping[str, str] | None = None) -> set[str]:
    """The forge hosts this server may publish to (normalised)."""
    env = os.environ if env is None else env
    listed = [h for h in env.get(HOSTS_ENV, "").split(",") if h.strip()]
    if listed:
        return {normalise_host(h) for h in listed}
    return {normalise_host(f.default_host) for f in ctx.plugins.forges().values()}


def target(ctx: AppContext, options: Mapping[str, Any]) -> tuple[PublishingForge, Key]:
    """The forge and the credential key the options name; errors for what cannot be used."""
    forge = forge_named(ctx.plugins.forges().values(), str(options["to"]))
    if not hasattr(forge, "repos"):
        raise ValidationError(f"the forge {forge.name!r} cannot publish", where="publish.to")
    host = normalise_host(options.get("host") or forge.default_host)
    if host not in allowed_hosts(ctx):
        raise SecurityError(
            f"this server does not publish to {host}",
            where="publish.host",
            hint=f"the server's operator lists the forge hosts allowed in {HOSTS_ENV}",
        )
    name = check_name(options.get("credential") or DEFAULT_NAME)
    publishing: PublishingForge = forge  # type: ignore[assignment]  # has `repos`, checked above
    return publishing, (forge.name, host, name)


def check(ctx: AppContext, session: Session, user_id: int, options: Mapping[str, Any]) -> Key:
    """In the request: the options are valid and the user has the credential (not opened)."""
    _, key = target(ctx, options)
    try:
        check_request(request_from(Path("project"), key[0], key[1], options))
    except UsageError as exc:  # named as the API calls them, not as CLI flags
        where = _API_NAMES.get(exc.where or "", "publish")
        raise ValidationError(exc.message, where=where, hint=exc.hint) from None
    if find_credential(session, user_id, *key) is None:
        raise NotFoundError(
            f"you have no {key[0]} credential {key[2]!r} for {key[1]}",
            where="publish.credential",
            hint=f"store one first: PUT /api/v1/credentials/{key[0]}",
        )
    return key


def tree_id(project: Project) -> str:
    """The artifact id of the project's generated tree (its record id's zip)."""
    record_id = project.path.removeprefix(SERVER_PREFIX).split("/", 1)[0]
    if not project.path.startswith(SERVER_PREFIX) or not record_id:
        raise ConflictError(f"project {project.id} was not generated on this server")
    return artifact_id_for(record_id, "zip")


def owned_tree(ctx: AppContext, session: Session, user_id: int, project_id: int) -> Project:
    """The user's own project whose tree is still stored; 404 for anyone else's."""
    project = get_project(session, project_id, user_id)
    check_stored(ctx, project)
    return project


def check_stored(ctx: AppContext, project: Project) -> None:
    """A ConflictError unless the project's generated tree is still stored."""
    try:
        ctx.artifacts.results.size(tree_id(project))
    except NotFoundError:
        raise ConflictError(
            f"the generated tree of project {project.id} is no longer stored",
            where="project",
            hint='generate it again with "publish": {...} (stored trees expire like job results)',
        ) from None


def read_tree(ctx: AppContext, project: Project) -> bytes:
    """The project's zip from the artifact store."""
    with ctx.artifacts.results.open(tree_id(project)) as stream:
        return stream.read()


def publish_zip(
    ctx: AppContext,
    user_id: int,
    data: bytes,
    options: Mapping[str, Any],
    *,
    message: str,
    date: datetime,
) -> PublishResult:
    """Unpack ``data`` (one folder: the project), commit it, and publish it with the user's token.

    The commit's identity and ``date`` are fixed, so a retried job makes the same
    commit and finds the repository it created holding it.
    """
    forge, key = target(ctx, options)
    with ctx.factory.begin() as session:
        token = user_credentials.token(session, ctx, user_id, key)
    account = check_account(forge, key[1], token, f"your credential {key[2]!r}")  # type: ignore[arg-type]
    repos = forge.repos(key[1], token, account.login)
    with tempfile.TemporaryDirectory(prefix="codeforge-publish-") as scratch:
        root = unpack(data, Path(scratch))
        init_and_commit(
            root, message, author_name=COMMIT_NAME, author_email=COMMIT_EMAIL, date=date.isoformat()
        )
        secrets = tree_secrets(ctx, user_id, root, key)
        request = request_from(root, forge.name, key[1], options, secrets=secrets)
        publisher = Publisher(repos, HttpsPusher(), None, lambda: datetime.now(UTC))
        return publisher.publish(request)


def tree_secrets(ctx: AppContext, user_id: int, root: Path, key: Key) -> dict[str, str]:
    """The CI secrets the tree's blueprint declares, from the user's own stored credentials.

    Secret answers never reach a job, so a secret from an answer has no value here: a
    required one fails the job before anything is sent, an optional one is left out.
    """
    from codeforge.app import catalog
    from codeforge.app.publish_secrets import resolve_secrets
    from codeforge.core.answers import Evaluator

    if not (root / ANSWERS_FILE).is_file():
        return {}
    recorded = read_answers_file(root)
    # Only the secrets' declarations of the blueprint that made the caller's own project
    # are read here (nothing of it is shown): no visibility check, as for the local user.
    engine, ref = catalog.resolve(
        ctx, recorded.blueprint_name, recorded.blueprint_version, caller=None
    )
    loaded = engine.load_blueprint(ref)
    blueprint = loaded.blueprint
    if blueprint.publish is None or not blueprint.publish.secrets:
        return {}
    evaluator = Evaluator(engine.environment(blueprint.template_root))
    context = {**recorded.answers, "project_name": root.name}
    lookup = _own_credentials(ctx, user_id)
    try:
        # On a server every blueprint is a built-in or was registered by a maintainer,
        # the role that vouches for a blueprint there: it may name the caller's credential.
        trusted = loaded.source.trusted or loaded.source.kind == "registered"
        return resolve_secrets(
            blueprint, evaluator, context, (key[0], key[1]), lookup, trusted=trusted
        )
    except UsageError as exc:
        raise ValidationError(
            exc.message,
            where=exc.where,
            hint="secret answers never reach a job: publish this project with "
            "`codeforge publish` (CODEFORGE_PUBLISH_SECRET_<NAME>)",
        ) from None


def _own_credentials(ctx: AppContext, user_id: int) -> CredentialLookup:
    def lookup(provider: str, host: str, name: str | None) -> str:
        forge = forge_named(ctx.plugins.forges().values(), provider)
        key = (forge.name, normalise_host(host or forge.default_host), name or DEFAULT_NAME)
        with ctx.factory.begin() as session:
            try:
                return user_credentials.token(session, ctx, user_id, key)
            except NotFoundError:
                raise CredentialError(
                    f"you have no {key[0]} credential {key[2]!r} for {key[1]}",
                    hint=f"store one first: PUT /api/v1/credentials/{key[0]}",
                ) from None

    return lookup


def unpack(data: bytes, dest: Path) -> Path:
    """Write the zip's one top folder under ``dest``; its path. Refuses paths that leave it."""
    tops: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if not parts or info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
                raise SecurityError(f"unsafe path {info.filename!r} in the stored tree")
            tops.add(parts[0])
            target_path = dest.joinpath(*parts)
            mode = info.external_attr >> 16
            if info.is_dir():
                target_path.mkdir(parents=True, exist_ok=True)
                continue
            target_path.parent.mkdir(parents=True, exist_ok=True)
            body = archive.read(info)
            if stat.S_ISLNK(mode):
                _link(dest, target_path, body.decode("utf-8", "surrogateescape"))
                continue
            fd = os.open(target_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.chmod(target_path, (mode & 0o777) or 0o644)
    if len(tops) != 1:
        raise ConflictError("the stored tree is not one project folder")
    return dest / tops.pop()


def _link(root: Path, path: Path, link: str) -> None:
    resolved = Path(os.path.normpath(path.parent / link))
    if os.path.isabs(link) or not resolved.is_relative_to(root):
        raise SecurityError(f"the link {path.name} in the stored tree points outside it")
    os.symlink(link, path)


def record(
    session: Session,
    project_id: int,
    result: PublishResult,
    *,
    actor: str,
    user_id: int,
    job_id: str,
    at: datetime,
) -> None:
    """Note the remote on the project row and log a ``publish`` Activity (never the token)."""
    project = get_project(session, project_id, user_id)
    project.provider, project.remote_url, project.published_at = (
        result.provider,
        result.web_url,
        at,
    )
    log_activity(
        session,
        "publish",
        actor=actor,
        user_id=user_id,
        project_id=project_id,
        target=result.web_url,
        details={"provider": result.provider, "host": result.host, "job_id": job_id},
        at=at,
    )
