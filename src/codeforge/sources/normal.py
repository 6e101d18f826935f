"""The normal form sources are compared in (trusted-source prefixes, the git cache's keys).

It sits below :mod:`.urls` and :mod:`.trust`, which both use it; see
:mod:`.trust` for the rules.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

SHORTCUTS = {"gh": "https://github.com", "gl": "https://gitlab.com"}
BUILTIN_PREFIX = "builtin:"
PLUGIN_PREFIX = "plugin:"
_SCP_RE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>.*)$")
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}


def _url_form(scheme: str, host: str, port: int | None, path: str) -> str:
    host = host.lower().rstrip(".")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = posix_normpath(unquote(path))
    if path.endswith(".git"):
        path = path[:-4].rstrip("/")
    return f"{scheme}://{host}{path}"


def normalise_source(source: str) -> str:
    """The form trusted-source prefixes are compared in (see the module docstring)."""
    source = source.strip()
    if source.startswith((BUILTIN_PREFIX, PLUGIN_PREFIX)):
        return source
    body = source[4:] if source.startswith("git+") else source
    prefix, sep, rest = body.partition(":")
    if sep and prefix in SHORTCUTS and not rest.startswith("//"):
        body = f"{SHORTCUTS[prefix]}/{rest}"
    if "://" in body:
        parts = urlsplit(body)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return str(Path(unquote(parts.path) or "/").expanduser().resolve())
        return _url_form(scheme, parts.hostname or "", parts.port, parts.path)
    scp = _SCP_RE.match(body)
    if scp is not None and not Path(body).is_absolute() and not body.startswith(("./", "~")):
        return _url_form("ssh", scp.group("host"), None, "/" + scp.group("path"))
    return str(Path(body).expanduser().resolve())


def posix_normpath(path: str) -> str:
    """``path`` with ``.``/``..``/``//`` resolved (never above the root)."""
    norm = posixpath.normpath("/" + path.lstrip("/"))
    return "" if norm == "/" else norm.rstrip("/")
