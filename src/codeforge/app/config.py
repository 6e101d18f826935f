"""What a server process (API or worker) needs beyond the core settings; built from them,
never at import."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from codeforge.settings import Settings

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ApiConfig:
    database_url: str
    blueprint_dir: Path  # extracted registered blueprints, a cache keyed by content hash
    max_body_bytes: int = 1 * MIB
    max_upload_bytes: int = 20 * MIB
    git_timeout: float = 60.0
    git_max_bytes: int = 50 * MIB
    archive_max_entries: int = 5_000
    archive_max_bytes: int = 100 * MIB
    archive_max_ratio: float = 100.0
    log_json: bool = True
    # A verified key is trusted this long without asking the database (0: never);
    # revocations and disabled users made on another server take effect within it.
    key_cache_seconds: float = 5.0
    # The registered-blueprint list is reused this long (0: read on every request);
    # registrations and retirements made on another server show within it.
    catalog_cache_seconds: float = 2.0
    # Renders (and zips) run at most this many at a time per process.
    render_threads: int = 1
    # Rate limits per route group: per API key / session, and per client address
    # ("GROUP=LIMIT;..." or "off"; see codeforge.cache.ratelimit for the defaults).
    rate_limits: str = ""
    rate_limits_address: str = ""
    # Login sessions for the web page (codeforge.cache.sessions).
    session_ttl: float = 8 * 3600.0
    session_cookie_secure: bool = False
    # Prefix of every Redis key this server writes (rate limits, sessions).
    redis_prefix: str = "codeforge:"


def api_config(settings: Settings, env: Mapping[str, str] | None = None) -> ApiConfig:
    """The API configuration: the database from the settings (SQLite in the data dir by default)."""
    from codeforge.db.engine import default_database_url

    env = os.environ if env is None else env
    url = settings.database_url or default_database_url(settings.data_dir)
    body = int(env.get("CODEFORGE_API_MAX_BODY", str(1 * MIB)))
    upload = int(env.get("CODEFORGE_API_MAX_UPLOAD", str(20 * MIB)))
    return ApiConfig(
        database_url=url,
        blueprint_dir=settings.cache_dir / "registered",
        max_body_bytes=body,
        max_upload_bytes=upload,
        key_cache_seconds=float(env.get("CODEFORGE_API_KEY_CACHE_SECONDS", "5")),
        catalog_cache_seconds=float(env.get("CODEFORGE_API_CATALOG_CACHE_SECONDS", "2")),
        render_threads=int(env.get("CODEFORGE_API_RENDER_THREADS", "1")),
        rate_limits=env.get("CODEFORGE_RATE_LIMITS", ""),
        rate_limits_address=env.get("CODEFORGE_RATE_LIMITS_ADDRESS", ""),
        session_ttl=_seconds(env, "CODEFORGE_SESSION_TTL", 8 * 3600.0),
        session_cookie_secure=_flag(env, "CODEFORGE_SESSION_SECURE"),
        redis_prefix=env.get("CODEFORGE_REDIS_PREFIX") or "codeforge:",
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 10 * 365 * 86400:
        from codeforge.errors import UsageError

        raise UsageError(f"{text!r} is not a number of seconds above 0", where=name)
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    from codeforge.errors import UsageError

    raise UsageError(f"{value!r} is not true or false", where=name)
