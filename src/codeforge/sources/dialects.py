"""The dialects CodeForge ships, and the engine wired with them for local use.

The built-in dialects reach the engine as a default plugin's ``codeforge_dialects``
(codeforge.sources.plugin), ahead of any installed plugin's. :func:`local_engine`
is the wiring for the CLI, the library and the tests: every source, git through
the hardened wrapper, fresh render environments, and what plugins contribute.
"""

from __future__ import annotations

from pathlib import Path

from codeforge.cache.shared import default_shared
from codeforge.core.blueprints import load_folder
from codeforge.core.collaborators import Recorder, Reporter
from codeforge.core.dialect import Dialect
from codeforge.core.engine import SDLCEngine
from codeforge.core.native import NativeDialect
from codeforge.core.settings import Settings, load_settings
from codeforge.integrations.git import GitVcs
from codeforge.plugins.manager import Plugins, build_plugins
from codeforge.sources.compat.dialect import CookiecutterDialect, CopierDialect
from codeforge.sources.resolver import SourceResolver
from codeforge.templates.schema import Blueprint


def builtin_dialects() -> list[Dialect]:
    """Native first (it wins over a foreign file beside it); copier's answers before cruft's.

    Native definitions share parses through Redis when it is configured.
    """
    return [
        NativeDialect(shared_definitions=lambda: default_shared("bp")),
        CopierDialect(),
        CookiecutterDialect(),
    ]


def local_engine(
    settings: Settings | None = None,
    *,
    reporter: Reporter | None = None,
    recorder: Recorder | None = None,
    plugins: Plugins | None = None,
) -> SDLCEngine:
    """The engine as the CLI and the library use it (see the module docstring), with what
    ``plugins`` (default: the installed ones) contribute: dialects, post-processors,
    formatters and lifecycle listeners."""
    settings = settings or load_settings()
    plugins = plugins or build_plugins()
    return SDLCEngine(
        settings,
        resolver=SourceResolver(settings),
        dialects=plugins.dialects(),
        vcs=GitVcs(),
        reporter=reporter,
        recorder=recorder,
        extensions=plugins.extensions(),
    )


def load_blueprint(folder: Path, *, cache_dir: Path | None = None) -> Blueprint:
    """The blueprint in ``folder``, in whichever built-in dialect it is written."""
    return load_folder(builtin_dialects(), folder, cache_dir)
