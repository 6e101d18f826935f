"""A server's rate limits: the configured limits per route group, counted in Redis when
configured (``codeforge.cache.ratelimit``), in the process otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeforge.app.config import ApiConfig
from codeforge.settings import Settings

if TYPE_CHECKING:
    from codeforge.cache.ratelimit import RateLimiter


def build_limiter(settings: Settings, config: ApiConfig) -> RateLimiter:
    """The limiter for an app: ``CODEFORGE_RATE_LIMITS`` per credential and
    ``CODEFORGE_RATE_LIMITS_ADDRESS`` (default: the same) per client address."""
    from codeforge.cache.ratelimit import RateLimiter, parse_limits

    per_key = parse_limits(config.rate_limits, where="CODEFORGE_RATE_LIMITS")
    per_address = (
        parse_limits(config.rate_limits_address, where="CODEFORGE_RATE_LIMITS_ADDRESS")
        if config.rate_limits_address.strip()
        else per_key
    )
    return RateLimiter(
        per_key, per_address, redis_url=settings.redis_url, prefix=config.redis_prefix
    )


def configured(config: ApiConfig) -> dict[str, dict[str, str | None]]:
    """The limits in force, per route group: ``per_key`` and ``per_address`` (``None``: off),
    as ``GET /api/v1/admin/rate-limits`` shows them."""
    from codeforge.cache.ratelimit import parse_limits

    per_key = parse_limits(config.rate_limits, where="CODEFORGE_RATE_LIMITS")
    per_address = (
        parse_limits(config.rate_limits_address, where="CODEFORGE_RATE_LIMITS_ADDRESS")
        if config.rate_limits_address.strip()
        else per_key
    )
    return {
        "per_key": {g: None if item is None else str(item) for g, item in per_key.items()},
        "per_address": {g: None if item is None else str(item) for g, item in per_address.items()},
    }
