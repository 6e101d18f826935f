"""Surface 3 for ``codeforge update``: links already in the project never carry a write out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import snapshot
from cli_support import invoke

from codeforge.core.engine import SDLCEngine
from codeforge.errors import SecurityError

FILES = {"a.txt": "one\n", "sub/b.txt": "b\n", "c.txt": "c\n"}
FILES_V2 = {"a.txt": "two\n", "sub/b.txt": "B\n", "sub/new.txt": "new\n", "c.txt": "C\n"}


@pytest.fixture
def made(
    blueprint: Callable[..., Path], engine: SDLCEngine, tmp_path: Path
) -> tuple[Path, Path, Path]:
    bp1 = blueprint({"version": "1.0.0"}, FILES)
    bp2 = blueprint({"version": "2.0.0"}, FILES_V2)
    out = tmp_path / "projects"
    engine.create_project(str(bp1), "demo", output_dir=out, git=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch\n")
    return out / "demo", bp2, outside


def test_file_link_leaving_the_project_is_refused(
    made: tuple[Path, Path, Path], engine: SDLCEngine
) -> None:
    project, bp2, outside = made
    (project / "a.txt").unlink()
    os.symlink(outside / "secret.txt", project / "a.txt")
    before, before_out = snapshot(project), snapshot(outside)
    with pytest.raises(SecurityError, match=r"a\.txt is a link leading out of the project"):
        engine.update_project(project, template=str(bp2))
    assert snapshot(project) == before and snapshot(outside) == before_out


def test_folder_link_leaving_the_project_is_refused(
    made: tuple[Path, Path, Path], engine: SDLCEngine
) -> None:
    project, bp2, outside = made
    (project / "sub" / "b.txt").rename(outside / "b.txt")
    (project / "sub").rmdir()
    os.symlink(outside, project / "sub")
    before, before_out = snapshot(project), snapshot(outside)
    code, _, stderr = invoke("update", str(project), "-t", str(bp2))
    assert code == 6 and "sub is a link leading out of the project" in stderr
    assert snapshot(project) == before and snapshot(outside) == before_out
    # A dry run refuses the same way: it would be a lie to show a diff through the link.
    code, _, _ = invoke("diff", str(project), "-t", str(bp2))
    assert code == 6


def test_link_inside_the_project_is_left_alone(
    made: tuple[Path, Path, Path], engine: SDLCEngine
) -> None:
    project, bp2, _ = made
    (project / "c.txt").unlink()
    os.symlink("a.txt", project / "c.txt")
    result = engine.update_project(project, template=str(bp2))
    assert os.readlink(project / "c.txt") == "a.txt"
    assert (project / "a.txt").read_text() == "two\n"
    assert [k.path for k in result.kept] == ["c.txt"]


def test_answers_file_link_is_refused(made: tuple[Path, Path, Path], engine: SDLCEngine) -> None:
    project, bp2, outside = made
    answers = project / ".codeforge-answers.yml"
    (outside / "answers.yml").write_bytes(answers.read_bytes())
    answers.unlink()
    os.symlink(outside / "answers.yml", answers)
    before_out = snapshot(outside)
    with pytest.raises(SecurityError):
        engine.update_project(project, template=str(bp2))
    assert snapshot(outside) == before_out
