"""One hash of a project's files: what a workflow stage's recorded inputs compare.

Files the project's top ``.gitignore`` excludes (caches, ``dist/``, virtual
environments) and version control folders do not count, so running the tests or
building a wheel does not make the next run see a changed project.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

# Never part of a project's content, whatever its .gitignore says.
ALWAYS_IGNORED = frozenset({".git", ".hg", ".svn", "__pycache__"})
_CHUNK = 1 << 16


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    import pathspec  # only for projects with a .gitignore

    return pathspec.GitIgnoreSpec.from_lines(lines)


def tree_hash(root: Path) -> str:
    """SHA-256 over the sorted relative paths, modes and contents of the project's files."""
    spec = _ignore_spec(root)
    digest = hashlib.sha256()
    entries: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        kept = []
        for name in dirs:
            ignored = spec is not None and spec.match_file(f"{prefix}{name}/")
            if name in ALWAYS_IGNORED or ignored:
                continue
            kept.append(name)
        dirs[:] = kept
        for name in files:
            rel = f"{prefix}{name}"
            if spec is None or not spec.match_file(rel):
                entries.append((rel, Path(folder, name)))
    for rel, path in sorted(entries):
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            if path.is_symlink():
                digest.update(b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
                continue
            digest.update(b"%o\0" % (path.stat().st_mode & 0o777))
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\0")
    return digest.hexdigest()
