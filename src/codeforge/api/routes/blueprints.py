"""``/blueprints``: the catalog, each blueprint's JSON Schema, registration and retirement,
and the marketplace (listing changes and stars). A private blueprint the caller may not
see answers 404 on every route, like a missing one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from codeforge.api.auth import Ctx, CurrentUser, Maintainer
from codeforge.api.config import API_PREFIX, PLAIN_TEXT
from codeforge.api.marketplace_schemas import ListingUpdate, StarPublic
from codeforge.api.schemas import (
    NAME_PATTERN,
    BlueprintPublic,
    BlueprintRegistered,
    BlueprintRegisterGit,
    BlueprintSummary,
    ComponentPublic,
    ErrorPublic,
)
from codeforge.app import catalog, listings, register
from codeforge.app.authentication import Principal
from codeforge.app.marketplace import SORTS
from codeforge.core.schema_export import blueprint_schema, variables_schema

router = APIRouter(prefix=f"{API_PREFIX}/blueprints", tags=["blueprints"])

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
VersionQuery = Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)]
SortQuery = Annotated[
    str,
    Query(
        pattern="^(" + "|".join(SORTS) + ")$",
        description="name (default), stars, uses (projects made) or recent (newest registration)",
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorPublic}}


@router.get(
    "",
    response_model=list[BlueprintSummary],
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def list_blueprints(ctx: Ctx, user: CurrentUser, sort: SortQuery = "name") -> Response:
    """Every blueprint you may see and generate from (latest version of each), by ``sort``."""
    import orjson

    cache = ctx.catalog_cache
    if cache is not None and cache.fresh() and sort != "uses":
        snap = catalog.snapshot(ctx)
        if sort == "name" and snap.sees_only_public(user):
            return Response(snap.public_body, media_type="application/json")
        entries = catalog.sort_entries(ctx, snap.visible(user), sort)
    else:
        snap = await run_in_threadpool(catalog.snapshot, ctx)
        entries = await run_in_threadpool(catalog.sort_entries, ctx, snap.visible(user), sort)
    body = orjson.dumps([snap.rows[e.name] for e in entries])
    return Response(body, media_type="application/json")


@router.get("/{name}", response_model=BlueprintPublic, responses=NOT_FOUND)
def get_blueprint(
    ctx: Ctx, user: CurrentUser, name: NameParam, version: VersionQuery = None
) -> BlueprintPublic:
    """One blueprint with the JSON Schema of its variables (build a form from it), and its
    marketplace fields (owner, visibility, featured, deprecated and replacement, stars)."""
    bp, source = catalog.load(ctx, name, version, caller=user)
    snap = catalog.snapshot(ctx)
    row = snap.rows.get(name, {})
    listing = snap.market.listing(name)
    return BlueprintPublic.model_validate(
        {
            **row,
            "name": bp.name,
            "version": bp.version,
            "description": bp.description,
            "tags": list(bp.tags),
            "source": source,
            "versions": row.get("versions", [bp.version]),
            "variables_schema": blueprint_schema(bp),
            "components": sorted(bp.components),
            "formatters": list(bp.formatters),
            "has_tasks": bool(bp.tasks),
            "groups": list(listing.group_names) if snap.market.can_manage(name, user) else [],
            "starred": name in listings.starred(ctx, user),
        }
    )


@router.get("/{name}/components", response_model=list[ComponentPublic], responses=NOT_FOUND)
def list_components(
    ctx: Ctx, user: CurrentUser, name: NameParam, version: VersionQuery = None
) -> list[ComponentPublic]:
    """The components (``codeforge generate KIND``) a blueprint offers, with their variables."""
    bp, _ = catalog.load(ctx, name, version, caller=user)
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
    return register.Actor(user.id, user.name, user.is_admin)


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
    registered = register.register_git(ctx, _actor(user), body.git_url, body.ref, body.visibility)
    return BlueprintRegistered.model_validate(registered)


@router.post(
    "/upload", response_model=BlueprintRegistered, status_code=201, responses=REGISTER_RESPONSES
)
def register_from_archive(
    archive: Annotated[UploadFile, File(description="A zip or tar(.gz) of the blueprint folder")],
    ctx: Ctx,
    user: Maintainer,
    visibility: Annotated[
        Literal["public", "private"] | None,
        Form(description="A new name's visibility (default public)"),
    ] = None,
) -> BlueprintRegistered:
    """Register a blueprint from an uploaded archive (maintainers); extracted under caps."""
    data = archive.file.read(ctx.config.max_upload_bytes + 1)
    registered = register.register_archive(ctx, _actor(user), data, visibility)
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


@router.patch(
    "/{name}",
    response_model=BlueprintSummary,
    responses={**NOT_FOUND, 403: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def update_listing(
    body: ListingUpdate, ctx: Ctx, user: Maintainer, name: NameParam
) -> BlueprintSummary:
    """Mark a blueprint featured, or deprecated with its replacement (maintainers); change
    who sees it, ``visibility`` and ``groups`` (its owner or an admin)."""
    change = listings.ListingChange(**body.model_dump(exclude_unset=True))
    listings.update_listing(ctx, user, user.name, name, change)
    return BlueprintSummary.model_validate(catalog.snapshot(ctx).rows[name])


def _star(ctx: Ctx, user: Principal, name: str, on: bool) -> StarPublic:
    count = listings.set_star(ctx, user, name, on)
    return StarPublic(name=name, starred=on, stars=count)


@router.put("/{name}/star", response_model=StarPublic, responses=NOT_FOUND)
def star(ctx: Ctx, user: CurrentUser, name: NameParam) -> StarPublic:
    """Star a blueprint (idempotent)."""
    return _star(ctx, user, name, True)


@router.delete("/{name}/star", response_model=StarPublic, responses=NOT_FOUND)
def unstar(ctx: Ctx, user: CurrentUser, name: NameParam) -> StarPublic:
    """Take your star back (idempotent)."""
    return _star(ctx, user, name, False)
