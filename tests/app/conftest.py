"""Fixtures for the use-case tests: a server context on a fresh SQLite database, a user;
and the blueprint factory's, for the local use cases (check, diff, update)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from blueprint_factory import blueprint, codeforge_dirs, engine, out  # noqa: F401
from postgres_support import reset_engines

from codeforge.app.context import AppContext, build_context
from codeforge.app.register import Actor
from codeforge.plugins.manager import build_plugins
from codeforge.settings import load_settings


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'app.db'}"
    reset_engines()


@pytest.fixture
def ctx(db_url: str) -> AppContext:
    """A context with only the built-in plugins."""
    settings = load_settings(overrides={"database_url": db_url})
    return build_context(settings, plugins=build_plugins({}))


@pytest.fixture
def maya(ctx: AppContext) -> Actor:
    """A maintainer."""
    from codeforge.db.repositories import create_user

    with ctx.factory.begin() as session:
        return Actor(create_user(session, "maya", "maintainer").id, "maya")
