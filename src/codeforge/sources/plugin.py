"""The built-in blueprint dialects (native, copier, cookiecutter), registered as a default plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.dialect import Dialect


@hookimpl
def codeforge_dialects() -> Sequence[Dialect]:
    """Native first (it wins over a foreign file beside it); copier's answers before cruft's."""
    # Imported when asked for: the CLI builds the plugin manager for `--help`, which
    # must not import the rendering stack.
    from codeforge.sources.dialects import builtin_dialects

    return builtin_dialects()
