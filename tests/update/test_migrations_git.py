"""Migrations (trust-gated, ordered, atomic) and the dirty-tree refusal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from blueprint_factory import snapshot

from codeforge.core.engine import SDLCEngine
from codeforge.core.postprocess import TaskError
from codeforge.errors import ConflictError, SecurityError

FILES = {"a.txt": "one\n", "b.txt.jinja": "{{ project_name }} b\n"}
FILES_V2 = {"a.txt": "two\n", "b.txt.jinja": "{{ project_name }} b\n"}
PY = sys.executable


def log_task(tag: str) -> list[str]:
    """A task appending TAG and a.txt's current first line to migrations.log."""
    code = (
        "import pathlib; p = pathlib.Path('migrations.log'); a = pathlib.Path('a.txt');"
        f"first = a.read_text().splitlines()[0] if a.exists() else '-';"
        f"p.write_text((p.read_text() if p.exists() else '') + '{tag} ' + first + '\\n')"
    )
    return [PY, "-c", code]


MIGRATIONS: list[dict[str, Any]] = [
    {"version": "3.0.0", "before": [log_task("3.0.0-before")]},  # above the target: never
    {"version": "2.0.0", "before": [log_task("2.0.0-before")], "after": [log_task("2.0.0-after")]},
    {"version": "1.5.0", "after": [log_task("1.5.0-after {{ from_version }}>{{ to_version }}")]},
    {"version": "1.0.0", "before": [log_task("1.0.0-before")]},  # the recorded one: never
]


@pytest.fixture
def project_v2(blueprint: Callable[..., Path], engine: SDLCEngine, out: Path) -> tuple[Path, Path]:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0", "migrations": MIGRATIONS}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=False)
    return out / "demo", bp2


def test_untrusted_migrations_are_refused_and_nothing_changes(
    project_v2: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = project_v2
    before = snapshot(project)
    with pytest.raises(SecurityError, match=r"migrations for 1\.5\.0, 2\.0\.0") as info:
        engine.update_project(project, template=str(bp2))
    assert "--trust" in (info.value.hint or "") and "--skip-migrations" in (info.value.hint or "")
    assert snapshot(project) == before


def test_skip_migrations_updates_without_running_them(
    project_v2: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = project_v2
    result = engine.update_project(project, template=str(bp2), skip_migrations=True)
    assert result.migrations == []
    assert (project / "a.txt").read_text() == "two\n"
    assert not (project / "migrations.log").exists()


def test_trusted_migrations_run_in_order_around_the_merge(
    project_v2: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = project_v2
    result = engine.update_project(project, template=str(bp2), trust=True)
    assert result.migrations == ["1.5.0", "2.0.0"]
    assert (project / "migrations.log").read_text() == (
        "2.0.0-before one\n1.5.0-after 1.0.0>2.0.0 two\n2.0.0-after two\n"
    )
    assert (project / "a.txt").read_text() == "two\n"


def test_failing_migration_restores_every_byte(
    blueprint: Callable[..., Path], engine: SDLCEngine, out: Path
) -> None:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    failing = [
        {
            "version": "2.0.0",
            "before": [log_task("before")],
            "after": [[PY, "-c", "import sys; open('junk', 'w'); sys.exit(3)"]],
        }
    ]
    bp2 = blueprint({"version": "2.0.0", "migrations": failing}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=False)
    project = out / "demo"
    before = snapshot(project)
    with pytest.raises(TaskError, match=r"migration 2\.0\.0 \(after\)"):
        engine.update_project(project, template=str(bp2), trust=True)
    assert snapshot(project) == before
    assert sorted(p.name for p in out.iterdir()) == ["demo"]


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, check=True, capture_output=True, text=True
    ).stdout


def test_dirty_git_tree_is_refused_unless_forced(
    blueprint: Callable[..., Path], engine: SDLCEngine, out: Path
) -> None:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0"}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=True)
    project = out / "demo"
    (project / "b.txt").write_text("edited, not committed\n")
    before = snapshot(project)
    with pytest.raises(ConflictError, match="uncommitted changes") as info:
        engine.update_project(project, template=str(bp2))
    assert info.value.exit_code == 4 and "--force" in (info.value.hint or "")
    assert snapshot(project) == before
    # A dry run may look at a dirty tree; it writes nothing.
    engine.diff_project(project, template=str(bp2))
    assert snapshot(project) == before
    engine.update_project(project, template=str(bp2), force=True)
    assert (project / "a.txt").read_text() == "two\n"
    assert (project / "b.txt").read_text() == "edited, not committed\n"


def test_clean_git_tree_updates(
    blueprint: Callable[..., Path], engine: SDLCEngine, out: Path
) -> None:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0"}, FILES_V2)
    engine.create_project(str(bp1), "demo", output_dir=out, git=True)
    project = out / "demo"
    engine.update_project(project, template=str(bp2))
    assert _git(project, "status", "--porcelain").split() == [
        "M",
        ".codeforge-answers.yml",
        "M",
        "a.txt",
    ]


def test_dry_run_lists_pending_migrations_without_running_them(
    project_v2: tuple[Path, Path], engine: SDLCEngine
) -> None:
    project, bp2 = project_v2
    before = snapshot(project)
    result = engine.diff_project(project, template=str(bp2))
    assert result.migrations == ["1.5.0", "2.0.0"]
    assert snapshot(project) == before


def test_migration_entries_are_validated_with_file_and_line(
    blueprint: Callable[..., Path], engine: SDLCEngine
) -> None:
    from codeforge.errors import BlueprintError

    bad = blueprint({"version": "2.0.0", "migrations": [{"version": "2.0", "after": [["x"]]}]})
    with pytest.raises(BlueprintError, match=r"migrations\.0\.version.*semantic version") as info:
        engine.load_blueprint(str(bad))
    assert info.value.where is not None and "blueprint.yaml" in info.value.where
    empty = blueprint({"version": "2.0.0", "migrations": [{"version": "2.0.0"}]})
    with pytest.raises(BlueprintError, match="needs `before` or `after`"):
        engine.load_blueprint(str(empty))
