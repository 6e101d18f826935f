"""Sinks materialise a RenderPlan: a directory (atomically), a zip stream, a report.

Directory writes go to a staging folder beside the destination first. A new
project is moved into place with one rename; into an existing folder
(``--force``) each file is swapped in with the old one kept aside, and every
swap is undone if any step fails. Nothing outside the plan is ever deleted.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from codeforge.core.errors import CodeForgeError, ConflictError, SecurityError
from codeforge.core.paths import safe_target
from codeforge.core.plan import RenderPlan

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclasses.dataclass
class WriteResult:
    destination: Path
    written: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ReportEntry:
    path: str
    size: int
    action: str  # create | overwrite | skip | unchanged
    binary: bool


def dry_run_report(plan: RenderPlan, destination: Path) -> list[ReportEntry]:
    """What writing ``plan`` into ``destination`` would do; writes nothing."""
    entries = []
    for f in sorted(plan.files, key=lambda f: f.path):
        target = destination / f.path
        if not target.exists():
            action = "create"
        elif f.skip_if_exists:
            action = "skip"
        elif (
            target.is_file()
            and target.stat().st_size == len(f.content)
            and target.read_bytes() == f.content
        ):
            action = "unchanged"
        else:
            action = "overwrite"
        entries.append(ReportEntry(f.path, len(f.content), action, f.binary))
    return entries


def write_zip(plan: RenderPlan, stream: IO[bytes], prefix: str = "") -> None:
    """Write ``plan`` as a zip with fixed timestamps, so equal plans give equal bytes."""
    import zipfile

    base = f"{prefix.strip('/')}/" if prefix else ""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for rel in sorted(plan.directories):
            info = zipfile.ZipInfo(f"{base}{rel}/", ZIP_EPOCH)
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
        for f in sorted(plan.files, key=lambda f: f.path):
            info = zipfile.ZipInfo(f"{base}{f.path}", ZIP_EPOCH)
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
    """Write a plan into ``destination`` atomically."""

    def __init__(self, destination: Path, *, force: bool = False) -> None:
        self.destination = destination
        self.force = force

    def check(self) -> bool:
        """Return True when the destination exists with content (``--force`` needed)."""
        dest = self.destination
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
        """Write the plan; ``post`` runs in the staging folder before anything is moved in."""
        populated = self.check()
        dest = self.destination
        created_parents = _missing_parents(dest.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.codeforge-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            if populated:
                # Refuse links inside the destination before touching anything.
                for f in plan.files:
                    safe_target(dest, f.path)
            _materialise(plan, staging)
            if post is not None:
                post(staging)
            result = WriteResult(dest)
            if populated:
                _swap_in(plan, staging, dest, result)
            else:
                if dest.exists():
                    dest.rmdir()  # empty: replace it with the staged tree
                os.rename(staging, dest)
                result.written = [f.path for f in plan.files]
            return result
        except BaseException:
            _remove_tree(staging)
            for parent in reversed(created_parents):
                try:
                    parent.rmdir()
                except OSError:
                    break
            raise
        finally:
            if staging.exists():
                _remove_tree(staging)


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    return list(reversed(missing))


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


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
        fd = os.open(os.path.join(root_str, f.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, f.mode)
        try:
            view = memoryview(f.content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if f.mode & 0o111:
            os.chmod(os.path.join(root_str, f.path), f.mode)  # umask must not drop the x bit


def _swap_in(plan: RenderPlan, staging: Path, dest: Path, result: WriteResult) -> None:
    """Move staged files over an existing tree; undo every move if one fails."""
    backup = staging / ".codeforge-backup"
    backup.mkdir()
    done: list[tuple[Path, Path | None]] = []  # (target, backup copy or None when new)
    new_dirs: list[Path] = []
    try:
        for rel in plan.directories:
            target = safe_target(dest, rel)
            new_dirs.extend(_missing_parents(target))
            target.mkdir(parents=True, exist_ok=True)
        for f in plan.files:
            target = safe_target(dest, f.path)
            if target.exists() or target.is_symlink():
                if f.skip_if_exists:
                    result.skipped.append(f.path)
                    continue
                if target.is_dir():
                    raise ConflictError(
                        f"{f.path} is a folder in the destination; the blueprint writes a file there"
                    )
                if target.is_file() and target.read_bytes() == f.content:
                    result.unchanged.append(f.path)
                    continue
                kept = backup / f"{len(done)}"
                os.replace(target, kept)
                done.append((target, kept))
            else:
                new_dirs.extend(_missing_parents(target.parent))
                target.parent.mkdir(parents=True, exist_ok=True)
                done.append((target, None))
            os.replace(staging / f.path, target)
            result.written.append(f.path)
    except BaseException as exc:
        for moved, backup_copy in reversed(done):
            try:
                if backup_copy is not None:
                    os.replace(backup_copy, moved)
                else:
                    moved.unlink(missing_ok=True)
            except OSError:
                pass
        for folder in reversed(new_dirs):
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise CodeForgeError(f"writing into {dest} failed and was undone: {exc}") from exc
        raise


def apply_changes(
    root: Path,
    changes: Sequence[tuple[str, bytes | None, int | None]],
    *,
    before_each: Callable[[int, str], None] | None = None,
) -> None:
    """Write (bytes) or remove (None) each ``(path, content, mode)`` under ``root``, all or nothing.

    New contents are staged beside ``root`` first; each old file is moved aside
    before its replacement goes in; folders left empty by removals are pruned.
    On any failure every moved file goes back, new files and folders are
    removed, and a :class:`CodeForgeError` says the change was undone. ``mode``
    None keeps an existing file's permissions (new files get 0o644 less the umask).
    ``before_each(index, path)`` runs before each change (progress, fault injection).
    """
    targets = [(safe_target(root, rel), rel, content, mode) for rel, content, mode in changes]
    staging = root.parent / f".{root.name}.codeforge-{secrets.token_hex(4)}"
    staging.mkdir()
    done: list[tuple[Path, Path | None]] = []
    new_dirs: list[Path] = []
    pruned: list[Path] = []
    try:
        for index, (_, _rel, content, mode) in enumerate(targets):
            if content is None:
                continue
            staged = staging / f"n{index}"
            fd = os.open(
                staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if mode is None else mode
            )
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        for index, (target, rel, content, mode) in enumerate(targets):
            if before_each is not None:
                before_each(index, rel)
            exists = os.path.lexists(target)
            if exists and target.is_dir() and not target.is_symlink():
                raise ConflictError(f"{rel} is a folder in the project; a file belongs there")
            if content is not None and not exists:
                new_dirs.extend(_missing_parents(target.parent))
                target.parent.mkdir(parents=True, exist_ok=True)
            staged = staging / f"n{index}"
            if exists:
                old_mode = target.lstat().st_mode & 0o7777
                kept = staging / f"b{index}"
                os.replace(target, kept)
                done.append((target, kept))
                if content is not None and mode is None:
                    os.chmod(staged, old_mode)
            else:
                done.append((target, None))
            if content is not None:
                if mode is not None:
                    os.chmod(staged, mode)
                os.replace(staged, target)
        for target, _, content, _ in targets:
            if content is not None:
                continue
            parent = target.parent
            while parent != root and parent.is_relative_to(root) and _is_empty_dir(parent):
                parent.rmdir()
                pruned.append(parent)
                parent = parent.parent
    except BaseException as exc:
        for folder in reversed(pruned):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        for moved, backup_copy in reversed(done):
            try:
                if backup_copy is not None:
                    if os.path.lexists(moved) and not moved.is_dir():
                        moved.unlink()
                    os.replace(backup_copy, moved)
                elif os.path.lexists(moved) and not moved.is_dir():
                    moved.unlink()
            except OSError:
                pass
        for folder in reversed(new_dirs):
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise CodeForgeError(
                f"updating {root} failed and was undone: {exc.strerror or exc}",
                where=exc.filename,
            ) from exc
        raise
    finally:
        _remove_tree(staging)
