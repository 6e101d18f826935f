"""Plugins: pluggy hook specifications and the manager that loads ``codeforge.plugins`` entry points.

A plugin is an installed distribution that declares, in its ``pyproject.toml``::

    [project.entry-points."codeforge.plugins"]
    acme = "acme_codeforge.plugin"

and implements hooks from :mod:`codeforge.plugins.hookspecs` with the
:data:`hookimpl` marker. CodeForge's own features register through the same
hooks as default plugins (see :mod:`codeforge.plugins.manager`). Nothing is
loaded at import: the composition root builds the manager with
:func:`codeforge.plugins.manager.build_plugins`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy

    hookimpl: pluggy.HookimplMarker

PROJECT = "codeforge"

__all__ = ["PROJECT", "hookimpl"]


def __getattr__(name: str) -> object:
    # pluggy is imported with the first plugin module, not with the package:
    # `codeforge --help` asks codeforge.plugins.discovery and may need no manager.
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker(PROJECT)
        globals()["hookimpl"] = marker
        return marker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
