"""The sample plugin distribution, installed once for the plugin tests."""

from __future__ import annotations

from plugin_support import hooks_site

__all__ = ["hooks_site"]
