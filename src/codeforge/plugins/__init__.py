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

import pluggy

PROJECT = "codeforge"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl"]
