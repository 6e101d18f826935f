"""The version control the core needs, as a protocol: the git wrapper in integrations implements it.

The core commits a new project, asks whether a project has uncommitted changes
before an update, and merges text three ways; it never runs ``git`` itself.
Failures raise :class:`~codeforge.errors.GitError` (``GitMissing`` when the
tool is not installed), which the core catches where a missing git is not fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Vcs(Protocol):
    """Version-control operations on a local folder."""

    def commit_all(
        self, path: Path, message: str, *, author_name: str | None, author_email: str | None
    ) -> str:
        """Make ``path`` a repository holding one commit of every file; the commit id."""
        ...

    def changed_paths(self, project: Path) -> list[str] | None:
        """Uncommitted changes under ``project``; None when it is not in a repository."""
        ...

    def merge_text(
        self, labels: tuple[str, str, str], base: bytes, ours: bytes, theirs: bytes
    ) -> tuple[bytes, bool]:
        """Three-way text merge: (result, whether it holds conflicts)."""
        ...
