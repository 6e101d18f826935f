"""core/transaction.py: a transaction killed at each step is rolled back or completed by recover().

The kill is real: the transaction runs in a forked child that SIGKILLs itself at a
chosen step, so no ``finally`` and no ``__exit__`` runs, as after an OOM kill.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import build_tree, snapshot

from codeforge.core import transaction
from codeforge.core.sinks import apply_changes
from codeforge.core.transaction import Transaction, recover, work_folder
from codeforge.errors import CodeForgeError

OLD = {
    "README.md": "old readme\n",
    "src/app/main.py": "old main\n",
    "src/app/gone.py": "removed by the change\n",
    "lonely/only.txt": "its folder goes with it\n",
    "mine.txt": "a user file outside the plan\n",
}
CHANGES: list[tuple[str, bytes | None, int | None]] = [
    ("README.md", b"new readme\n", None),
    ("src/app/main.py", b"new main\n", 0o755),
    ("src/app/gone.py", None, None),
    ("lonely/only.txt", None, None),
    ("docs/guide/index.md", b"a new file in new folders\n", None),
]


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _run_killed(target: Callable[[], None]) -> None:
    """Run ``target`` in a forked child; it must die of SIGKILL."""
    child = multiprocessing.get_context("fork").Process(target=target)
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "proj", OLD)


def _expected_new(tmp_path: Path) -> dict[str, bytes | str]:
    other = build_tree(tmp_path / "reference" / "proj", OLD)
    apply_changes(other, CHANGES)
    return snapshot(other)


@pytest.mark.parametrize("step", range(len(CHANGES)))
def test_a_kill_before_any_move_is_rolled_back_by_the_next_command(
    project: Path, tmp_path: Path, step: int
) -> None:
    before = snapshot(project)

    def killed_at_step() -> None:
        apply_changes(
            project, CHANGES, before_each=lambda i, _: _kill_self() if i == step else None
        )

    _run_killed(killed_at_step)
    assert work_folder(project).is_dir()  # the journal is what the next command replays
    recovered = recover(project)
    assert recovered is not None
    assert (recovered.operation, recovered.outcome, recovered.undone) == (
        "update",
        "rolled back",
        step,
    )
    assert "rolled back" in recovered.message and str(project) in recovered.message
    assert snapshot(project) == before
    assert not work_folder(project).exists()
    assert recover(project) is None  # nothing left to do
    assert snapshot(project) == before
    # and the interrupted change can then be made in full
    apply_changes(project, CHANGES)
    assert snapshot(project) == _expected_new(tmp_path)


def test_a_kill_after_the_commit_mark_is_completed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed_after_commit() -> None:
        monkeypatch.setattr(transaction, "_roll_forward", lambda *_: _kill_self())
        apply_changes(project, CHANGES)

    _run_killed(killed_after_commit)
    assert (work_folder(project) / "committed").exists()
    assert (project / "lonely").is_dir()  # pruning is what was left to do
    recovered = recover(project)
    assert recovered is not None and recovered.outcome == "completed"
    assert snapshot(project) == _expected_new(tmp_path)
    assert not (project / "lonely").exists()
    assert (project / "src" / "app" / "main.py").stat().st_mode & 0o777 == 0o755


def test_a_kill_while_staging_leaves_the_folder_untouched(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(project)

    def killed_while_staging() -> None:
        monkeypatch.setattr(transaction, "_write_durably", lambda *_: _kill_self())
        apply_changes(project, CHANGES)

    _run_killed(killed_while_staging)
    recovered = recover(project)
    assert recovered is not None and recovered.outcome == "cleaned up"
    assert "had not changed the folder" in recovered.message
    assert snapshot(project) == before
    assert sorted(p.name for p in project.parent.iterdir()) == ["proj"]


@pytest.mark.parametrize("renames", [1, 2, 3, 4])
def test_a_kill_during_the_roll_back_is_rolled_back_by_the_next_one(
    project: Path, monkeypatch: pytest.MonkeyPatch, renames: int
) -> None:
    """Each restore is done once: a replay must not take a restored file for a new one."""
    before = snapshot(project)
    _run_killed(
        lambda: apply_changes(
            project, CHANGES, before_each=lambda i, _: _kill_self() if i == 4 else None
        )
    )
    real_rename = os.rename
    count = {"n": 0}

    def rename_then_die(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_rename(src, dst)
        count["n"] += 1
        if count["n"] == renames:
            _kill_self()

    def killed_while_recovering() -> None:
        monkeypatch.setattr(os, "rename", rename_then_die)
        recover(project)

    _run_killed(killed_while_recovering)
    recovered = recover(project)
    assert recovered is not None and recovered.outcome == "rolled back"
    assert snapshot(project) == before


def test_a_failure_inside_the_process_is_undone_at_once(project: Path) -> None:
    before = snapshot(project)

    def fail(index: int, rel: str) -> None:
        if index == 3:
            raise OSError(28, "No space left on device", rel)

    with pytest.raises(CodeForgeError, match="failed and was undone: No space left"):
        apply_changes(project, CHANGES, before_each=fail)
    assert snapshot(project) == before
    assert not work_folder(project).exists()


def test_recovery_waits_for_a_live_transaction(project: Path, tmp_path: Path) -> None:
    """A transaction that is running is never taken for an abandoned one."""
    ready, release = multiprocessing.get_context("fork").Event(), tmp_path / "release"

    def slow_transaction() -> None:
        def wait(index: int, rel: str) -> None:
            if index == 2:
                ready.set()
                while not release.exists():
                    time.sleep(0.01)

        apply_changes(project, CHANGES, before_each=wait)

    child = multiprocessing.get_context("fork").Process(target=slow_transaction)
    child.start()
    assert ready.wait(30)
    found: list[object] = []
    waiter = threading.Thread(target=lambda: found.append(recover(project)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive(), "recover() must wait for the live transaction's lock"
    release.touch()
    child.join(30)
    waiter.join(30)
    assert child.exitcode == 0
    assert found == [None]  # the transaction finished by itself: nothing to recover
    assert (project / "README.md").read_text() == "new readme\n"


def test_an_unreadable_journal_is_left_for_a_human(project: Path) -> None:
    folder = work_folder(project)
    folder.mkdir()
    (folder / "journal.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(CodeForgeError, match="not a journal this version can replay") as info:
        recover(project)
    assert info.value.hint is not None and str(folder) in info.value.hint
    assert folder.is_dir()


def test_staged_entries_must_exist_before_anything_moves(project: Path) -> None:
    before = snapshot(project)
    with Transaction(project, "update") as txn:
        txn.put("README.md")
        with pytest.raises(CodeForgeError, match="missing from the staging folder"):
            txn.commit()
    assert snapshot(project) == before
    assert not work_folder(project).exists()


@pytest.mark.parametrize(
    ("kill_at", "outcome"),
    [("journal", "cleaned up"), ("rename", "cleaned up"), ("commit mark", "completed")],
)
def test_a_new_folder_killed_around_its_one_rename_is_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill_at: str, outcome: str
) -> None:
    """A new project moves in with one rename: killed before it, nothing; after it, all."""
    root = tmp_path / "fresh"
    real_write, real_rename = transaction._write_durably, os.rename

    def write(path: Path, data: bytes) -> None:
        if (kill_at, path.name) in (("journal", "journal.json"), ("commit mark", "committed")):
            _kill_self()
        real_write(path, data)

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if kill_at == "rename" and Path(dst) == root:
            _kill_self()
        real_rename(src, dst)

    def killed() -> None:
        monkeypatch.setattr(transaction, "_write_durably", write)
        monkeypatch.setattr(os, "rename", rename)
        with Transaction(root, "init") as txn:
            build_tree(txn.staging, {"a.txt": "a\n", "sub/b.txt": "b\n"})
            txn.replace_root()

    _run_killed(killed)
    recovered = recover(root)
    assert recovered is not None and recovered.outcome == outcome
    new = {"a.txt": b"a\n", "sub": "<dir>", "sub/b.txt": b"b\n"}
    assert snapshot(root) == (new if outcome == "completed" else {})
    assert sorted(p.name for p in tmp_path.iterdir()) == (["fresh"] if root.exists() else [])
