"""Whether a source is trusted: ``--trust``, or a trusted prefix in the config.

Code from a template (tasks, migrations, Jinja extensions, hooks) runs only for
a trusted source (threat model, surface 7). ``trusted_sources`` entries and the
source are compared in one normal form, so spelling cannot widen trust:

* ``builtin:NAME`` and ``plugin:NAME`` stay as they are;
* ``gh:``/``gl:`` shortcuts are expanded (``gh:org`` → ``https://github.com/org``),
  a ``git+`` prefix dropped, the scp form ``git@host:org/x`` read as ``ssh://host/org/x``;
* URLs: scheme and host lowercased (a trailing ``.`` on the host dropped),
  credentials and login names dropped, default ports (https 443, http 80, ssh 22)
  dropped, the path percent-decoded, ``.``/``..``/``//`` resolved, a trailing
  ``/`` and ``.git`` dropped, query and fragment dropped;
* ``file://`` URLs and local paths: the absolute path with links resolved.

A prefix matches the source itself or anything below it on a path-segment
boundary: ``https://github.com/org`` trusts ``https://github.com/org/x`` but not
``https://github.com/org-evil/x`` nor ``https://github.com.evil.net/org/x``. The
scheme is part of the comparison (trusting ``https://host/org`` does not trust
``ssh://host/org``). A source or prefix that cannot be read is never trusted.
"""

from __future__ import annotations

from collections.abc import Sequence

from codeforge.sources.normal import BUILTIN_PREFIX as BUILTIN_PREFIX
from codeforge.sources.normal import PLUGIN_PREFIX as PLUGIN_PREFIX
from codeforge.sources.normal import normalise_source as normalise_source


def is_trusted(source: str, trusted_prefixes: Sequence[str]) -> bool:
    """True when ``source`` is one of ``trusted_prefixes`` or below one (segment boundary)."""
    try:
        normal = normalise_source(source)
    except (ValueError, OSError, RuntimeError):
        return False
    for prefix in trusted_prefixes:
        try:
            norm_prefix = normalise_source(prefix)
        except (ValueError, OSError, RuntimeError):
            continue
        if not norm_prefix:
            continue
        if normal == norm_prefix or normal.startswith(norm_prefix.rstrip("/") + "/"):
            return True
    return False
