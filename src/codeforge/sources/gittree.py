"""A commit's files written into a new folder from git objects, under the git caps.

Entries are read with ``ls-tree`` and blobs with ``cat-file`` (never a checkout,
so no filter, hook or attribute of the template repository runs). Regular files
keep their executable bit; links are made last and only when their target stays
inside the tree; ``..``, absolute and ``.git`` paths refuse the whole tree;
submodules (gitlinks) become empty folders. The caps (``git.max_files``,
``git.max_bytes``, ``git.timeout``) come from :func:`git_options`.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.errors import ResourceLimitError, SecurityError, UsageError
from codeforge.integrations import git
from codeforge.settings import Settings

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_FILES = 20_000
_BLOB_CHUNK = 32 * 1024 * 1024  # blobs read per cat-file call


@dataclasses.dataclass(frozen=True)
class GitOptions:
    """Caps on git sources (threat model, surface 5)."""

    timeout: float = git.GIT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES


def git_options(settings: Settings, env: Mapping[str, str] | None = None) -> GitOptions:
    """Caps from ``CODEFORGE_GIT_*`` > the config's ``[git]`` table > defaults."""
    env = os.environ if env is None else env
    table = settings.raw.get("git", {}) if isinstance(settings.raw, Mapping) else {}
    if not isinstance(table, Mapping):
        raise UsageError("[git] must be a table", where=str(settings.config_file))

    def pick(key: str, cast: type[Any], default: Any) -> Any:
        env_name = f"CODEFORGE_GIT_{key.upper()}"
        raw = env.get(env_name) or table.get(key)
        if raw is None:
            return default
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            value = None
        if value is None or value <= 0:
            where = env_name if env.get(env_name) else f"{settings.config_file} [git] {key}"
            raise UsageError(f"git.{key} must be a positive number, not {raw!r}", where=where)
        return value

    return GitOptions(
        timeout=pick("timeout", float, git.GIT_TIMEOUT),
        max_bytes=pick("max_bytes", int, DEFAULT_MAX_BYTES),
        max_files=pick("max_files", int, DEFAULT_MAX_FILES),
    )


def submodule_warnings(paths: list[str]) -> list[str]:
    """The warning naming the submodule folders left empty (none when there are none)."""
    if not paths:
        return []
    return [f"submodules are never fetched; these folders are empty: {', '.join(paths)}"]


def _check_entry_path(path: str, where: str) -> None:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or any(p.lower() == ".git" for p in parts)
        or any(ord(c) < 0x20 for c in path)
    ):
        raise SecurityError(f"the repository holds an unsafe path {path!r}", where=where)


@dataclasses.dataclass
class _Listing:
    """A commit's entries by kind: files (path, oid, mode, size), links (path, oid), submodules."""

    files: list[tuple[str, str, int, int]] = dataclasses.field(default_factory=list)
    links: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    submodules: list[str] = dataclasses.field(default_factory=list)


def _list_entries(repo: Path, commit: str, options: GitOptions, where: str) -> _Listing:
    """The commit's entries sorted by kind, every path checked, the caps applied."""
    entries = git.tree_entries(repo, commit, timeout=options.timeout)
    if len(entries) > options.max_files:
        raise ResourceLimitError(
            f"the commit has more than {options.max_files} files",
            where=where,
            hint="raise git.max_files in the config if you trust this repository",
        )
    listing = _Listing()
    for mode, oid, path, size in entries:
        _check_entry_path(path, where)
        if mode == "160000":
            listing.submodules.append(path)
        elif mode == "120000":
            listing.links.append((path, oid))
        elif mode in ("100644", "100664", "100755"):
            listing.files.append((path, oid, 0o755 if mode == "100755" else 0o644, size))
        else:
            raise SecurityError(
                f"the repository holds {path!r} with unknown mode {mode}", where=where
            )
    if sum(size for *_, size in listing.files) > options.max_bytes:
        raise ResourceLimitError(
            f"the commit's files hold more than {options.max_bytes} bytes",
            where=where,
            hint="raise git.max_bytes in the config if you trust this repository",
        )
    return listing


def _checked_links(
    repo: Path, links: list[tuple[str, str]], options: GitOptions, where: str
) -> list[tuple[str, str]]:
    """(path, target) of each link; any target that leaves the tree refuses the source."""
    targets = git.read_blobs(repo, [oid for _, oid in links], timeout=options.timeout)
    checked: list[tuple[str, str]] = []
    for path, oid in links:
        target = targets[oid].decode("utf-8", "surrogateescape")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if (
            not target
            or target.startswith("/")
            or "\0" in target
            or joined == ".."
            or joined.startswith("../")
            or any(p.lower() == ".git" for p in joined.split("/"))
        ):
            raise SecurityError(
                f"the link {path!r} points outside the repository ({target!r})", where=where
            )
        checked.append((path, target))
    return checked


def _write_files(
    repo: Path, root: Path, files: list[tuple[str, str, int, int]], options: GitOptions
) -> None:
    """Write the files, reading their blobs in batches of about ``_BLOB_CHUNK`` bytes."""
    batch: list[tuple[str, str, int, int]] = []
    batch_bytes = 0

    def flush() -> None:
        blobs = git.read_blobs(repo, [oid for _, oid, _, _ in batch], timeout=options.timeout)
        for path, oid, mode, _ in batch:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(blobs[oid])
            os.chmod(target, mode)  # whatever the umask

    for item in files:
        batch.append(item)
        batch_bytes += item[3]
        if batch_bytes >= _BLOB_CHUNK:
            flush()
            batch, batch_bytes = [], 0
    if batch:
        flush()


def extract_tree(repo: Path, commit: str, dest: Path, options: GitOptions, where: str) -> list[str]:
    """Write ``commit``'s files under the new folder ``dest``; returns skipped submodule paths."""
    listing = _list_entries(repo, commit, options, where)
    links = _checked_links(repo, listing.links, options, where)
    dest.mkdir(parents=True)
    root = dest.resolve()
    for path in listing.submodules:
        (root / path).mkdir(parents=True, exist_ok=True)
    _write_files(repo, root, listing.files, options)
    for path, target in links:
        link = root / path
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
    return listing.submodules
