"""Registered blueprints: fetching them (git or uploaded archive) safely, and materialising them."""

from __future__ import annotations

from pathlib import Path

from codeforge.api.context import AppContext
from codeforge.core.errors import NotFoundError


def materialise(ctx: AppContext, source: str) -> Path:
    raise NotFoundError(f"cannot fetch {source}")
