"""The ``update``, ``check`` and ``diff`` commands: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import snapshot
from cli_support import invoke

from codeforge.core.engine import SDLCEngine

FILES = {"a.txt": "one\ntwo\nthree\n", "b.txt": "b\n"}
FILES_V2 = {"a.txt": "one\ntwo\nTHREE\n", "b.txt": "b\n", "c.txt": "new\n"}


@pytest.fixture
def setup(blueprint: Callable[..., Path], engine: SDLCEngine, out: Path) -> tuple[Path, Path, Path]:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0"}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=False)
    return out / "demo", bp1, bp2


def test_check_exit_codes(setup: tuple[Path, Path, Path]) -> None:
    project, _, bp2 = setup
    code, stdout, _ = invoke("check", str(project))
    assert (code, stdout) == (0, "tiny 1.0.0 is up to date.\n")
    code, stdout, _ = invoke("check", str(project), "-t", str(bp2), "--json")
    assert code == 100
    data = json.loads(stdout)
    assert data["current"] == "1.0.0" and data["latest"] == "2.0.0"
    assert data["update_available"] is True


def test_check_outside_a_project(tmp_path: Path) -> None:
    code, _, stderr = invoke("check", str(tmp_path))
    assert code == 8 and "has no .codeforge-answers.yml" in stderr


def test_diff_prints_a_unified_diff_and_writes_nothing(setup: tuple[Path, Path, Path]) -> None:
    project, _, bp2 = setup
    before = snapshot(project)
    code, stdout, _ = invoke("diff", str(project), "-t", str(bp2))
    assert code == 0
    assert "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n two\n-three\n+THREE\n" in stdout
    assert "--- /dev/null\n+++ b/c.txt\n" in stdout
    assert '\n-  version: "1.0.0"\n' in stdout and '\n+  version: "2.0.0"\n' in stdout
    assert snapshot(project) == before
    code, _, _ = invoke("diff", str(project), "-t", str(bp2), "--exit-code")
    assert code == 100


def test_update_dry_run_then_update(setup: tuple[Path, Path, Path]) -> None:
    project, _, bp2 = setup
    before = snapshot(project)
    code, stdout, _ = invoke("update", str(project), "-t", str(bp2), "--dry-run")
    assert code == 0 and "would update 3 file(s)" in stdout
    assert snapshot(project) == before
    code, stdout, _ = invoke("update", str(project), "-t", str(bp2), "--defaults", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert {c["path"]: c["action"] for c in data["changes"]} == {
        "a.txt": "update",
        "c.txt": "add",
        ".codeforge-answers.yml": "update",
    }
    assert (project / "c.txt").read_text() == "new\n"


def test_update_reports_conflicts(setup: tuple[Path, Path, Path]) -> None:
    project, _, bp2 = setup
    (project / "a.txt").write_text("one\ntwo\nmine\n")
    code, stdout, stderr = invoke("update", str(project), "-t", str(bp2), "--conflict", "rej")
    assert code == 102  # written, with conflicts left to resolve
    assert "conflict a.txt.rej" in stdout.replace("  ", " ")
    assert "conflicts: a.txt.rej" in stderr
    assert (project / "a.txt").read_text() == "one\ntwo\nmine\n"


def test_update_journal_records_activity(
    setup: tuple[Path, Path, Path], codeforge_dirs: dict[str, Path]
) -> None:
    from codeforge.core import journal
    from codeforge.settings import default_database_url

    project, _, bp2 = setup
    code, _, _ = invoke("update", str(project), "-t", str(bp2))
    assert code == 0
    default = default_database_url(codeforge_dirs["data"])  # the embedded store it is for
    with journal.claim(codeforge_dirs["data"], journal.StoreKey.for_url(default, default)) as batch:
        updates = [r for r in batch.records if r.action == "update"]
    assert len(updates) == 1
    assert updates[0].details["from_version"] == "1.0.0"
    assert updates[0].details["to_version"] == "2.0.0"


def test_update_becomes_an_activity_row(
    setup: tuple[Path, Path, Path], codeforge_dirs: dict[str, Path]
) -> None:
    from postgres_support import reset_engines
    from sqlalchemy import select

    from codeforge.db.engine import default_database_url, session_factory
    from codeforge.db.models import Activity
    from codeforge.db.store import ProjectStore

    project, _, bp2 = setup
    assert invoke("update", str(project), "-t", str(bp2))[0] == 0
    url = default_database_url(codeforge_dirs["data"])  # the store the journal line is for
    try:
        store = ProjectStore.for_data_dir(codeforge_dirs["data"])
        store.ensure()
        store.ingest_journal()
        with session_factory(url)() as session:
            rows = session.scalars(select(Activity).where(Activity.action == "update")).all()
            assert len(rows) == 1
            assert rows[0].target == str(project.resolve())
            assert rows[0].details["version"] == "2.0.0"
            assert rows[0].details["from_version"] == "1.0.0"
            assert rows[0].details["to_version"] == "2.0.0"
    finally:
        reset_engines()
