"""All-or-nothing moves into a folder that survive the process being killed.

A transaction on the folder ``NAME`` works in ``.NAME.codeforge-txn`` beside it
(the same file system, so every move is one ``rename``):

- ``NAME/``: the staging tree: new contents at their paths (tasks run here);
- ``old/``: what the transaction moved out of the way, by move index;
- ``operation``: what the command was (``init --force``, ``update``), for messages;
- ``journal.json``: every move and every folder to create, written and fsync'd
  before the first move;
- ``committed``: written and fsync'd once every move is done.

A kill can stop the process anywhere. The next command that touches the folder
calls :func:`recover` first: with ``committed`` it finishes the clean-up (roll
forward); with only a journal it undoes each move that happened, which it finds
by looking at the files, so nothing else need be durable (roll back); with
neither, the folder was never changed and the work folder just goes. Each step
is idempotent, so a kill during recovery is recovered in turn.

Live and abandoned transactions are told apart by an ``flock`` on the parent
folder, held for the whole transaction and for recovery: the kernel drops it when
its process dies. Transactions in one parent folder therefore run one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple

from codeforge.core.paths import safe_target
from codeforge.errors import CodeForgeError

WORK_SUFFIX: Final = ".codeforge-txn"
_JOURNAL: Final = "journal.json"
_COMMITTED: Final = "committed"
_OPERATION: Final = "operation"
_FORMAT: Final = 1


def work_folder(root: Path) -> Path:
    """Where a transaction on ``root`` keeps its staging tree, backups and journal."""
    return root.parent / f".{root.name}{WORK_SUFFIX}"


class Move(NamedTuple):
    """One entry moved into the folder (from ``source`` in the staging tree) or out of it."""

    path: str
    source: str | None  # where the new entry waits under the staging tree; None: a removal
    existed: bool  # something was at ``path``: it is kept aside until the commit


class Recovery(NamedTuple):
    """What :func:`recover` found and did."""

    root: Path
    operation: str
    outcome: str  # "rolled back" | "completed" | "cleaned up"
    undone: int = 0

    @property
    def message(self) -> str:
        """One line for the user: what was interrupted and how it was resolved."""
        head = f"an interrupted `codeforge {self.operation}` in {self.root}"
        if self.outcome == "rolled back":
            return (
                f"{head} was rolled back: {self.undone} change(s) undone, the folder is as before"
            )
        if self.outcome == "completed":
            return f"{head} had made all its changes; its clean-up was completed"
        return f"{head} had not changed the folder yet; its leftovers were removed"


@contextlib.contextmanager
def _parent_lock(root: Path) -> Iterator[None]:
    fd = os.open(root.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (temp file, fsync, rename, fsync the folder)."""
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temp, path)
    _fsync(path.parent, directory=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def recover(root: Path) -> Recovery | None:
    """Finish or undo an interrupted transaction on ``root``; None when there was none."""
    root = Path(os.path.abspath(root))  # "." has no name to put the work folder beside
    if not os.path.lexists(work_folder(root)):
        return None  # the common case: no lock taken
    with _parent_lock(root):
        return _recover_locked(root)


def _recover_locked(root: Path) -> Recovery | None:
    folder = work_folder(root)
    if not os.path.lexists(folder):
        return None
    if folder.is_symlink() or not folder.is_dir():
        raise CodeForgeError(
            f"{folder} is not CodeForge's work folder", hint="move it away, then run again"
        )
    try:
        operation = (folder / _OPERATION).read_text(encoding="utf-8").strip() or "command"
    except (OSError, UnicodeDecodeError):
        operation = "command"
    journal = _read_journal(folder)
    undone = 0
    committed = (folder / _COMMITTED).exists() or (
        journal is not None and journal.whole and not os.path.lexists(folder / root.name)
    )
    if committed:
        if journal is not None:  # else killed while discarding: the roll forward was done
            _roll_forward(root, journal)
        outcome = "completed"
    elif journal is None or journal.whole:
        outcome = "cleaned up"  # nothing had moved yet
    else:
        outcome, undone = "rolled back", _roll_back(root, journal)
    _discard(folder, root.name, committed=committed)
    return Recovery(root, operation, outcome, undone)


def _discard(folder: Path, staging_name: str, *, committed: bool) -> None:
    """Remove the work folder in an order no kill can make ambiguous.

    Not committed: the journal goes first, so no later replay can undo again what a
    roll back already put back (it would read the half-deleted staging tree as
    moved in). Committed: the commit mark goes last, so a kill before it still
    reads as committed.
    """
    if not committed:
        with contextlib.suppress(FileNotFoundError):
            (folder / _JOURNAL).unlink()
            _fsync(folder, directory=True)
    shutil.rmtree(folder / staging_name, ignore_errors=True)
    shutil.rmtree(folder / "old", ignore_errors=True)
    for name in (_JOURNAL, _OPERATION, _COMMITTED):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    shutil.rmtree(folder, ignore_errors=True)


class _Journal:
    def __init__(self, moves: list[Move], folders: list[str], whole: bool = False) -> None:
        self.moves = moves
        self.folders = folders
        self.whole = whole  # the staging tree becomes the folder in one rename

    def dump(self) -> bytes:
        moves = [[m.path, m.source, m.existed] for m in self.moves]
        data = {"format": _FORMAT, "moves": moves, "folders": self.folders, "whole": self.whole}
        return json.dumps(data).encode()


def _read_journal(folder: Path) -> _Journal | None:
    try:
        data: Any = json.loads((folder / _JOURNAL).read_bytes())
    except FileNotFoundError:
        return None  # killed before the journal was in place: nothing was moved
    except (OSError, ValueError) as exc:
        raise CodeForgeError(f"cannot read the interrupted operation's journal: {exc}") from exc
    try:
        if data.get("format") != _FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        moves = [Move(str(p), None if s is None else str(s), bool(e)) for p, s, e in data["moves"]]
        return _Journal(moves, [str(f) for f in data["folders"]], bool(data["whole"]))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CodeForgeError(
            f"{folder / _JOURNAL} is not a journal this version can replay ({exc})",
            hint=f"look at {folder} and move it away by hand",
        ) from exc


def _roll_back(root: Path, journal: _Journal) -> int:
    """Undo every move that happened, newest first; returns how many were undone."""
    folder = work_folder(root)
    staging = folder / root.name
    undone = 0
    for index in reversed(range(len(journal.moves))):
        move = journal.moves[index]
        target = root / move.path
        kept = folder / "old" / str(index)
        if move.existed:
            # Kept aside means not restored yet; then whatever is at target came in after.
            if not os.path.lexists(kept):
                continue
            if os.path.lexists(target):
                _remove(target)
            os.rename(kept, target)
        elif (
            move.source is not None
            and not os.path.lexists(staging / move.source)
            and os.path.lexists(target)
        ):
            _remove(target)  # a new entry that left the staging tree is the one at target
        else:
            continue
        undone += 1
    for rel in reversed(journal.folders):
        with contextlib.suppress(OSError):
            (root / rel).rmdir()  # only when empty: never a folder the user filled since
    return undone


def _roll_forward(root: Path, journal: _Journal) -> None:
    """After the commit: drop folders that removals left empty (the backups go with the work folder)."""
    for move in journal.moves:
        if move.source is not None:
            continue
        parent = (root / move.path).parent
        while parent != root and parent.is_relative_to(root):
            try:
                parent.rmdir()
            except OSError:
                break  # not empty (or already gone): stop here
            parent = parent.parent


class Transaction:
    """Moves staged entries into ``root`` (and removes others) all or nothing, kill included.

    Use as a context manager: stage new contents under :attr:`staging`, say what to
    move with :meth:`put`, :meth:`remove` and :meth:`make_folder`, then
    :meth:`commit`. Leaving the block without a commit (an exception) undoes every
    move; a killed process is undone or completed by the next :func:`recover`.
    """

    def __init__(self, root: Path, operation: str) -> None:
        self.root = root = Path(os.path.abspath(root))
        self.operation = operation
        self.folder = work_folder(root)
        self.staging = self.folder / root.name
        self.recovered: Recovery | None = None
        self._moves: list[tuple[str, str | None]] = []  # (path, source), in the caller's order
        self._folders: list[str] = []
        self._journal: _Journal | None = None
        self._committed = False
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> Transaction:
        lock = contextlib.ExitStack()
        lock.enter_context(_parent_lock(self.root))
        try:
            self.recovered = _recover_locked(self.root)
            self.folder.mkdir()
            (self.folder / _OPERATION).write_text(self.operation, encoding="utf-8")
            self.staging.mkdir()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            lock.close()
            raise
        self._lock = lock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._lock is not None
        try:
            if self._journal is not None and not self._committed:
                _roll_back(self.root, self._journal)
            _discard(self.folder, self.staging.name, committed=self._committed)
        finally:
            # A roll back that failed leaves the journal for the next command to retry.
            self._lock.close()

    def put(self, rel: str, source: str | None = None) -> None:
        """Move ``staging/source`` (default: ``staging/rel``) to ``root/rel``.

        What is at ``root/rel`` now is kept aside until the commit.
        """
        self._moves.append((rel, rel if source is None else source))

    def remove(self, rel: str) -> None:
        """Take ``root/rel`` out of the folder."""
        self._moves.append((rel, None))

    def make_folder(self, rel: str) -> None:
        """Create ``root/rel`` (and its parents) if missing."""
        self._folders.append(rel)

    def replace_root(self) -> None:
        """Move the whole staging tree to ``root`` (missing or empty): one atomic rename."""
        journal = _Journal([], [], whole=True)
        _write_durably(self.folder / _JOURNAL, journal.dump())
        os.rename(self.staging, self.root)  # replaces an empty folder too, atomically
        _write_durably(self.folder / _COMMITTED, b"")
        self._committed = True

    def commit(self, before_each: Callable[[int, str], None] | None = None) -> None:
        """Journal the moves durably, make them, mark the commit, then clean up."""
        journal = self._plan()
        (self.folder / "old").mkdir()
        _write_durably(self.folder / _JOURNAL, journal.dump())
        self._journal = journal
        for rel in journal.folders:
            os.makedirs(self.root / rel, exist_ok=True)
        for index, move in enumerate(journal.moves):
            if before_each is not None:
                before_each(index, move.path)
            target = self.root / move.path
            if move.existed:
                os.rename(target, self.folder / "old" / str(index))
            if move.source is not None:
                os.rename(self.staging / move.source, target)
        _write_durably(self.folder / _COMMITTED, b"")
        self._committed = True
        _roll_forward(self.root, journal)

    def _plan(self) -> _Journal:
        folders: list[str] = []
        seen: set[str] = set()

        def missing(rel: str) -> None:
            parts = rel.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if prefix not in seen and not os.path.lexists(self.root / prefix):
                    seen.add(prefix)
                    folders.append(prefix)

        for rel in self._folders:
            safe_target(self.root, rel)
            missing(rel)
        moves = []
        for rel, source in self._moves:
            # A link moving in replaces whatever is at ``rel``, a link too.
            link = source is not None and os.path.islink(self.staging / source)
            target = safe_target(self.root, rel, replace_link=link)
            if source is not None and not os.path.lexists(self.staging / source):
                raise CodeForgeError(f"{rel} is missing from the staging folder {self.staging}")
            if "/" in rel:
                missing(rel.rpartition("/")[0])
            moves.append(Move(rel, source, os.path.lexists(target)))
        return _Journal(moves, folders)
