"""The blueprint resolver for local use (CLI, library, tests): every source :func:`resolve_source` knows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from codeforge.core.source import ResolvedSource
from codeforge.settings import Settings
from codeforge.sources import available_versions, builtin_names, builtin_root, resolve_source


class SourceResolver:
    """:class:`codeforge.core.source.BlueprintResolver` over built-ins, folders, git and plugins."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def resolve(
        self,
        ref: str,
        *,
        allow_local: bool,
        trust: bool,
        vcs_ref: str | None,
        refresh: bool,
    ) -> ResolvedSource:
        """See :func:`codeforge.sources.resolve_source`; trusted prefixes come from settings."""
        return resolve_source(
            ref,
            allow_local=allow_local,
            trust=trust,
            trusted_prefixes=self.settings.trusted_sources,
            vcs_ref=vcs_ref,
            refresh=refresh,
            settings=self.settings,
        )

    def builtin_folders(self) -> list[Path]:
        """The folders under ``templates/builtin``, by name."""
        return [builtin_root() / name for name in builtin_names()]

    def plugin_folders(self, warn: Callable[[str], None]) -> list[tuple[str, Path]]:
        """Installed ``codeforge.blueprints`` entry points (broken ones are warned about)."""
        from codeforge.sources.plugins import plugin_folders  # `init -t FOLDER` never needs it

        return plugin_folders(warn)

    def versions(self, source: str) -> list[tuple[str, str]]:
        """Every semver tag of a git source with its commit, lowest first."""
        return available_versions(source, self.settings)
