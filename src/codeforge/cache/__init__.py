"""Cache, rate limits, sessions and the job queue: Redis when configured, in-process otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codeforge.cache.shared import SharedCache


def shared_layer(namespace: str) -> SharedCache | None:
    """``codeforge.cache.shared.default_shared(namespace)``, importing that module only when
    Redis is configured: without Redis the answer is None, and every ``codeforge init`` asks."""
    from codeforge.errors import CodeForgeError
    from codeforge.settings import load_settings

    try:
        if not load_settings().redis_url:
            return None
    except (CodeForgeError, OSError):
        return None  # as default_shared: a cache that cannot be set up is no cache
    from codeforge.cache.shared import default_shared

    return default_shared(namespace)
