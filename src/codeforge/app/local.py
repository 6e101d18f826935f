"""The engine of the CLI, the library and the tests, wired with nothing a server needs.

Kept apart from ``codeforge.app.context`` so that a CLI run imports no database,
artifact-store, metrics or cache module: every ``codeforge init`` pays for what
this module imports, on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeforge.core.collaborators import FreshEnvironments, Recorder, Reporter
from codeforge.core.engine import SDLCEngine
from codeforge.integrations.git import GitVcs
from codeforge.plugins.manager import Plugins, build_plugins
from codeforge.settings import Settings, load_settings
from codeforge.sources.resolver import SourceResolver
from codeforge.templates.bytecode import SharedBytes

if TYPE_CHECKING:
    from codeforge.core.source import BlueprintResolver
    from codeforge.templates.schema import Blueprint


def shared_code() -> SharedBytes | None:
    """The process's shared compiled-code layer: Redis when configured, else None.

    Imported on the first render, and only with Redis configured (see the module docstring).
    """
    from codeforge.cache import shared_layer

    return shared_layer("cc")


def local_engine(
    settings: Settings | None = None,
    *,
    reporter: Reporter | None = None,
    recorder: Recorder | None = None,
    plugins: Plugins | None = None,
    resolver: BlueprintResolver | None = None,
) -> SDLCEngine:
    """The engine as the CLI, the library and the tests use it (see the module docstring),
    with what ``plugins`` (default: the installed ones) contribute: dialects,
    post-processors, formatters and lifecycle listeners. ``resolver`` replaces the one
    over every source (a fleet run's shared memo, :mod:`codeforge.app.fleet_memo`)."""
    settings = settings or load_settings()
    plugins = plugins or build_plugins()
    return SDLCEngine(
        settings,
        resolver=resolver or SourceResolver(settings),
        dialects=plugins.dialects(),
        vcs=GitVcs(),
        environments=FreshEnvironments(settings, shared_code),
        reporter=reporter,
        recorder=recorder,
        extensions=plugins.extensions(),
    )


def usable_blueprints(
    settings: Settings, *, reporter: Reporter | None = None
) -> list[tuple[Blueprint, str]]:
    """The blueprints ``init -t NAME`` can use, each with the NAME that asks for it."""
    from codeforge.sources import source_label

    blueprints = local_engine(settings, reporter=reporter).load_blueprints()
    return [(bp, source_label(bp.root)) for bp in blueprints]
