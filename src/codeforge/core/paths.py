"""Checks on every output path (threat model, surfaces 2 and 3).

A rendered path is checked as text first (no absolute forms, no ``..``, no
control characters, no reserved or over-long names), then against the other
paths of the same plan (two sources must not land on one file, compared
case-folded and Unicode-normalised), and finally against the real destination
(no component may be a link, and the result must stay inside it).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from codeforge.errors import SecurityError

MAX_PART_BYTES = 255
MAX_PATH_BYTES = 4000
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_BAD_CHARS = set('<>:"|?*\\')


def check_relpath(rel: str, *, origin: str | None = None) -> str:
    """Return ``rel`` if it is a safe relative POSIX path; raise SecurityError otherwise."""
    where = origin or rel

    def refuse(why: str) -> SecurityError:
        return SecurityError(f"unsafe output path {rel!r}: {why}", where=where)

    if not rel:
        raise refuse("it is empty")
    if _CONTROL_RE.search(rel):
        raise refuse("it holds a NUL or control character")
    if rel.startswith(("/", "\\")) or _DRIVE_RE.match(rel) or rel.startswith("~"):
        raise refuse("it is absolute")
    if len(rel.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise refuse(f"it is longer than {MAX_PATH_BYTES} bytes")
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            raise refuse(f"it has a {part or 'empty'!r} component")
        if _BAD_CHARS.intersection(part):
            raise refuse(f'{part!r} holds a character that is not portable (<>:"|?*\\)')
        if part[-1] in (" ", "."):
            raise refuse(f"{part!r} ends with a space or a dot")
        if part.split(".")[0].upper().rstrip() in _WINDOWS_RESERVED:
            raise refuse(f"{part!r} is a reserved name on Windows")
        if len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES:
            raise refuse(f"a component is longer than {MAX_PART_BYTES} bytes")
    return rel


def fold(rel: str) -> str:
    """The form two paths collide in on case-insensitive, normalising file systems."""
    return unicodedata.normalize("NFC", rel).casefold()


class PathSet:
    """Rendered paths of one plan; refuses two sources landing on one path."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def add(self, rel: str, origin: str) -> None:
        # Every prefix is a folder; a file and a folder may not share a name either.
        key = fold(rel)
        other = self._seen.get(key)
        if other is not None and other != origin:
            raise SecurityError(
                f"{origin!r} and {other!r} both render to {rel!r} "
                "(paths are compared ignoring case and Unicode form)",
                where=origin,
            )
        self._seen[key] = origin

    def __contains__(self, rel: str) -> bool:
        return fold(rel) in self._seen


def safe_target(root: Path, rel: str, *, replace_link: bool = False) -> Path:
    """Join ``rel`` under ``root``, refusing any existing link on the way.

    ``replace_link``: ``rel`` itself may be a link, because the caller replaces the
    entry (a rename swaps the link, writing through nothing); its parents may not.
    """
    check_relpath(rel)
    current = str(root)
    parts = rel.split("/")
    last = len(parts) - 1
    for index, part in enumerate(parts):
        current = os.path.join(current, part)
        if not (replace_link and index == last) and os.path.islink(current):
            raise SecurityError(
                f"refusing to write through the link {current!r}",
                where=rel,
                hint="remove the link or generate into another folder",
            )
    return Path(current)
