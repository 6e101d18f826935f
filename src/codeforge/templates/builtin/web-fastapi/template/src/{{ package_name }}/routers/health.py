"""Liveness endpoint, used by the container health check."""

{% if database != "none" -%}
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from {{ package_name }}.db import get_session

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
    """Report that the service and its database answer."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
{% else -%}
from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """Report that the service answers."""
    return {"status": "ok"}
{% endif -%}
