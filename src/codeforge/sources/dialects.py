"""The dialects CodeForge ships.

The built-in dialects reach the engine as a default plugin's ``codeforge_dialects``
(codeforge.sources.plugin), ahead of any installed plugin's; the composition root
(``codeforge.app.context``) hands the plugins' dialects to the engine.
"""

from __future__ import annotations

from pathlib import Path

from codeforge.cache import shared_layer
from codeforge.core.blueprints import load_folder
from codeforge.core.dialect import Dialect
from codeforge.core.native import NativeDialect
from codeforge.sources.compat.dialect import CookiecutterDialect, CopierDialect
from codeforge.templates.schema import Blueprint


def builtin_dialects() -> list[Dialect]:
    """Native first (it wins over a foreign file beside it); copier's answers before cruft's.

    Native definitions share parses through Redis when it is configured.
    """
    return [
        NativeDialect(shared_definitions=lambda: shared_layer("bp")),
        CopierDialect(),
        CookiecutterDialect(),
    ]


def load_blueprint(folder: Path, *, cache_dir: Path | None = None) -> Blueprint:
    """The blueprint in ``folder``, in whichever built-in dialect it is written."""
    return load_folder(builtin_dialects(), folder, cache_dir)
