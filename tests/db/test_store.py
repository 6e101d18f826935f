"""ProjectStore: the facade the CLI uses, on both backends."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_support import CODEFORGE
from postgres_support import (
    postgres_admin_url,
    require_postgres,
    temporary_database,
)
from sqlalchemy import func, select

from codeforge.core import journal
from codeforge.core.records import GenerationRecord
from codeforge.db.engine import redact_url, session_factory
from codeforge.db.models import Activity, Project
from codeforge.db.store import ProjectStore
from codeforge.errors import NotFoundError, StoreError, ValidationError

RECORDS = 8
PASSWORD = "s3cr3t-Pa55"


def make_record(n: int, **overrides: Any) -> GenerationRecord:
    fields: dict[str, Any] = {
        "project_name": f"p{n}",
        "path": f"/work/p{n}",
        "blueprint_name": "lib-python",
        "blueprint_version": "1.0.0",
        "blueprint_source": "builtin:lib-python",
        "answers": {"project_name": f"p{n}", "n": n},
    }
    fields.update(overrides)
    return GenerationRecord(**fields)


def counts(url: str) -> tuple[int, int]:
    with session_factory(url).begin() as session:
        projects = session.scalar(select(func.count()).select_from(Project))
        activity = session.scalar(select(func.count()).select_from(Activity))
    return int(projects or 0), int(activity or 0)


def test_ensure_creates_the_schema_and_record_writes(db_url: str, tmp_path: Path) -> None:
    store = ProjectStore(db_url, data_dir=tmp_path)
    assert store.ensure() == store.ensure()

    project = store.record(make_record(1))

    assert project["name"] == "p1"
    assert store.list_projects() == [project]
    assert counts(db_url) == (1, 1)


def test_ingest_journal_is_idempotent(db_url: str, tmp_path: Path) -> None:
    records = [journal.append(tmp_path, make_record(n), store_url=db_url) for n in range(RECORDS)]
    store = ProjectStore(db_url, data_dir=tmp_path)

    assert store.ingest_journal() == RECORDS
    assert store.ingest_journal() == 0
    # Records written straight to the store earlier are skipped, not duplicated.
    journal.append(tmp_path, records[0], store_url=db_url)
    assert store.ingest_journal() == 0

    assert counts(db_url) == (RECORDS, RECORDS)
    assert journal.read_pending(tmp_path) == []


def test_list_projects_ingests_pending_records_first(db_url: str, tmp_path: Path) -> None:
    journal.append(
        tmp_path,
        make_record(1, answers={"project_name": "p1", "tags": ["a", "b"]}),
        store_url=db_url,
    )

    projects = ProjectStore(db_url, data_dir=tmp_path).list_projects()

    assert [(p["name"], p["answers"]["tags"]) for p in projects] == [("p1", ["a", "b"])]
    assert projects[0]["created_at"].endswith("+00:00")


def test_failure_midway_then_reingest_gives_one_row_per_record(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(RECORDS):
        journal.append(tmp_path, make_record(n), store_url=db_url)
    store = ProjectStore(db_url, data_dir=tmp_path)
    original = ProjectStore._write
    calls = 0

    def failing(self: ProjectStore, record: GenerationRecord) -> tuple[dict[str, Any], bool]:
        nonlocal calls
        calls += 1
        if calls == RECORDS // 2:
            raise StoreError("database went away")
        return original(self, record)

    monkeypatch.setattr(ProjectStore, "_write", failing)
    with pytest.raises(StoreError):
        store.ingest_journal()
    assert counts(db_url) == (RECORDS // 2 - 1, RECORDS // 2 - 1)

    monkeypatch.setattr(ProjectStore, "_write", original)
    assert store.ingest_journal() == RECORDS - (RECORDS // 2 - 1)
    assert counts(db_url) == (RECORDS, RECORDS)


def ingest_then_die(url: str, data_dir: str, die_after: int) -> None:
    """Runs in a child process: ingest, then die hard in the middle."""
    original = ProjectStore._write
    calls = 0

    def dying(self: ProjectStore, record: GenerationRecord) -> tuple[dict[str, Any], bool]:
        nonlocal calls
        if calls == die_after:
            os._exit(17)  # no cleanup, no finally blocks: like a kill -9
        calls += 1
        return original(self, record)

    ProjectStore._write = dying  # type: ignore[method-assign]
    ProjectStore(url, data_dir=Path(data_dir)).ingest_journal()


def test_process_killed_midway_then_reingest_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    for n in range(RECORDS):
        journal.append(tmp_path, make_record(n), store_url=db_url)
    ProjectStore(db_url).ensure()

    child = multiprocessing.get_context("spawn").Process(
        target=ingest_then_die, args=(db_url, str(tmp_path), 3)
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 17
    assert counts(db_url) == (3, 3)
    journal.append(tmp_path, make_record(100), store_url=db_url)  # a new record after the crash

    assert ProjectStore(db_url, data_dir=tmp_path).ingest_journal() == RECORDS - 3 + 1
    assert counts(db_url) == (RECORDS + 1, RECORDS + 1)
    assert journal.read_pending(tmp_path) == []


def test_a_record_for_an_unknown_user_is_set_aside(db_url: str, tmp_path: Path) -> None:
    journal.append(tmp_path, make_record(1, actor="ghost"), store_url=db_url)
    journal.append(tmp_path, make_record(2), store_url=db_url)

    assert ProjectStore(db_url, data_dir=tmp_path).ingest_journal() == 1
    assert journal.read_pending(tmp_path) == []
    assert "ghost" in (tmp_path / journal.REJECTED_NAME).read_text()


ANSWERS_FILE = """\
# Written by CodeForge. It is what `codeforge update` starts from.
blueprint:
  name: web-fastapi
  version: 1.0.0
  source: builtin:web-fastapi
