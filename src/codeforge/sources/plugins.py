"""Blueprints shipped by installed packages: the ``codeforge.blueprints`` entry-point group.

The contract for a plugin distribution, in its ``pyproject.toml``::

    [project.entry-points."codeforge.blueprints"]
    fastapi-shop = "shop_blueprints:FASTAPI_SHOP"

* The entry point's **name** is the blueprint's name for ``-t``: ``-t fastapi-shop``
  (looked up after the built-ins) or ``-t plugin:fastapi-shop`` (only plugins).
  Names: lowercase letters, digits, ``.``, ``_`` and ``-``, starting with a
  letter or digit. Keep it equal to the ``name`` in the blueprint's definition.
* The entry point's **value** gives the blueprint folder (the one holding
  ``blueprint.yaml``/``.toml``), as one of:

  - a ``str`` or ``os.PathLike`` (``pathlib.Path``, or
    ``importlib.resources.files(...)`` of a package installed as files): an
    absolute path;
  - a callable taking no argument that returns one of those;
  - a package (``"shop_blueprints.fastapi_shop"`` with no ``:attr``): its folder.

Nothing is imported until a plugin blueprint is asked for or listed. A plugin
that fails to import, gives something else, or names a missing folder is
reported with its distribution and entry point (``BlueprintError`` when it is
the one asked for; a warning when listing). Two distributions with the same
entry-point name make that name ambiguous (an error naming both).

Plugin blueprints are installed Python code the user chose, but their tasks
still run only with ``--trust`` or a ``plugin:NAME`` entry in ``trusted_sources``,
like any other source. They record ``plugin:NAME`` as their source and no git
ref or commit.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from codeforge.errors import BlueprintError, NotFoundError

if TYPE_CHECKING:
    from importlib import metadata

GROUP = "codeforge.blueprints"
PLUGIN_PREFIX = "plugin:"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclasses.dataclass(frozen=True)
class PluginEntry:
    name: str
    value: str
    distribution: str
    version: str
    entry_point: metadata.EntryPoint

    @property
    def label(self) -> str:
        """How messages name the plugin: distribution, version and entry point."""
        return f"entry point {self.name!r} = {self.value!r} of {self.distribution} {self.version}"


def plugin_entries() -> list[PluginEntry]:
    """Every entry point in the ``codeforge.blueprints`` group (nothing imported)."""
    found = []
    from importlib import metadata  # parsing every distribution: only when plugins are asked for

    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist
        found.append(
            PluginEntry(
                name=ep.name,
                value=ep.value,
                distribution=dist.name if dist is not None else "(unknown distribution)",
                version=(dist.version or "") if dist is not None else "",
                entry_point=ep,
            )
        )
    return sorted(found, key=lambda e: (e.name, e.distribution))


def plugin_names() -> list[str]:
    return sorted({e.name for e in plugin_entries() if _NAME_RE.match(e.name)})


def _folder_of(entry: PluginEntry) -> Path:
    try:
        obj: object = entry.entry_point.load()
    except Exception as exc:  # any import error in third-party code is the plugin's fault
        raise BlueprintError(
            f"the plugin blueprint cannot be loaded: {type(exc).__name__}: {exc}",
            where=entry.label,
            hint=f"reinstall or uninstall {entry.distribution}",
        ) from exc
    if isinstance(obj, types.ModuleType):
        files = getattr(obj, "__file__", None)
        if files is None:
            raise BlueprintError("the plugin's package has no folder on disk", where=entry.label)
        obj = Path(files).parent
    elif callable(obj) and not isinstance(obj, (str, os.PathLike)):
        func: Callable[[], object] = obj
        try:
            obj = func()
        except Exception as exc:
            raise BlueprintError(
                f"the plugin's function failed: {type(exc).__name__}: {exc}", where=entry.label
            ) from exc
    if not isinstance(obj, (str, os.PathLike)):
        raise BlueprintError(
            f"the plugin gives a {type(obj).__name__}, not a folder path",
            where=entry.label,
            hint="point the entry point at a path, a function returning one, or a package",
        )
    path = Path(os.fspath(obj))
    if not path.is_absolute():
        raise BlueprintError(f"the plugin gives a relative path {str(path)!r}", where=entry.label)
    if not path.is_dir():
        raise BlueprintError(f"the plugin's folder {str(path)!r} does not exist", where=entry.label)
    return path.resolve()


def plugin_folder(name: str) -> tuple[Path, PluginEntry]:
    """The folder of plugin blueprint ``name``; NotFoundError or BlueprintError."""
    matches = [e for e in plugin_entries() if e.name == name]
    if not matches:
        names = plugin_names()
        raise NotFoundError(
            f"no plugin blueprint named {name!r}",
            hint=f"installed plugin blueprints: {', '.join(names)}"
            if names
            else f"no package installs blueprints (entry-point group {GROUP!r})",
        )
    if len(matches) > 1:
        raise BlueprintError(
            f"plugin blueprint {name!r} is installed by several packages: "
            + "; ".join(e.label for e in matches),
            hint="uninstall all but one",
        )
    if not _NAME_RE.match(name):
        raise BlueprintError(f"invalid plugin blueprint name {name!r}", where=matches[0].label)
    return _folder_of(matches[0]), matches[0]


def has_plugin(name: str) -> bool:
    return any(e.name == name for e in plugin_entries())


def plugin_folders(warn: Callable[[str], None]) -> list[tuple[str, Path]]:
    """``(name, folder)`` of every usable plugin blueprint; broken ones go to ``warn``."""
    result = []
    for name in sorted({e.name for e in plugin_entries()}):
        try:
            folder, _ = plugin_folder(name)
        except (BlueprintError, NotFoundError) as exc:
            warn(f"plugin blueprint {name!r} skipped: {exc}")
            continue
        result.append((name, folder))
    return result
