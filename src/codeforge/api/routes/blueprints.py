"""``/blueprints``: the catalog, each blueprint's JSON Schema, registration and retirement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from codeforge.api.auth import Ctx, CurrentUser, Maintainer
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.schemas import (
    NAME_PATTERN,
    BlueprintPublic,
    BlueprintRegistered,
    BlueprintRegisterGit,
    BlueprintSummary,
    ComponentPublic,
    ErrorPublic,
)
from codeforge.app import catalog, register
from codeforge.app.authentication import Principal
from codeforge.core.schema_export import blueprint_schema, variables_schema

router = APIRouter(prefix=f"{API_PREFIX}/blueprints", tags=["blueprints"])

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
VersionQuery = Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)]


@router.get(
    "",
    response_model=list[BlueprintSummary],
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def list_blueprints(ctx: Ctx, _user: CurrentUser) -> Response:
    """Every blueprint you can generate from (latest version of each)."""
    cache = ctx.catalog_cache
    if cache is not None and cache.fresh():
        snap = catalog.snapshot(ctx)
    else:
        snap = await run_in_threadpool(catalog.snapshot, ctx)
    return Response(snap.body, media_type="application/json")


@router.get("/{name}", response_model=BlueprintPublic)
def get_blueprint(
    ctx: Ctx, _user: CurrentUser, name: NameParam, version: VersionQuery = None
) -> BlueprintPublic:
    """One blueprint with the JSON Schema of its variables (build a form from it)."""
    bp, source = catalog.load(ctx, name, version)
    versions = [e.versions for e in catalog.list_entries(ctx) if e.name == name]
    return BlueprintPublic(
        name=bp.name,
        version=bp.version,
        description=bp.description,
        tags=list(bp.tags),
        source=source,
        versions=versions[0] if versions else [bp.version],
        variables_schema=blueprint_schema(bp),
        components=sorted(bp.components),
        formatters=list(bp.formatters),
        has_tasks=bool(bp.tasks),
    )


@router.get("/{name}/components", response_model=list[ComponentPublic])
def list_components(
    ctx: Ctx, _user: CurrentUser, name: NameParam, version: VersionQuery = None
) -> list[ComponentPublic]:
    """The components (``codeforge generate KIND``) a blueprint offers, with their variables."""
    bp, _ = catalog.load(ctx, name, version)
    return [
        ComponentPublic(
            name=comp.name,
            description=comp.description,
            variables_schema=variables_schema(
                comp.variables, title=f"{bp.name} {comp.name}", description=comp.description
            ),
        )
        for comp in sorted(bp.components.values(), key=lambda c: c.name)
    ]


def _actor(user: Principal) -> register.Actor:
    return register.Actor(user.id, user.name)


REGISTER_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic},
    422: {"model": ErrorPublic},
}


@router.post("", response_model=BlueprintRegistered, status_code=201, responses=REGISTER_RESPONSES)
def register_from_git(
    body: BlueprintRegisterGit, ctx: Ctx, user: Maintainer
) -> BlueprintRegistered:
    """Register a blueprint from a public https git repository (maintainers).

    Loopback, private and link-local hosts are refused after DNS resolution, and
    redirects are not followed. The blueprint's tasks never run from the API.
    """
    registered = register.register_git(ctx, _actor(user), body.git_url, body.ref)
    return BlueprintRegistered.model_validate(registered)


@router.post(
    "/upload", response_model=BlueprintRegistered, status_code=201, responses=REGISTER_RESPONSES
)
def register_from_archive(
    archive: Annotated[UploadFile, File(description="A zip or tar(.gz) of the blueprint folder")],
    ctx: Ctx,
    user: Maintainer,
) -> BlueprintRegistered:
    """Register a blueprint from an uploaded archive (maintainers); extracted under caps."""
    data = archive.file.read(ctx.config.max_upload_bytes + 1)
    registered = register.register_archive(ctx, _actor(user), data)
    return BlueprintRegistered.model_validate(registered)


@router.delete(
    "/{name}",
    response_model=list[BlueprintRegistered],
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def retire(
    ctx: Ctx, user: Maintainer, name: NameParam, version: VersionQuery = None
) -> list[BlueprintRegistered]:
    """Retire a registered blueprint (every version, or ``?version=``); built-ins cannot be."""
    retired = register.retire(ctx, _actor(user), name, version)
    return [BlueprintRegistered.model_validate(r) for r in retired]
