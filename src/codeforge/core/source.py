"""Where a blueprint comes from, as the core sees it: a resolved folder and a resolver protocol.

The core never finds blueprints itself: an adapter's composition root passes a
:class:`BlueprintResolver` (``codeforge.sources.SourceResolver`` for the CLI and
the library; the servers' resolver for built-in and registered blueprints only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """A blueprint folder found for a reference, and how far to trust it."""

    path: Path  # folder holding the definition
    # how to find it again: builtin:NAME, plugin:NAME, a folder, a git URL (no credentials)
    source: str
    trusted: bool
    kind: str  # builtin | local | git | plugin | registered
    ref: str | None = None  # git: the tag, branch or commit asked for (or chosen by default)
    commit: str | None = None  # git: the full commit id that was checked out
    warnings: tuple[str, ...] = ()  # for the adapter to show (uncommitted changes, submodules)


class BlueprintResolver(Protocol):
    """Finds blueprint folders: what ``-t`` names, what is installed, a source's versions."""

    def resolve(
        self,
        ref: str,
        *,
        allow_local: bool,
        trust: bool,
        vcs_ref: str | None,
        refresh: bool,
    ) -> ResolvedSource:
        """The folder ``ref`` names (git: at ``vcs_ref``, fetched first with ``refresh``)."""
        ...

    def builtin_folders(self) -> list[Path]:
        """The built-in blueprints' folders, in name order."""
        ...

    def plugin_folders(self, warn: Callable[[str], None]) -> list[tuple[str, Path]]:
        """(name, folder) of each installed plugin blueprint; ``warn`` hears broken ones."""
        ...

    def versions(self, source: str) -> list[tuple[str, str]]:
        """(tag, commit) of every release of a git source, lowest first."""
        ...
