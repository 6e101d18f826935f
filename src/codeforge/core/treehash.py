"""One hash of a project's files: what a workflow stage's recorded inputs compare.

Files the project's top ``.gitignore`` excludes (caches, ``dist/``, virtual
environments) and version control folders do not count, so running the tests or
building a wheel does not make the next run see a changed project. Each file
counts by its path, mode and content hash; a caller can keep the content hashes
between runs (keyed by size, mtime, inode and mode), so an unchanged tree is not
read again.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

# Never part of a project's content, whatever its .gitignore says.
ALWAYS_IGNORED = frozenset({".git", ".hg", ".svn", "__pycache__"})
_CHUNK = 1 << 16
_RACY_SECONDS = 2.0


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    import pathspec  # only for projects with a .gitignore

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _walk(root: Path) -> list[tuple[str, Path]]:
    """The project's files (relative path, path), less the ignored ones, sorted."""
    spec = _ignore_spec(root)
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
    return sorted(entries)


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(rel: str, path: Path, cache: dict[str, list[Any]], now: float) -> bytes:
    """What one file adds to the hash; its content hash reused from ``cache`` while its
    size, mtime, inode and mode are unchanged (as git's index does)."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            return b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape")
        mode = info.st_mode & 0o777
        key = [info.st_size, info.st_mtime_ns, info.st_ino, mode]
        known = cache.get(rel)
        if known is not None and known[:4] == key:
            sha = str(known[4])
        else:
            sha = _file_sha(path)
            # A file changed within the clock's last ticks could change again unseen
            # with the same mtime: hash it again next time ("racy git").
            if info.st_mtime < now - _RACY_SECONDS:
                cache[rel] = [*key, sha]
        return b"%o\0%s" % (mode, sha.encode())
    except OSError:
        return b"unreadable"


def tree_hash(root: Path, cache: dict[str, list[Any]] | None = None) -> str:
    """SHA-256 over the sorted relative paths, modes and content hashes of the project's files.

    ``cache`` (relative path -> size, mtime, inode, mode, content hash), when given, is
    used and brought up to date in place: a rerun reads only the files that changed.
    """
    cache = {} if cache is None else cache
    digest = hashlib.sha256()
    now = time.time()
    seen = set()
    for rel, path in _walk(root):
        seen.add(rel)
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(_entry(rel, path, cache, now) + b"\0")
    for gone in set(cache) - seen:
        del cache[gone]
    return digest.hexdigest()
