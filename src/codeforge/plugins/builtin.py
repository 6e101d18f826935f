"""CodeForge's own rendering features, registered as a default plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.postprocess import Formatter


@hookimpl
def codeforge_formatters() -> Mapping[str, Formatter]:
    """The formatters a blueprint can name: ``ruff-format`` and ``ruff-fix``."""
    # Imported when asked for: every CLI run builds the plugin manager, and the
    # rendering stack (Jinja) is not needed by `codeforge --help`.
    from codeforge.core.postprocess import BUILTIN_FORMATTERS

    return BUILTIN_FORMATTERS
