"""Updates with migrations: tasks run on a staged copy; the result moves in journalled.

The kill tests SIGKILL the real ``codeforge update --trust`` console script while
a migration task sleeps, right after the last task finished, and during the
swap. After the next ``codeforge check`` the project must be exactly the old
tree or exactly the new one; files outside the plan are never touched and no
backup or work folder is left beside the project.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from blueprint_factory import build_tree

from codeforge.core.staged import plan_differences, run_staged
from codeforge.core.transaction import Transaction, work_folder

from .test_transaction_kill import (
    _environment,
    _git,
    _outcome,
    kill_after,
    tag_version,
    tree_hash,
)

CODEFORGE = str(Path(sys.executable).with_name("codeforge"))
USER_FILES = {"mine.txt": "a user file\n", "notes/todo.md": "- keep me\n"}


def test_only_differences_move_and_untouched_entries_keep_their_inode(tmp_path: Path) -> None:
    project = build_tree(
        tmp_path / "proj",
        {"same.txt": "same\n", "edit.txt": "old\n", "mode.sh": "x\n", "gone/a.txt": "a\n"},
    )
    os.symlink("same.txt", project / "link")
    (project / "retype").mkdir()
    (project / "retype" / "inner.txt").write_text("inner\n")
    inode = (project / "same.txt").stat().st_ino

    def work(staged: Path) -> None:
        (staged / "edit.txt").write_text("new\n")
        (staged / "mode.sh").chmod(0o755)
        (staged / "link").unlink()
        os.symlink("edit.txt", staged / "link")
        for path in (staged / "gone/a.txt", staged / "retype/inner.txt"):
            path.unlink()
        (staged / "gone").rmdir()
        (staged / "retype").rmdir()
        (staged / "retype").write_text("now a file\n")
        build_tree(staged, {"added/deep/n.txt": "n\n"})

    run_staged(project, "update", work)
    assert (project / "same.txt").stat().st_ino == inode  # never moved
    assert (project / "edit.txt").read_text() == "new\n"
    assert (project / "mode.sh").stat().st_mode & 0o777 == 0o755
    assert os.readlink(project / "link") == "edit.txt"
    assert not (project / "gone").exists()
    assert (project / "retype").read_text() == "now a file\n"
    assert (project / "added/deep/n.txt").read_text() == "n\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_a_failing_work_leaves_the_project_as_it_was(tmp_path: Path) -> None:
    project = build_tree(tmp_path / "proj", {"a.txt": "a\n"})
    before = tree_hash(project)

    def work(staged: Path) -> None:
        (staged / "a.txt").write_text("changed\n")
        raise RuntimeError("task failed")

    with pytest.raises(RuntimeError, match="task failed"):
        run_staged(project, "update", work)
    assert tree_hash(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_an_unchanged_copy_plans_no_move(tmp_path: Path) -> None:
    project = build_tree(tmp_path / "proj", {"a.txt": "a\n", "d/b.txt": "b\n"})
    with Transaction(project, "update") as txn:
        shutil.copytree(project, txn.staging, symlinks=True, dirs_exist_ok=True)
        plan_differences(txn, "")
        assert txn._moves == []


def _task(marks: Path, mark: str, code: str, sleep: float) -> list[str]:
    """A task running ``code`` in the project, then marking ``mark``, then sleeping."""
    done = f"open({str(marks / mark)!r}, 'w').close()"
    return [sys.executable, "-c", f"import pathlib, time, os; {code}; {done}; time.sleep({sleep})"]


def _blueprint(root: Path, marks: Path) -> Path:
    """v1.0.0, and v2.0.0 with a migration renaming and rewriting files around the merge."""
    files = {f"pkg/f{i}.txt": f"file {i}\n" for i in range(12)}
    definition = "name: migkill\nversion: {v}\n"
    _git(build_tree(root, {}), "init", "-q")
    tag_version(root, {"blueprint.yaml": definition.format(v="1.0.0")}, files, "1.0.0")
    before = _task(
        marks,
        "before",
        "pathlib.Path('legacy.cfg').rename('settings.cfg'); "
        "pathlib.Path('pkg/f0.txt').write_text('migrated before\\n')",
        0.6,
    )
    after = _task(
        marks,
        "after",
        "pathlib.Path('migrated.txt').write_text('done\\n'); "
        "os.chmod('pkg/f1.txt', 0o600); os.remove('pkg/f2.txt')",
        0,
    )
    migration = (
        "migrations:\n  - version: 2.0.0\n"
        f"    before: {json.dumps([before])}\n"
        f"    after: {json.dumps([after])}\n"
    )
    top = {"blueprint.yaml": definition.format(v="2.0.0") + migration}
    tag_version(root, top, {"pkg/f3.txt": "file 3 v2\n", "pkg/new.txt": "new\n"}, "2.0.0")
    return root


def _codeforge(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CODEFORGE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _fresh(pristine: Path, run_dir: Path, marks: Path) -> Path:
    for mark in marks.iterdir():
        mark.unlink()
    shutil.rmtree(run_dir / "proj", ignore_errors=True)
    shutil.copytree(pristine, run_dir / "proj", symlinks=True)
    return run_dir / "proj"


def _kill_at(run_dir: Path, env: dict[str, str], marker: Path, delay: float) -> bool:
    """Run the update, SIGKILL it ``delay`` s after ``marker`` appears; False if it ended first."""
    proc = subprocess.Popen(
        [CODEFORGE, "update", "proj", "--defaults", "--trust"],
        cwd=run_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill takes the migration task too
    )
    return kill_after(proc, marker, delay)


def test_kills_during_and_after_migrations_leave_old_or_new(tmp_path: Path) -> None:
    env = _environment(tmp_path / "home")
    marks = tmp_path / "marks"
    marks.mkdir()
    bp = _blueprint(tmp_path / "bp", marks)
    made = tmp_path / "made"
    made.mkdir()
    init = ["init", "proj", "-t", str(bp), "--vcs-ref", "v1.0.0", "--defaults", "--no-git"]
    assert _codeforge(init, made, env).returncode == 0
    build_tree(made / "proj", {**USER_FILES, "legacy.cfg": "setting = 1\n"})
    pristine = made / "proj"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "neighbour.txt").write_text("beside the project\n")
    project = _fresh(pristine, run_dir, marks)
    old = tree_hash(project)
    done = _codeforge(["update", "proj", "--defaults", "--trust"], run_dir, env)
    assert done.returncode == 0, done.stderr
    new = tree_hash(project)
    assert (project / "settings.cfg").read_text() == "setting = 1\n"
    assert (project / "migrated.txt").exists() and not (project / "pkg/f2.txt").exists()
    assert (project / "pkg/f3.txt").read_text() == "file 3 v2\n"
    tally: Counter[str] = Counter()
    journal = work_folder(project) / "journal.json"
    points = [("during", marks / "before", 0.4), ("right after", marks / "after", 0.0)]
    points.append(("in the swap after", journal, 0.003))
    for label, marker, spread in points * 3:
        project = _fresh(pristine, run_dir, marks)
        if not _kill_at(run_dir, env, marker, random.uniform(0, spread)):
            tally[f"{label}: finished first"] += 1
            continue
        pending = os.path.lexists(work_folder(project))
        check = _codeforge(["check", "proj"], run_dir, env)
        assert check.returncode == (101 if pending else 0), check.stderr
        state = tree_hash(project)
        assert state in (old, new), f"a kill {label} a migration left neither old nor new"
        if label == "during":  # nothing moves before the tasks are done
            assert state == old and pending and "had not changed the folder" in check.stderr
        assert (run_dir / "neighbour.txt").read_text() == "beside the project\n"
        assert sorted(p.name for p in run_dir.iterdir()) == ["neighbour.txt", "proj"]
        for rel, text in USER_FILES.items():
            assert (project / rel).read_text() == text
        how = _outcome(check.stderr) if pending else "none needed"
        tally[f"{label}: {'old' if state == old else 'new'}, {how}"] += 1
    print(dict(tally))
    assert tally["during: old, cleaned up"] == 3
