"""Where blueprints come from: built-ins (package data) and local folders."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from codeforge.core.errors import NotFoundError, SecurityError

BUILTIN_PREFIX = "builtin:"


def builtin_root() -> Path:
    return Path(__file__).resolve().parent.parent / "templates" / "builtin"


def builtin_names() -> list[str]:
    root = builtin_root()
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith((".", "_"))
    )


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    path: Path  # folder holding the definition
    source: str  # how to find it again: builtin:NAME or an absolute folder path
    trusted: bool
    kind: str  # builtin | local | git | plugin | registered
    ref: str | None = None  # git: the tag, branch or commit asked for (or chosen by default)
    commit: str | None = None  # git: the full commit id that was checked out


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or os.sep in ref or "/" in ref


def normalise_source(source: str) -> str:
    """The form trusted-source prefixes are compared in."""
    if source.startswith(BUILTIN_PREFIX):
        return source
    if "://" in source or source.startswith(("gh:", "gl:", "git@")):
        return source.rstrip("/")
    return str(Path(source).expanduser().resolve())


def is_trusted(source: str, trusted_prefixes: Sequence[str]) -> bool:
    normal = normalise_source(source)
    for prefix in trusted_prefixes:
        norm_prefix = normalise_source(prefix)
        if normal == norm_prefix or normal.startswith(norm_prefix.rstrip("/") + "/"):
            return True
    return False


def resolve_source(
    ref: str, *, allow_local: bool, trust: bool, trusted_prefixes: Sequence[str] = ()
) -> ResolvedSource:
    """Turn what the user typed after ``-t`` into a folder and a trust decision."""
    if not ref or ref.strip() != ref:
        raise NotFoundError(f"invalid blueprint reference {ref!r}")
    name = ref[len(BUILTIN_PREFIX) :] if ref.startswith(BUILTIN_PREFIX) else ref
    if name in builtin_names():
        return ResolvedSource(builtin_root() / name, BUILTIN_PREFIX + name, True, "builtin")
    if ref.startswith(BUILTIN_PREFIX):
        raise NotFoundError(
            f"no built-in blueprint named {name!r}",
            hint=f"built-ins: {', '.join(builtin_names())}",
        )
    if _looks_like_path(ref) or Path(ref).is_dir():
        if not allow_local:
            raise SecurityError("local folders are not accepted as blueprint sources here")
        path = Path(ref).expanduser().resolve()
        if not path.is_dir():
            raise NotFoundError(f"blueprint folder {ref!r} does not exist")
        source = str(path)
        return ResolvedSource(path, source, trust or is_trusted(source, trusted_prefixes), "local")
    raise NotFoundError(
        f"no blueprint named {ref!r}",
        hint=f"built-ins: {', '.join(builtin_names())}; or give a folder path like ./my-blueprint",
    )
