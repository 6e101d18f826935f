"""The project's side of an update: reading its files safely, refusing a dirty tree, applying changes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from codeforge.core.merge import Change, Ours
from codeforge.core.paths import check_relpath
from codeforge.core.sinks import apply_changes
from codeforge.core.vcs import Vcs
from codeforge.errors import ConflictError, SecurityError

ProjectReader = Callable[[str], Ours | None]


def refuse_dirty(vcs: Vcs, project: Path) -> None:
    """Refuse a git working tree with uncommitted changes: they must stay recoverable."""
    dirty = vcs.changed_paths(project)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
        raise ConflictError(
            f"{project} has uncommitted changes ({shown})",
            hint="commit or stash them first so the update can be undone, or pass --force",
        )


def project_reader(project: Path) -> ProjectReader:
    """``read(rel) -> Ours | None`` for the project; refuses links that leave the project."""
    root = str(project)
    real_root = os.path.realpath(root)

    def read(rel: str) -> Ours | None:
        check_relpath(rel)
        current = root
        parts = rel.split("/")
        for depth, part in enumerate(parts):
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(current)
                if real != real_root and not real.startswith(real_root + os.sep):
                    raise SecurityError(
                        f"{'/'.join(parts[: depth + 1])} is a link leading out of the project "
                        f"(to {os.readlink(current)}); the update would write through it",
                        where=rel,
                        hint="replace the link with a real file or folder, then update again",
                    )
                return Ours(b"", st.st_mode & 0o7777, link=True)
            if depth < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                return None  # a file where the blueprint has a folder: the write will fail
        if stat.S_ISDIR(st.st_mode):
            raise ConflictError(f"{rel} is a folder in the project; the blueprint has a file there")
        with open(current, "rb") as handle:
            return Ours(handle.read(), st.st_mode & 0o7777)

    return read


def apply(project: Path, changes: Sequence[Change]) -> None:
    """Write every change in one transaction (:func:`codeforge.core.sinks.apply_changes`)."""
    if changes:
        apply_changes(project, [(c.path, c.content, c.mode) for c in changes])
