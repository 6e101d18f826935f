"""``init --force`` into a non-empty folder, and ``check`` after an interrupted write, via the console script."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from blueprint_factory import snapshot
from cli_support import console

from codeforge.core.sinks import apply_changes
from codeforge.core.transaction import work_folder


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder of its own (the CODEFORGE_* folders live in tmp_path)."""
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


@pytest.fixture
def git_available() -> None:
    if shutil.which("git") is None and not os.environ.get("CI"):
        pytest.skip("git is not installed")


@pytest.mark.usefixtures("git_available")
def test_force_into_a_folder_without_git_keeps_the_first_commit_it_reports(
    work: Path,
) -> None:
    dest = work / "full"
    dest.mkdir()
    (dest / "mine.txt").write_text("a user file\n")
    proc = console("init", "full", "-t", "web-fastapi", "--defaults", "--force", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "first commit " in proc.stdout
    reported = proc.stdout.split("first commit ")[1][:8]
    head = _git(dest, "rev-parse", "HEAD")
    assert head.startswith(reported)
    assert _git(dest, "log", "--format=%s") == "Initial commit from web-fastapi 1.0.0"
    # the generated files are the commit; the user's file is left untracked, as it was
    assert _git(dest, "status", "--porcelain") == "?? mine.txt"
    assert (dest / "mine.txt").read_text() == "a user file\n"
    assert [p.name for p in work.iterdir()] == ["full"]


@pytest.mark.usefixtures("git_available")
def test_force_into_a_repository_commits_nothing_and_says_so(work: Path) -> None:
    dest = work / "full"
    dest.mkdir()
    (dest / "mine.txt").write_text("a user file\n")
    _git(dest, "init", "-q")
    _git(dest, "add", "mine.txt")
    _git(dest, "-c", "user.name=U", "-c", "user.email=u@example.com", "commit", "-qm", "mine")
    head = _git(dest, "rev-parse", "HEAD")
    git_dir = snapshot(dest / ".git")
    proc = console("init", "full", "-t", "web-fastapi", "--defaults", "--force", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "first commit" not in proc.stdout
    assert "already has a git repository: nothing committed" in proc.stderr
    assert _git(dest, "rev-parse", "HEAD") == head
    assert snapshot(dest / ".git") == git_dir  # the user's repository is not touched
    assert (dest / ".codeforge-answers.yml").is_file()  # the project was written


def _interrupted_update(project: Path) -> None:
    """An update of ``project`` SIGKILLed after its second move (a real kill, in a child)."""

    def killed() -> None:
        def die(index: int, _rel: str) -> None:
            if index == 2:
                os.kill(os.getpid(), signal.SIGKILL)

        changes: list[tuple[str, bytes | None, int | None]] = [
            ("README.md", b"half-written\n", None),
            ("pyproject.toml", None, None),
            ("new.txt", b"new\n", None),
        ]
        apply_changes(project, changes, before_each=die)

    child = multiprocessing.get_context("fork").Process(target=killed)
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert work_folder(project).is_dir()


@pytest.mark.parametrize("as_json", [False, True])
def test_check_rolls_back_an_interrupted_update_and_exits_101(work: Path, as_json: bool) -> None:
    proc = console("init", "p", "-t", "lib-python", "--defaults", "--no-git", cwd=work)
    assert proc.returncode == 0, proc.stderr
    project = work / "p"
    before = snapshot(project)
    _interrupted_update(project)
    assert snapshot(project) != before

    proc = console("check", "p", *(["--json"] if as_json else []), cwd=work)
    assert proc.returncode == 101, proc.stderr
    assert "recovered: an interrupted `codeforge update`" in proc.stderr
    assert "was rolled back: 2 change(s) undone" in proc.stderr
    if as_json:
        data = json.loads(proc.stdout)
        recovered = data["recovered"]
        assert (recovered["operation"], recovered["outcome"], recovered["undone"]) == (
            "update",
            "rolled back",
            2,
        )
        assert recovered["message"] in proc.stderr
        assert data["update_available"] is False
    else:
        assert "is up to date" in proc.stdout
    assert snapshot(project) == before
    assert sorted(p.name for p in work.iterdir()) == ["p"]

    proc = console("check", "p", cwd=work)  # resolved once: nothing more to say
    assert proc.returncode == 0 and "recovered" not in proc.stderr


def test_init_force_resolves_an_interrupted_update_first_and_warns(work: Path) -> None:
    proc = console("init", "p", "-t", "lib-python", "--defaults", "--no-git", cwd=work)
    assert proc.returncode == 0, proc.stderr
    project = work / "p"
    _interrupted_update(project)
    proc = console("init", "p", "-t", "lib-python", "--defaults", "--no-git", "--force", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "warning: an interrupted `codeforge update`" in proc.stderr
    assert "rolled back" in proc.stderr
    assert not (project / "new.txt").exists()
    assert sorted(p.name for p in work.iterdir()) == ["p"]
