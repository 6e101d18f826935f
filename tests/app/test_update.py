"""The check, diff and update use cases, called directly with a real local engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import snapshot

from codeforge.app import update as lifecycle
from codeforge.core import journal
from codeforge.core.collaborators import SilentReporter
from codeforge.core.engine import SDLCEngine
from codeforge.errors import NotFoundError
from codeforge.settings import load_settings

FILES = {"a.txt": "one\ntwo\nthree\n", "b.txt": "b\n"}
FILES_V2 = {"a.txt": "one\ntwo\nTHREE\n", "b.txt": "b\n", "c.txt": "new\n"}


@pytest.fixture
def made(blueprint: Callable[..., Path], engine: SDLCEngine, out: Path) -> tuple[Path, Path]:
    """(a project made from version 1.0.0, the 2.0.0 blueprint folder)."""
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0"}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=False)
    return out / "demo", bp2


def test_check_compares_the_recorded_and_newest_versions(
    made: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = made
    same = lifecycle.check(engine, project)
    assert (same.current, same.latest, same.update_available) == ("1.0.0", "1.0.0", False)
    newer = lifecycle.check(engine, project, template=str(bp2))
    assert (newer.current, newer.latest, newer.update_available) == ("1.0.0", "2.0.0", True)
    summary = lifecycle.check_summary(newer)
    assert summary["update_available"] is True and summary["recovered"] is None
    assert summary["project"] == str(project.resolve())
    json.dumps(summary)  # the adapters print it as JSON


def test_diff_writes_nothing_even_when_asked_for_a_real_update(
    made: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = made
    before = snapshot(project)
    result = lifecycle.diff(engine, project, lifecycle.UpdateOptions(template=str(bp2)))
    assert result.dry_run is True
    assert snapshot(project) == before
    assert "-three\n+THREE\n" in result.diff()
    assert {c.path: c.action for c in result.changes}["c.txt"] == "add"


def _recorded_updates(data_dir: Path) -> list[str]:
    return [r.action for r in journal.read_pending(data_dir) if r.action == "update"]


def test_update_writes_and_records_once(
    made: tuple[Path, Path], codeforge_dirs: dict[str, Path]
) -> None:
    project, bp2 = made
    settings = load_settings()
    dry_engine = lifecycle.lifecycle_engine(settings, SilentReporter(), record=False)
    options = lifecycle.UpdateOptions(template=str(bp2), dry_run=True)
    dry = lifecycle.update(dry_engine, project, options)
    assert not (project / "c.txt").exists()
    assert _recorded_updates(codeforge_dirs["data"]) == []
    engine = lifecycle.lifecycle_engine(settings, SilentReporter(), record=True)
    result = lifecycle.update(engine, project, lifecycle.UpdateOptions(template=str(bp2)))
    assert (project / "a.txt").read_text() == "one\ntwo\nTHREE\n"
    assert (project / "c.txt").read_text() == "new\n"
    assert _recorded_updates(codeforge_dirs["data"]) == ["update"]
    summary = lifecycle.update_summary(result)
    assert (summary["from_version"], summary["to_version"]) == ("1.0.0", "2.0.0")
    assert summary["dry_run"] is False and summary["conflicts"] == []
    planned = [c["path"] for c in lifecycle.update_summary(dry)["changes"]]
    assert planned == [c["path"] for c in summary["changes"]]
    assert lifecycle.check(engine, project).current == "2.0.0"


def test_check_outside_a_project_names_the_folder(tmp_path: Path, engine: SDLCEngine) -> None:
    with pytest.raises(NotFoundError, match=r"has no \.codeforge-answers\.yml"):
        lifecycle.check(engine, tmp_path)
