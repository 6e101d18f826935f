"""What every command CodeForge runs for a blueprint shares: its error and its environment.

Light on purpose (standard library and the error tree only): a workflow run that
only runs steps imports this, not the rendering machinery of ``postprocess``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from codeforge.errors import CodeForgeError


class TaskError(CodeForgeError):
    """A blueprint's task, hook or workflow step failed (exit 11)."""

    kind = "task"
    exit_code = 11


def minimal_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment without CodeForge's (or anyone's) secrets."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra or {})
    return env
