"""The three-way merge behind ``codeforge update``: decisions per file, and the text merge.

Three versions of every path meet here: *base* (the recorded blueprint version
rendered with the recorded answers), *theirs* (the target version rendered with
the updated answers) and *ours* (the file in the project). The rules:

=====================================  ==========================================
base / theirs / ours                   outcome
=====================================  ==========================================
base == theirs                         untouched (the project's file is not read)
ours == base                           take theirs (add, update, chmod, delete)
ours == theirs                         nothing to do
only in theirs, absent in project      added
ours missing, base present             deleted by the user: stays deleted
dropped by the blueprint, ours == base removed
dropped by the blueprint, ours changed kept, reported
changed on both sides (text)           merged; conflicts as markers or ``.rej``
changed on both sides (binary)         ours kept, theirs written as ``path.rej``
added on both sides, differently       a conflict against an empty base
``skip_if_exists`` in theirs           the project's file is never changed
a link inside the project              not touched, reported
a link the blueprint adds or moves     not written, reported (``ln -sfn``)
=====================================  ==========================================

The executable bit merges the same way as content (ours == base → theirs).
A project file whose lines all end in CRLF where the blueprint writes LF is
compared and merged in LF and written back in CRLF: a newline-style change
alone is not an edit. Nothing here writes: the result is a list of changes
that :mod:`codeforge.core.update` applies in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from codeforge.core.plan import PlannedFile
from codeforge.core.plan import is_binary as is_binary  # re-exported: merge.is_binary

INLINE = "inline"
REJ = "rej"
CONFLICT_STYLES = (INLINE, REJ)


@dataclasses.dataclass(frozen=True, slots=True)
class Ours:
    """The project's side of one path."""

    content: bytes
    mode: int
    link: bool = False  # a symlink staying inside the project: never touched


@dataclasses.dataclass(slots=True)
class Change:
    """One path the update writes or removes."""

    path: str
    action: str  # add | update | merge | conflict | delete | chmod
    content: bytes | None  # the new bytes; None removes the file
    mode: int | None  # the new permission bits; None: keep (or the default for new files)
    before: bytes | None  # the project's bytes now (None: the file does not exist)
    note: str = ""


@dataclasses.dataclass(slots=True)
class Kept:
    """A path the update leaves alone although the blueprint changed it, and why."""

    path: str
    reason: str


@dataclasses.dataclass
class MergeResult:
    changes: list[Change] = dataclasses.field(default_factory=list)
    kept: list[Kept] = dataclasses.field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action == "conflict"]


TextMerge = Callable[[bytes, bytes, bytes], tuple[bytes, bool]]  # (base, ours, theirs) → merged


def _executable(mode: int) -> bool:
    return bool(mode & 0o111)


def _with_exec(mode: int, executable: bool) -> int:
    """``mode`` with the execute bits following its read bits (or cleared)."""
    if executable:
        return mode | ((mode & 0o444) >> 2) or 0o755
    return mode & ~0o111


def _crlf_only(data: bytes) -> bool:
    return b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")


def unified(path: str, old: bytes | None, new: bytes | None) -> str:
    """A unified diff of one file (``/dev/null`` for a missing side; binary files summarised)."""
    import difflib

    old_b = old or b""
    new_b = new or b""
    if is_binary(old_b) or is_binary(new_b):
        return f"Binary files {'a/' + path if old is not None else '/dev/null'} and " + (
            f"{'b/' + path if new is not None else '/dev/null'} differ\n"
        )
    old_lines = old_b.decode("utf-8").splitlines(keepends=True)
    new_lines = new_b.decode("utf-8").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old_lines,
        new_lines,
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _merged_mode(o: Ours, b: PlannedFile | None, t: PlannedFile) -> int | None:
    """The project's new permission bits, the executable bit merged three ways (None: keep)."""
    b_exec = _executable(b.mode) if b is not None else _executable(t.mode)
    o_exec = _executable(o.mode)
    new_exec = _executable(t.mode) if o_exec == b_exec else o_exec
    return None if new_exec == o_exec else _with_exec(o.mode, new_exec)


def _crlf_out(data: bytes, crlf: bool) -> bytes:
    """``data`` in the project's newline style: LF turned back into CRLF when it uses CRLF."""
    return data.replace(b"\n", b"\r\n") if crlf else data


def _link_kept(o: Ours | None, t: PlannedFile | None) -> str | None:
    """Why a path with a link on either side is left alone (None: merge it)."""
    if o is not None and o.link:
        return "it is a link in the project; not touched"
    if t is not None and t.link is not None:
        # Changes are bytes written in one transaction; a link is made by hand.
        return f"the blueprint has a link to {t.link} here; make it with `ln -sfn`"
    return None


