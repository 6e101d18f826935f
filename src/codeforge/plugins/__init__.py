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

from collections.abc import Callable
from typing import Any, TypeVar, overload

PROJECT = "codeforge"
# Where :data:`hookimpl` keeps a function's hook options (pluggy's HookimplOpts keys);
# the manager reads it (PluginManager.parse_hookimpl_opts), and so does the
# default-plugins path, which needs no pluggy at all.
IMPL_ATTRIBUTE = "_codeforge_hookimpl"

__all__ = ["IMPL_ATTRIBUTE", "PROJECT", "hookimpl"]

F = TypeVar("F", bound=Callable[..., Any])


@overload
def hookimpl(function: F, /) -> F: ...
@overload
def hookimpl(
    *, tryfirst: bool = False, trylast: bool = False, specname: str | None = None
) -> Callable[[F], F]: ...


def hookimpl(
    function: F | None = None,
    /,
    *,
    tryfirst: bool = False,
    trylast: bool = False,
    specname: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a CodeForge hook implementation (``@hookimpl`` or ``@hookimpl(...)``).

    The options are pluggy's (``tryfirst``, ``trylast``, ``specname``); a plugin may
    equally use ``pluggy.HookimplMarker("codeforge")``.
    """

    def mark(func: F) -> F:
        opts = {
            "wrapper": False,
            "hookwrapper": False,
            "optionalhook": False,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
        }
        setattr(func, IMPL_ATTRIBUTE, opts)
        return func

    return mark(function) if function is not None else mark
