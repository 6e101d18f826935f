"""Workflow stage results in the database (migration 0007), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile
from codeforge.db import migrate
from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Workflow
from codeforge.db.store import ProjectStore

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def result(stage: str, status: str, **outputs: str) -> dict[str, object]:
    return {
        "stage": stage,
        "status": status,
        "inputs_key": "k" * 64,
        "started_at": AT.isoformat(),
        "duration": 1.5,
        "outputs": outputs,
        "step": "",
        "tail": [],
    }


def make_project(root: Path) -> Path:
    root.mkdir()
    af = AnswersFile("lib-python", "1.0.0", "builtin:lib-python", {"project_name": root.name})
    (root / ANSWERS_FILE).write_bytes(af.dump())
    return root


def test_results_are_kept_per_stage_logged_and_listed(db_url: str, tmp_path: Path) -> None:
    store = ProjectStore(db_url, data_dir=tmp_path / "data")
    project = make_project(tmp_path / "demo")

    # A project not recorded yet is recorded from its answers file first.
    recorded = store.record_workflow(project, result("verify", "succeeded"), AT)
    assert recorded["path"] == str(project.resolve())
    store.record_workflow(project, result("build", "succeeded", version="0.1.0"), AT)
    store.record_workflow(project, result("verify", "failed"), AT)

    with session_factory(db_url).begin() as session:
        row = session.scalars(select(Workflow)).one()
        assert (row.last_stage, row.last_status) == ("verify", "failed")
        assert row.stages["build"]["outputs"] == {"version": "0.1.0"}
        assert row.stages["verify"]["status"] == "failed"
        logged = session.scalars(select(Activity).where(Activity.action == "workflow")).all()
        assert [(a.target, a.details["status"]) for a in logged] == [
            ("verify", "succeeded"),
            ("build", "succeeded"),
            ("verify", "failed"),
        ]
    assert [p["workflow"] for p in store.list_projects()] == ["verify: failed"]

    store.remove(str(project))
    with session_factory(db_url).begin() as session:
        assert session.scalars(select(Workflow)).all() == []


def test_the_migration_goes_down_and_up_again(db_url: str) -> None:
    assert migrate.upgrade(db_url, "0007") == "0007"
    from alembic import command

    command.downgrade(migrate.alembic_config(db_url), "0006")
    assert migrate.current_revision(db_url) == "0006"
    command.upgrade(migrate.alembic_config(db_url), "0007")
    assert migrate.current_revision(db_url) == "0007"
