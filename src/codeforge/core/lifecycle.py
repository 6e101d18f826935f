"""Lifecycle events: what the core tells listeners around a generation or an update.

The core holds no plugin code. It takes a :class:`Lifecycle` collaborator and
calls it at fixed points; the composition root passes one that forwards each
event to the plugins' ``codeforge_before_render``, ``codeforge_after_generate``,
``codeforge_after_update`` and ``codeforge_after_publish`` hooks.

Events are named tuples (immutable, compared field by field) rather than frozen
dataclasses: every ``codeforge init`` imports this module, and a dataclass costs the
compilation of its generated methods at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol


class RenderEvent(NamedTuple):
    """Answers are resolved and the files are about to be rendered."""

    project_name: str
    blueprint_name: str
    blueprint_version: str
    answers: Mapping[str, Any]  # public answers only: secrets are left out
    destination: Path | None  # None when the plan goes to a zip or a dry run


class GenerateEvent(NamedTuple):
    """A project was generated (into a folder, or in memory for a zip)."""

    project_name: str
    blueprint_name: str
    blueprint_version: str
    answers: Mapping[str, Any]
    destination: Path | None
    files: Sequence[str]  # POSIX paths relative to the destination
    dry_run: bool


class UpdateEvent(NamedTuple):
    """A project was moved to another blueprint version (not sent for a dry run)."""

    project_name: str
    blueprint_name: str
    old_version: str
    new_version: str
    destination: Path
    changed: Sequence[str]
    conflicts: Sequence[str]  # files left with conflict markers (or FILE.rej)


class PublishEvent(NamedTuple):
    """A project was published somewhere (a forge, a registry, a deploy target)."""

    project_name: str
    target: str
    url: str | None


class Lifecycle(Protocol):
    """Where the core reports its lifecycle events."""

    def before_render(self, event: RenderEvent) -> None:
        """Answers are final; rendering starts."""

    def after_generate(self, event: GenerateEvent) -> None:
        """The project is written (or, in a dry run, planned)."""

    def after_update(self, event: UpdateEvent) -> None:
        """The update is merged into the project."""

    def after_publish(self, event: PublishEvent) -> None:
        """The project was published."""


class SilentLifecycle:
    """The lifecycle when nobody listens (a bare core, most unit tests)."""

    def before_render(self, event: RenderEvent) -> None:
        """Nothing to tell."""

    def after_generate(self, event: GenerateEvent) -> None:
        """Nothing to tell."""

    def after_update(self, event: UpdateEvent) -> None:
        """Nothing to tell."""

    def after_publish(self, event: PublishEvent) -> None:
        """Nothing to tell."""


SILENT = SilentLifecycle()
