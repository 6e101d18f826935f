"""The sample plugin distribution, installed once for the plugin tests."""

from __future__ import annotations

from blueprint_factory import blueprint, codeforge_dirs, out
from plugin_support import hooks_site

__all__ = ["blueprint", "codeforge_dirs", "hooks_site", "out"]