class Merger:
    """Decide, path by path, what an update does; ``read_ours`` is called only when needed."""

    def __init__(
        self,
        read_ours: Callable[[str], Ours | None],
        text_merge: TextMerge,
        *,
        style: str = INLINE,
    ) -> None:
        if style not in CONFLICT_STYLES:
            raise ValueError(f"unknown conflict style {style!r}")
        self.read_ours = read_ours
        self.text_merge = text_merge
        self.style = style

    def merge(
        self, base: Mapping[str, PlannedFile], theirs: Mapping[str, PlannedFile]
    ) -> MergeResult:
        result = MergeResult()
        for path in sorted(base.keys() | theirs.keys()):
            b = base.get(path)
            t = theirs.get(path)
            if (
                b is not None
                and t is not None
                and b.content == t.content
                and b.link == t.link
                and _executable(b.mode) == _executable(t.mode)
            ):
                continue  # the blueprint did not change it: the project's file is not read
            self._one(path, b, t, result)
        return result

    def _one(
        self, path: str, b: PlannedFile | None, t: PlannedFile | None, result: MergeResult
    ) -> None:
        """Decide what the update does with one path the blueprint changed."""
        o = self.read_ours(path)
        if (reason := _link_kept(o, t)) is not None:
            result.kept.append(Kept(path, reason))
        elif t is None:
            assert b is not None
            self._dropped(path, o, b, result)
        elif o is None:
            if b is None:
                result.changes.append(Change(path, "add", t.content, t.mode, None))
            else:
                result.kept.append(Kept(path, "you deleted it; it stays deleted"))
        elif t.skip_if_exists:
            if o.content != t.content:
                result.kept.append(Kept(path, "skip_if_exists: the project's file is kept"))
        else:
            self._update(path, o, b, t, result)

    def _dropped(self, path: str, o: Ours | None, b: PlannedFile, result: MergeResult) -> None:
        """A path the blueprint dropped: removed if the project left it alone, else kept."""
        if o is None:
            return
        if self._same(o, b):
            result.changes.append(Change(path, "delete", None, None, o.content))
        else:
            result.kept.append(Kept(path, "the blueprint dropped it, but you changed it"))

    def _update(
        self, path: str, o: Ours, b: PlannedFile | None, t: PlannedFile, result: MergeResult
    ) -> None:
        """Merge a path that both the project and the target version have."""
        crlf = b is not None and not _crlf_only(b.content) and _crlf_only(o.content)
        o_content = o.content.replace(b"\r\n", b"\n") if crlf else o.content
        new_mode = _merged_mode(o, b, t)
        chmod = Change(path, "chmod", o.content, new_mode, o.content)
        if o_content == t.content:
            if new_mode is not None:
                result.changes.append(chmod)
            return
        if b is not None and o_content == b.content:
            new = _crlf_out(t.content, crlf)
            action = "update" if new != o.content else "chmod"
            if new != o.content or new_mode is not None:
                result.changes.append(Change(path, action, new, new_mode, o.content))
            return
        # Changed on both sides (or added on both sides differently).
        base_content = b.content if b is not None else b""
        how = "changed" if b is not None else "added"
        if is_binary(o_content) or t.binary or is_binary(t.content) or is_binary(base_content):
            result.changes.append(self._binary_rej(path, t.content, how))
        else:
            merged, conflicted = self.text_merge(base_content, o_content, t.content)
            if conflicted and self.style != INLINE:
                old = base_content if b is not None else None
                result.changes.append(self._text_rej(path, old, t.content, how))
            else:
                note = f"{how} on both sides: conflict markers written" if conflicted else ""
                action = "conflict" if conflicted else "merge"
                merged = _crlf_out(merged, crlf)
                result.changes.append(Change(path, action, merged, new_mode, o.content, note))
                return
        if new_mode is not None:
            result.changes.append(chmod)

    def _binary_rej(self, path: str, theirs: bytes, how: str) -> Change:
        """Theirs written beside a binary file changed on both sides, as ``path.rej``."""
        return Change(
            f"{path}.rej",
            "conflict",
            theirs,
            None,
            self._current(f"{path}.rej"),
            note=f"binary file {how} on both sides: yours kept, the blueprint's "
            f"version written to {path}.rej",
        )

    def _text_rej(self, path: str, base: bytes | None, theirs: bytes, how: str) -> Change:
        """The blueprint's change to a text file changed on both sides, as ``path.rej``."""
        return Change(
            f"{path}.rej",
            "conflict",
            unified(path, base, theirs).encode("utf-8"),
            None,
            self._current(f"{path}.rej"),
            note=f"{how} on both sides: yours kept, the blueprint's change in {path}.rej",
        )

    def _same(self, o: Ours, b: PlannedFile) -> bool:
        if o.content == b.content:
            return True
        return not _crlf_only(b.content) and o.content.replace(b"\r\n", b"\n") == b.content

    def _current(self, path: str) -> bytes | None:
        existing = self.read_ours(path)
        if existing is not None and existing.link:
            from codeforge.errors import SecurityError

            raise SecurityError(f"refusing to write the conflict file through the link {path}")
        return existing.content if existing is not None else None
