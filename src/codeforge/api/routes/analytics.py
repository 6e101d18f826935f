"""``/analytics``: usage over the last days, for maintainers and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from codeforge.api.auth import Ctx, Maintainer
from codeforge.api.config import API_PREFIX
from codeforge.app import analytics

router = APIRouter(prefix=f"{API_PREFIX}/analytics", tags=["analytics"])


class BlueprintDays(BaseModel):
    blueprint: str
    counts: list[int]  # one per day of ``days``
    total: int


class VersionUse(BaseModel):
    version: str
    projects: int


class BlueprintVersions(BaseModel):
    blueprint: str
    versions: list[VersionUse]


class JobKindStats(BaseModel):
    kind: str
    finished: int
    failed: int
    error_rate: float | None
    p50_seconds: float | None
    p95_seconds: float | None


class AnalyticsPublic(BaseModel):
    since: date
    days: list[date]
    generations: list[BlueprintDays]  # most generations first
    versions: list[BlueprintVersions]
    jobs: list[JobKindStats]


def public(found: analytics.Analytics) -> AnalyticsPublic:
    return AnalyticsPublic(
        since=found.since,
        days=found.days,
        generations=[
            BlueprintDays(blueprint=name, counts=found.per_day[name], total=total)
            for name, total in found.top
        ],
        versions=[
            BlueprintVersions(
                blueprint=name, versions=[VersionUse(version=v, projects=n) for v, n in rows]
            )
            for name, rows in found.versions.items()
        ],
        jobs=[JobKindStats.model_validate(j, from_attributes=True) for j in found.jobs],
    )


@router.get("", response_model=AnalyticsPublic)
def get_analytics(
    ctx: Ctx, user: Maintainer, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> AnalyticsPublic:
    """Generations per day and blueprint, versions in use (recorded projects), and per job
    kind the p50/p95 duration and the error rate, over the last ``days`` days (UTC)."""
    return public(analytics.summary(ctx, days, caller=user))
