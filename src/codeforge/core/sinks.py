"""Sinks materialise a RenderPlan: a directory (atomically), a zip stream, a report.

Directory writes go to a staging folder beside the destination first. A new
project is moved into place with one rename; into an existing folder
(``--force``) each file is swapped in with the old one kept aside, under an
intent journal (core/transaction.py), so a failure undoes every swap and a killed
process is undone or completed by the next command. Nothing outside the plan is
ever deleted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from codeforge.core.paths import safe_target
from codeforge.core.plan import PlannedFile, RenderPlan
from codeforge.core.transaction import Recovery, Transaction, recover
from codeforge.errors import CodeForgeError, ConflictError, SecurityError

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class WriteResult:
    """What a write did, path by path (a plain class: every ``init`` imports this module)."""

    def __init__(
        self,
        destination: Path,
        written: list[str] | None = None,
        skipped: list[str] | None = None,
        unchanged: list[str] | None = None,
    ) -> None:
        self.destination = destination
        self.written: list[str] = [] if written is None else written
        self.skipped: list[str] = [] if skipped is None else skipped
        self.unchanged: list[str] = [] if unchanged is None else unchanged


class ReportEntry(NamedTuple):
    path: str
    size: int
    action: str  # create | overwrite | skip | unchanged
    binary: bool
    link: str | None = None  # a kept link: its target


def dry_run_report(plan: RenderPlan, destination: Path) -> list[ReportEntry]:
    """What writing ``plan`` into ``destination`` would do; writes nothing."""
    entries = []
    for f in sorted(plan.files, key=lambda f: f.path):
        target = destination / f.path
        if not os.path.lexists(target):
            action = "create"
        elif f.skip_if_exists:
            action = "skip"
        elif f.link is not None or target.is_symlink():
            action = "unchanged" if _same_link(target, f) else "overwrite"
        elif (
            target.is_file()
            and target.stat().st_size == len(f.content)
            and target.read_bytes() == f.content
        ):
            action = "unchanged"
        else:
            action = "overwrite"
        entries.append(ReportEntry(f.path, len(f.content), action, f.binary, f.link))
    return entries


def _same_link(target: Path, f: PlannedFile) -> bool:
    """``target`` is already the link ``f`` plans."""
    return f.link is not None and target.is_symlink() and os.readlink(target) == f.link


def write_zip(plan: RenderPlan, stream: IO[bytes], prefix: str = "") -> None:
    """Write ``plan`` as a zip with fixed timestamps, so equal plans give equal bytes.

    A kept link is stored as Info-ZIP stores one: mode ``S_IFLNK`` and its target as
    the entry's data (``unzip`` and ``bsdtar`` restore the link; Python's zipfile
    extracts a small file holding the target).
    """
    import zipfile

    base = f"{prefix.strip('/')}/" if prefix else ""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for rel in sorted(plan.directories):
            info = zipfile.ZipInfo(f"{base}{rel}/", ZIP_EPOCH)
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
        for f in sorted(plan.files, key=lambda f: f.path):
            info = zipfile.ZipInfo(f"{base}{f.path}", ZIP_EPOCH)
            if f.link is not None:
                info.create_system = 3  # Unix: the mode bits below mean what they say
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, f.link.encode("utf-8", "surrogateescape"))
                continue
            info.external_attr = (0o100000 | f.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, f.content)


def _is_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except NotADirectoryError:
        return False


class DirectorySink:
    """Write a plan into ``destination`` atomically, and crash-safely (core/transaction.py)."""

    def __init__(self, destination: Path, *, force: bool = False, operation: str = "init") -> None:
        self.destination = destination
        self.force = force
        self.operation = operation
        self.recovered: Recovery | None = None  # an interrupted earlier run, resolved first

    def check(self) -> bool:
        """Return True when the destination exists with content (``--force`` needed).

        An operation on the destination that was interrupted is finished or undone first.
        """
        dest = self.destination
        self.recovered = recover(dest) or self.recovered
        if dest.is_symlink() and not dest.exists():
            raise SecurityError(f"{dest} is a dangling link")
        if dest.exists() and not dest.is_dir():
            raise ConflictError(f"{dest} exists and is not a folder")
        populated = dest.exists() and not _is_empty_dir(dest)
        if populated and not self.force:
            raise ConflictError(
                f"{dest} already exists and is not empty",
                hint="choose another name or output folder, or pass --force to write into it",
            )
        return populated

    def write(self, plan: RenderPlan, post: Callable[[Path], None] | None = None) -> WriteResult:
        """Write the plan; ``post`` runs in the staging folder before anything is moved in.

        Into an existing folder, a ``.git`` made by ``post`` moves in too when the
        folder has none, so a first commit reported is a commit that exists.
        """
        populated = self.check()
        dest = self.destination
        created_parents = _missing_parents(dest.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        operation = f"{self.operation} --force" if populated and self.operation == "init" else None
        try:
            with Transaction(dest, operation or self.operation) as txn:
                self.recovered = txn.recovered or self.recovered
                if populated:
                    # Refuse links inside the destination before touching anything.
                    for f in plan.files:
                        _target(dest, f)
                _materialise(plan, txn.staging)
                if post is not None:
                    post(txn.staging)
                result = WriteResult(dest)
                if populated:
                    _plan_swaps(plan, txn, result)
                    txn.commit()
                else:
                    txn.replace_root()
                    result.written = [f.path for f in plan.files]
                return result
        except BaseException as exc:
            for parent in reversed(created_parents):
                try:
                    parent.rmdir()
                except OSError:
                    break
            if populated and isinstance(exc, OSError):
                raise CodeForgeError(f"writing into {dest} failed and was undone: {exc}") from exc
            raise


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    return list(reversed(missing))


def _create_file(path: str, content: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _materialise(plan: RenderPlan, root: Path) -> None:
    made: set[str] = set()
    root_str = str(root)
    for rel in plan.directories:
        os.makedirs(os.path.join(root_str, rel), exist_ok=True)
    for f in plan.files:
        parent = f.path.rpartition("/")[0]
        if parent and parent not in made:
            os.makedirs(os.path.join(root_str, parent), exist_ok=True)
            made.add(parent)
        if f.link is not None:
            os.symlink(f.link, os.path.join(root_str, f.path))
            continue
        _create_file(os.path.join(root_str, f.path), f.content, f.mode)
        if f.mode & 0o111:
            os.chmod(os.path.join(root_str, f.path), f.mode)  # umask must not drop the x bit


def _target(dest: Path, f: PlannedFile) -> Path:
    """Where ``f`` goes; no link on the way, though a kept link may replace a link."""
    return safe_target(dest, f.path, replace_link=f.link is not None)


def _plan_swaps(plan: RenderPlan, txn: Transaction, result: WriteResult) -> None:
    """Say which staged entries replace what is in the destination, and which stay out."""
    dest = txn.root
    for rel in plan.directories:
        txn.make_folder(rel)
    for f in plan.files:
        target = _target(dest, f)
        if os.path.lexists(target):
            if f.skip_if_exists:
                result.skipped.append(f.path)
                continue
            if _same_link(target, f):
                result.unchanged.append(f.path)
                continue
            if target.is_dir() and not target.is_symlink():
                raise ConflictError(
                    f"{f.path} is a folder in the destination; the blueprint writes a file there"
                )
            if f.link is None and target.is_file() and target.read_bytes() == f.content:
                result.unchanged.append(f.path)
                continue
        txn.put(f.path)
        result.written.append(f.path)
    if (txn.staging / ".git").is_dir() and not os.path.lexists(dest / ".git"):
        txn.put(".git")


def apply_changes(
    root: Path,
    changes: Sequence[tuple[str, bytes | None, int | None]],
    *,
    before_each: Callable[[int, str], None] | None = None,
) -> Recovery | None:
    """Write (bytes) or remove (None) each ``(path, content, mode)`` under ``root``, all or nothing.

    One :class:`~codeforge.core.transaction.Transaction`: new contents are staged
    beside ``root``, and a failure, or a kill followed by the next command, puts
    every file back; folders left empty by removals are pruned. ``mode`` None keeps
    an existing file's permissions (new files get 0o644 less the umask).
    ``before_each(index, path)`` runs before each change (progress, fault injection).
    Returns the interrupted earlier operation resolved first, if there was one.
    """
    try:
        with Transaction(root, "update") as txn:
            for index, (rel, content, mode) in enumerate(changes):
                target = safe_target(root, rel)
                if os.path.isdir(target) and not target.is_symlink():
                    raise ConflictError(f"{rel} is a folder in the project; a file belongs there")
                if content is None:
                    txn.remove(rel)
                    continue
                if mode is None and os.path.lexists(target):
                    mode = target.lstat().st_mode & 0o7777
                staged = txn.staging / str(index)  # flat: no folders to make and remove
                _create_file(str(staged), content, 0o644 if mode is None else mode)
                if mode is not None:
                    os.chmod(staged, mode)  # exactly, whatever the umask
                txn.put(rel, staged.name)
            txn.commit(before_each)
            return txn.recovered
    except OSError as exc:
        raise CodeForgeError(
            f"updating {root} failed and was undone: {exc.strerror or exc}",
            where=exc.filename,
        ) from exc
