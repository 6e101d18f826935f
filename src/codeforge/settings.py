"""Typed settings with one documented precedence: flag > environment > config file > default.

Built by :func:`load_settings`, never at import. The config file is TOML at
``$CODEFORGE_CONFIG_DIR/config.toml`` (default: the platform's user config folder).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from codeforge.errors import UsageError

APP_NAME = "codeforge"
CONFIG_FILE = "config.toml"

# Keys `codeforge config` knows, with their type; `defaults.<variable>` and `ai.*` are open.
KNOWN_KEYS: dict[str, type] = {
    "author.name": str,
    "author.email": str,
    "trusted_sources": list,
    "database.url": str,
    "redis.url": str,
    "redis.queue_url": str,
    "render.max_files": int,
    "render.max_bytes": int,
    "render.timeout": float,
    "render.max_memory": int,
    "git.max_bytes": int,
    "git.max_files": int,
    "git.timeout": float,
    "ai.base_url": str,
    "ai.api_key": str,
    "ai.model": str,
    "ai.allow_remote": bool,
}
OPEN_PREFIXES = ("defaults.", "ai.")
SECRET_KEYS = frozenset({"ai.api_key", "database.url", "redis.url", "redis.queue_url"})
# ``redis+cluster://[user:password@]host:port[,host:port...]`` (``rediss+cluster``: TLS).
REDIS_CLUSTER_SCHEMES: Final = ("redis+cluster", "rediss+cluster")


@dataclasses.dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render (surface 10 of the threat model)."""

    max_files: int = 20_000
    max_bytes: int = 512 * 1024 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    timeout: float = 120.0
    max_range: int = 100_000
    max_iterations: int = 5_000_000
    max_string: int = 16 * 1024 * 1024
    # Everything a render allocates, its output included (templates/budget.py).
    max_memory: int = 256 * 1024 * 1024


DATABASE_FILENAME: Final = "codeforge.db"


def default_database_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file ``codeforge.db`` in the data dir."""
    return f"sqlite:///{(Path(data_dir) / DATABASE_FILENAME).resolve()}"


@dataclasses.dataclass(frozen=True)
class Settings:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    # The job queue's own Redis (one primary): needed when ``redis_url`` is a cluster.
    queue_redis_url: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    trusted_sources: tuple[str, ...] = ()
    limits: RenderLimits = dataclasses.field(default_factory=RenderLimits)
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.config_dir / CONFIG_FILE

    @property
    def job_redis_url(self) -> str | None:
        """The job queue's Redis: ``queue_redis_url``, else ``redis_url`` unless that is a
        cluster (RQ needs one primary); None when neither applies."""
        if self.queue_redis_url:
            return self.queue_redis_url
        if self.redis_url and not is_redis_cluster(self.redis_url):
            return self.redis_url
        return None

    @property
    def store_url(self) -> str:
        """The database in use: ``database_url``, else the data dir's SQLite file."""
        return self.database_url or default_database_url(self.data_dir)


def is_redis_cluster(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://``, ``rediss+cluster://``)."""
    return url.partition("://")[0].lower() in REDIS_CLUSTER_SCHEMES


class ClusterAddress(NamedTuple):
    """A parsed ``redis+cluster://`` URL: its startup nodes and credentials."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    tls: bool


def parse_redis_cluster_url(url: str, where: str = "CODEFORGE_REDIS_URL") -> ClusterAddress:
    """The startup nodes of a ``redis+cluster://[user:password@]host:port[,host:port...]`` URL;
    UsageError naming ``where`` (never the password) for anything else."""
    from urllib.parse import unquote

    hint = "write redis+cluster://[user:password@]host:port[,host:port...] (rediss+cluster: TLS)"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in REDIS_CLUSTER_SCHEMES:
        raise UsageError("not a Redis Cluster URL", where=where, hint=hint)
    netloc, _, path = rest.partition("/")
    path = path.partition("?")[0]
    if path not in ("", "0"):
        raise UsageError("a Redis Cluster has only database 0", where=where, hint=hint)
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = []
    for part in hosts.split(","):
        host, colon, port = part.strip().rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"{part.strip()!r} is not host:port", where=where, hint=hint)
        nodes.append((host, int(port)))
    return ClusterAddress(tuple(nodes), username, password, scheme.lower().startswith("rediss"))


def _user_dir(kind: str) -> Path:
    import platformdirs  # only when no CODEFORGE_*_DIR is set

    func = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
    }[kind]
    return Path(func(APP_NAME, appauthor=False))


def _dir_from_env(env: Mapping[str, str], kind: str) -> Path:
    value = env.get(f"CODEFORGE_{kind.upper()}_DIR")
    return Path(value).expanduser() if value else _user_dir(kind)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read the TOML config; a missing file is an empty config."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read config file: {exc.strerror}", where=str(path)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"invalid TOML: {exc}", where=str(path), hint="fix it or run `codeforge config path`"
        ) from exc


def get_dotted(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def _opt(data: Mapping[str, Any], key: str) -> Any:
    try:
        return get_dotted(data, key)
    except KeyError:
        return None


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build settings: ``overrides`` (flags) > ``env`` > config file > defaults."""
    env = os.environ if env is None else env
    config_dir = _dir_from_env(env, "config")
    raw = read_config_file(config_dir / CONFIG_FILE)
    flags = dict(overrides or {})

    def pick(flag: str, env_name: str, key: str) -> Any:
        if flags.get(flag) is not None:
            return flags[flag]
        if env.get(env_name):
            return env[env_name]
        return _opt(raw, key)

    trusted = _opt(raw, "trusted_sources") or []
    if not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted):
        raise UsageError(
            "trusted_sources must be a list of strings", where=str(config_dir / CONFIG_FILE)
        )
    defaults = _opt(raw, "defaults") or {}
    if not isinstance(defaults, dict):
        raise UsageError("[defaults] must be a table", where=str(config_dir / CONFIG_FILE))
    render = _opt(raw, "render") or {}
    limits = RenderLimits(
        max_files=int(render.get("max_files", RenderLimits.max_files)),
        max_bytes=int(render.get("max_bytes", RenderLimits.max_bytes)),
        timeout=float(render.get("timeout", RenderLimits.timeout)),
        max_memory=int(render.get("max_memory", RenderLimits.max_memory)),
    )
    return Settings(
        config_dir=config_dir,
        data_dir=_dir_from_env(env, "data"),
        cache_dir=_dir_from_env(env, "cache"),
        database_url=pick("database_url", "CODEFORGE_DATABASE_URL", "database.url"),
        redis_url=_checked_redis(pick("redis_url", "CODEFORGE_REDIS_URL", "redis.url")),
        queue_redis_url=_checked_queue(
            pick("queue_redis_url", "CODEFORGE_QUEUE_REDIS_URL", "redis.queue_url")
        ),
        author_name=pick("author_name", "CODEFORGE_AUTHOR_NAME", "author.name"),
        author_email=pick("author_email", "CODEFORGE_AUTHOR_EMAIL", "author.email"),
        defaults=defaults,
        trusted_sources=tuple(trusted),
        limits=limits,
        raw=raw,
    )


def _checked_redis(url: str | None) -> str | None:
    if url and is_redis_cluster(url):
        parse_redis_cluster_url(url)  # a malformed cluster URL is an error at start
    return url


def _checked_queue(url: str | None) -> str | None:
    if url and is_redis_cluster(url):
        raise UsageError(
            "the job queue needs one Redis primary, not a cluster",
            where="CODEFORGE_QUEUE_REDIS_URL",
            hint="give a redis:// URL (a primary with a replica for failover)",
        )
    return url
