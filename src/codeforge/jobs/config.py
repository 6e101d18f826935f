"""Job settings, from the environment (``CODEFORGE_JOB_*``) and the core settings."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Final

from codeforge.errors import UsageError
from codeforge.settings import Settings, is_redis_cluster

DEFAULT_TIMEOUTS: Final = {
    "generate": 120,
    "register": 300,
    "publish": 300,
    "workflow": 1800,
    "review": 3600,  # a model bounded per file (ai.review_timeout) over a large tree
    "fleet-update": 3600,
}
_QUEUE_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclasses.dataclass(frozen=True)
class JobConfig:
    redis_url: str | None  # None: jobs run in a thread pool of the API process
    queue: str = "default"
    threads: int = 2  # in-process executor threads
    result_ttl: float = 24 * 3600.0  # seconds a finished job's result is kept
    lease: float = 15.0  # a started job whose worker is silent this long is retried
    max_attempts: int = 3
    backoff: float = 2.0  # first retry delay; doubled each attempt, at most 60 s
    timeouts: Mapping[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    sweep_interval: float = 2.0
    # A queued job nobody started this long is put on the queue again (lost message).
    requeue_after: float = 300.0

    def timeout_for(self, kind: str) -> int:
        return int(self.timeouts.get(kind, 300))

    def backoff_for(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1`` (exponential, capped at 60 s)."""
        return float(min(60.0, self.backoff * (2 ** max(0, attempt - 1))))


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name} must be a number, not {raw!r}", where=name) from None
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum:g}, not {raw}", where=name)
    return value


def check_queue_name(name: str, where: str = "queue") -> str:
    if not _QUEUE_RE.match(name):
        raise UsageError(
            f"invalid queue name {name!r}",
            where=where,
            hint="letters, digits, '.', '_' and '-' (at most 100)",
        )
    return name


def job_config(settings: Settings, env: Mapping[str, str] | None = None) -> JobConfig:
    """The job settings: the queue's Redis (``CODEFORGE_QUEUE_REDIS_URL``, else
    ``CODEFORGE_REDIS_URL``) and ``CODEFORGE_JOB_*``."""
    env = os.environ if env is None else env
    if settings.redis_url and not settings.job_redis_url and is_redis_cluster(settings.redis_url):
        raise UsageError(
            "CODEFORGE_REDIS_URL is a Redis Cluster, and the job queue (RQ) needs one primary",
            where="CODEFORGE_QUEUE_REDIS_URL",
            hint="set CODEFORGE_QUEUE_REDIS_URL=redis://HOST:6379/0 (a primary with a "
            "replica); the cluster keeps the cache, rate limits and sessions",
        )
    timeouts = dict(DEFAULT_TIMEOUTS)
    for kind in list(timeouts):
        name = f"CODEFORGE_JOB_TIMEOUT_{kind.upper().replace('-', '_')}"
        timeouts[kind] = int(_number(env, name, timeouts[kind], 1))
    return JobConfig(
        redis_url=settings.job_redis_url,
        queue=check_queue_name(env.get("CODEFORGE_JOB_QUEUE", "default"), "CODEFORGE_JOB_QUEUE"),
        threads=int(_number(env, "CODEFORGE_JOB_THREADS", 2, 1)),
        result_ttl=_number(env, "CODEFORGE_JOB_RESULT_TTL", 24 * 3600.0, 1),
        lease=_number(env, "CODEFORGE_JOB_LEASE_SECONDS", 15.0, 1),
        max_attempts=int(_number(env, "CODEFORGE_JOB_MAX_ATTEMPTS", 3, 1)),
        backoff=_number(env, "CODEFORGE_JOB_BACKOFF_SECONDS", 2.0, 0),
        timeouts=timeouts,
        sweep_interval=_number(env, "CODEFORGE_JOB_SWEEP_SECONDS", 2.0, 0.1),
        requeue_after=_number(env, "CODEFORGE_JOB_REQUEUE_SECONDS", 300.0, 1),
    )
