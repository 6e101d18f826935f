"""Migrations: from empty to head on both backends, and a cheap no-op at head."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from codeforge.db import migrate
from codeforge.db.engine import engine_for
from codeforge.db.models import Base

TABLES = {
    "users",
    "credentials",
    "api_keys",
    "blueprints",
    "blueprint_archives",
    "projects",
    "activity",
    "jobs",
    "workflows",
    "blueprint_listings",
    "groups",
    "group_members",
    "blueprint_groups",
    "blueprint_stars",
    "alembic_version",
}


def test_upgrade_from_empty_reaches_head(db_url: str) -> None:
    assert migrate.current_revision(db_url) is None

    assert migrate.upgrade(db_url) == migrate.HEAD_REVISION

    assert migrate.current_revision(db_url) == migrate.HEAD_REVISION
    assert set(inspect(engine_for(db_url)).get_table_names()) == TABLES


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate.upgrade(db_url)
    with engine_for(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_head_revision_constant_matches_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [migrate.HEAD_REVISION]


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    assert migrate.upgrade(db_url) == migrate.HEAD_REVISION
    migrate.forget_checked()
    assert migrate.upgrade(db_url) == migrate.HEAD_REVISION


def test_ensure_schema_migrates_once_then_only_checks(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert migrate.ensure_schema(db_url) == migrate.HEAD_REVISION

    def must_not_run(url: str, revision: str = "head") -> str:
        raise AssertionError("ensure_schema ran a migration on a database already at head")

    monkeypatch.setattr(migrate, "upgrade", must_not_run)
    migrate.forget_checked()  # force the database query, not the in-process memo
    assert migrate.ensure_schema(db_url) == migrate.HEAD_REVISION
    assert migrate.ensure_schema(db_url) == migrate.HEAD_REVISION


def test_sqlite_file_and_its_folder_are_created(tmp_path: Path) -> None:
    database = tmp_path / "deep" / "er" / "codeforge.db"

    assert migrate.ensure_schema(f"sqlite:///{database}") == migrate.HEAD_REVISION

    assert database.is_file()


def test_ensure_schema_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'codeforge.db'}"
    migrate.upgrade(url)
    code = (
        "import sys\n"
        "from codeforge.db.migrate import ensure_schema, HEAD_REVISION\n"
        f"assert ensure_schema({url!r}) == HEAD_REVISION\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_database_from_a_newer_codeforge_is_a_clear_error(db_url: str) -> None:
    from sqlalchemy import text

    from codeforge.errors import StoreError

    migrate.upgrade(db_url)
    with engine_for(db_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    migrate.forget_checked()

    with pytest.raises(StoreError, match=r"revision.*9999|9999") as info:
        migrate.ensure_schema(db_url)
    assert info.value.hint


def test_alembic_commands_work_from_the_code_config(db_url: str) -> None:
    """The config built in code drives plain Alembic commands (env.py's URL path)."""
    from alembic import command

    migrate.upgrade(db_url)

    command.check(migrate.alembic_config(db_url))  # raises if models and schema drift
