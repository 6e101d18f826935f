"""``/blueprints``: the catalog, each blueprint's JSON Schema, registration and retirement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from codeforge.api.config import API_PREFIX
from codeforge.api import catalog
from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.schemas import NAME_PATTERN, BlueprintPublic, BlueprintSummary, ComponentPublic
from codeforge.core.schema_export import blueprint_schema, variables_schema

router = APIRouter(prefix=f"{API_PREFIX}/blueprints", tags=["blueprints"])

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
VersionQuery = Annotated[str | None, Query(max_length=100)]


@router.get("", response_model=list[BlueprintSummary])
def list_blueprints(ctx: Ctx, _user: CurrentUser) -> list[BlueprintSummary]:
    """Every blueprint you can generate from (latest version of each)."""
    return [
        BlueprintSummary(
            name=e.name,
            version=e.version,
            description=e.description,
            tags=e.tags,
            source=e.source,
            versions=e.versions,
        )
        for e in catalog.list_entries(ctx)
    ]


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
