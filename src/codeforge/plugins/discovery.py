"""Whether a plugin may be installed, answered without pluggy or ``importlib.metadata``.

``codeforge --help`` lists the commands plugins add; when no installed distribution
declares the ``codeforge.plugins`` group and ``CODEFORGE_PLUGINS`` is unset, only
CodeForge's default plugins would load, and none of them adds a command (a test
holds that), so the CLI need not build a plugin manager to know the answer.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

GROUP = "codeforge.plugins"
ENV_VAR = "CODEFORGE_PLUGINS"
_GROUP_HEADER = f"[{GROUP}]".encode()


def normalise(name: str) -> str:
    """A plugin or distribution name as compared: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def selected_names(environ: Mapping[str, str]) -> set[str] | None:
    """The plugin names ``CODEFORGE_PLUGINS`` narrows loading to (None: load all)."""
    raw = environ.get(ENV_VAR)
    if raw is None:
        return None
    return {normalise(part.strip()) for part in raw.split(",") if part.strip()}


def group_declared() -> bool:
    """Whether any distribution on ``sys.path`` may declare the plugin group.

    Every CLI run asks for the plugins, and ``importlib.metadata`` parses every
    installed distribution to answer (tens of milliseconds in a large
    environment). Reading each ``entry_points.txt`` for the group's header is a
    few milliseconds; a ``sys.path`` entry that is not a folder (a zip) is not
    looked into, so it sends the question to ``importlib.metadata``.
    """
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")) and _declares_group(
                os.path.join(folder, name, "entry_points.txt")
            ):
                return True
    return False


def _declares_group(path: str) -> bool:
    """Whether the ``entry_points.txt`` at ``path`` (if any) has the group's header.

    Read with ``os.open``/``os.read``, not ``open()``: most distributions have no
    such file, and a file object costs a few system calls more (fstat, isatty, seek)
    on every one that does, on every CLI run.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except OSError:  # a folder of that name, an I/O error: no header here
        return False
    finally:
        os.close(fd)
    return _GROUP_HEADER in data


def only_default_plugins(environ: Mapping[str, str]) -> bool:
    """True when building the plugins would register CodeForge's default plugins alone."""
    return selected_names(environ) is None and not group_declared()