codeforge_version: 0.1.0
answers:
  project_name: shop-api
  database: postgresql
  released: 2024-05-01
components: []
"""


def test_add_from_answers_file(db_url: str, tmp_path: Path) -> None:
    project_dir = tmp_path / "shop-api"
    project_dir.mkdir()
    (project_dir / ".codeforge-answers.yml").write_text(ANSWERS_FILE)
    store = ProjectStore(db_url)

    added = store.add_from_answers_file(project_dir)
    again = store.add_from_answers_file(project_dir)

    assert added["id"] == again["id"]
    assert added["name"] == "shop-api"
    assert added["path"] == str(project_dir.resolve())
    assert (added["blueprint_name"], added["blueprint_version"]) == ("web-fastapi", "1.0.0")
    assert added["answers"] == {
        "project_name": "shop-api",
        "database": "postgresql",
        "released": "2024-05-01",
    }
    assert counts(db_url) == (1, 2)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, NotFoundError, "no .codeforge-answers.yml"),
        ("blueprint: [1, 2\n", ValidationError, "invalid YAML"),
        ("- a list\n", ValidationError, "must be a mapping"),
        ("answers: {}\n", ValidationError, "'blueprint' mapping"),
        ("blueprint: {name: x, version: '', source: s}\n", ValidationError, "blueprint.version"),
        (
            "blueprint: {name: x, version: 1, source: s}\nanswers: [1]\n",
            ValidationError,
            "'answers' must be a mapping",
        ),
        (
            "a: &a [1, 2]\nblueprint: {name: x, version: 1, source: s}\nanswers: {b: *a}\n",
            ValidationError,
            "aliases",
        ),
    ],
)
def test_bad_answers_files_are_clear_errors(
    tmp_path: Path, content: str | None, error: type[Exception], message: str
) -> None:
    if content is not None:
        (tmp_path / ".codeforge-answers.yml").write_text(content)
    store = ProjectStore(f"sqlite:///{tmp_path / 'db' / 'codeforge.db'}")

    with pytest.raises(error, match=message) as info:
        store.add_from_answers_file(tmp_path)
    if error is ValidationError:
        assert ".codeforge-answers.yml" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://ada:{PASSWORD}@db.example:5432/cf", "postgresql+psycopg://***@db.example:5432/cf"),
        ("postgresql://ada@db/cf", "postgresql://***@db/cf"),
        ("sqlite:////var/lib/codeforge.db", "sqlite:////var/lib/codeforge.db"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def assert_no_secret(error: StoreError) -> None:
    shown = " ".join(str(part) for part in (error, error.message, error.where, error.hint))
    assert PASSWORD not in shown
    assert PASSWORD not in repr(error)
    assert "***@" in shown


def test_unreachable_server_error_has_no_password() -> None:
    store = ProjectStore(f"postgresql+psycopg://ada:{PASSWORD}@127.0.0.1:1/cf?connect_timeout=2")
    assert PASSWORD not in repr(store)

    with pytest.raises(StoreError) as info:
        store.ensure()
    assert_no_secret(info.value)


@pytest.mark.postgres
def test_real_server_error_has_no_password() -> None:
    admin = postgres_admin_url()
    require_postgres(admin)
    from sqlalchemy.engine import make_url

    url = make_url(admin).set(password=PASSWORD, database="codeforge_no_such_database")
    store = ProjectStore(url.render_as_string(hide_password=False))

    with pytest.raises(StoreError, match="codeforge_no_such_database") as info:
        store.list_projects()
    assert_no_secret(info.value)


def test_unusable_sqlite_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(StoreError, match="database folder"):
        ProjectStore(f"sqlite:///{blocker / 'sub' / 'codeforge.db'}").ensure()


def record_all(url: str, start: int) -> None:
    """Runs in a child process: first use of a fresh database, racing the others."""
    store = ProjectStore(url)
    for n in range(RECORDS):
        store.record(make_record((start + n) % RECORDS, record_id=f"rec-{(start + n) % RECORDS}"))


def test_concurrent_first_use_and_writes_from_processes(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=record_all, args=(db_url, start)) for start in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0

    assert counts(db_url) == (RECORDS, RECORDS)


def _console(*args: str, cwd: Path, database_url: str | None = None) -> Any:
    """The real console script; ``database_url`` set means CODEFORGE_DATABASE_URL points there."""
    env = {k: v for k, v in os.environ.items() if k != "CODEFORGE_DATABASE_URL"}
    if database_url is not None:
        env["CODEFORGE_DATABASE_URL"] = database_url
    proc = subprocess.run(
        [str(CODEFORGE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _listed(cwd: Path, database_url: str | None = None) -> list[str]:
    proc = _console("list", "projects", "--json", cwd=cwd, database_url=database_url)
    return sorted(p["name"] for p in json.loads(proc.stdout))


@pytest.mark.postgres
def test_records_stay_in_the_database_they_were_made_for(
    tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    """SQLite projects never move into PostgreSQL when it is configured, nor back."""
    with temporary_database("codeforge_stores") as pg_url:
        for name in ("lite1", "lite2"):  # the embedded default: journalled for SQLite
            _console("init", name, "-t", "lib-python", "--defaults", "--no-git", cwd=tmp_path)
        assert _listed(tmp_path, pg_url) == []  # PostgreSQL ingests none of them
        _console(
            "init",
            "pg1",
            "-t",
            "lib-python",
            "--defaults",
            "--no-git",
            cwd=tmp_path,
            database_url=pg_url,
        )
        assert _listed(tmp_path, pg_url) == ["pg1"]
        assert _listed(tmp_path) == ["lite1", "lite2"]  # still there, and only there
        assert _listed(tmp_path, pg_url) == ["pg1"]

        # Lines for both stores in one journal: each read takes its own, leaves the other's.
        data = isolated_dirs["data"]
        journal.append(data, make_record(7, path=str(tmp_path / "p7")), store_url=pg_url)
        _console("init", "lite3", "-t", "lib-python", "--defaults", "--no-git", cwd=tmp_path)
        assert _listed(tmp_path) == ["lite1", "lite2", "lite3"]
        assert [r.project_name for r in journal.read_pending(data)] == ["p7"]
        assert _listed(tmp_path, pg_url) == ["p7", "pg1"]
        assert journal.read_pending(data) == []
        assert _listed(tmp_path) == ["lite1", "lite2", "lite3"]


def test_a_journalled_publish_is_applied_once_to_the_project_at_its_path(
    db_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from codeforge.core.records import publish_record

    at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    journal.append(tmp_path, make_record(1), store_url=db_url)
    published = publish_record("/work/p1", "github", "https://github.com/acme/p1", at)
    stray = publish_record("/work/none", "gitlab", "https://gitlab.com/acme/none", at)
    for record in (published, stray, published):  # the same line twice: applied once
        journal.append(tmp_path, record, store_url=db_url)
    store = ProjectStore(db_url, data_dir=tmp_path)

    [project] = store.list_projects()

    assert (project["provider"], project["remote_url"]) == ("github", "https://github.com/acme/p1")
    assert project["published_at"].startswith("2026-12-05T09:00:00")
    with session_factory(db_url).begin() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "publish")).all()
        assert sorted((r.target, r.project_id is not None) for r in rows) == [
            ("https://github.com/acme/p1", True),
            ("https://gitlab.com/acme/none", False),
        ]
    assert counts(db_url) == (1, 3) and journal.read_pending(tmp_path) == []


def test_a_journalled_workflow_stage_is_applied_once_to_the_project_at_its_path(
    db_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from codeforge.core.records import workflow_record

    at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    journal.append(tmp_path, make_record(1), store_url=db_url)
    result = {"stage": "build", "status": "succeeded", "outputs": {"image": "p1:latest"}}
    built = workflow_record("/work/p1", result, at)
    stray = workflow_record(str(tmp_path / "gone"), {**result, "stage": "deploy"}, at)
    for record in (built, stray, built):  # the same line twice: applied once
        journal.append(tmp_path, record, store_url=db_url)
    store = ProjectStore(db_url, data_dir=tmp_path)

    [project] = store.list_projects()

    assert project["workflow"] == "build: succeeded"
    with session_factory(db_url).begin() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "workflow")).all()
        assert sorted((r.target, r.project_id is not None) for r in rows) == [
            ("build", True),
            ("deploy", False),  # no project there and no answers file: logged all the same
        ]
        assert {r.target: r.details["outputs"] for r in rows}["build"] == {"image": "p1:latest"}
    assert counts(db_url) == (1, 3) and journal.read_pending(tmp_path) == []
