"""Bounded retries for forge API calls: 429 and 5xx, honouring ``Retry-After`` and
``X-RateLimit-Reset`` (GitHub) / ``RateLimit-Reset`` (GitLab).

The wait is the server's when it gives one (capped), else an exponential backoff;
the number of attempts and the total wait are bounded so a publish never hangs.
``sleep`` and ``now`` are parameters so tests can run the policy without waiting.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

T = TypeVar("T")

RETRIED: Final = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a refused call."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time

    def delay(self, attempt: int, headers: Mapping[str, str]) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (the server's word first)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        wanted: float | None = None
        after = lowered.get("retry-after", "").strip()
        if after.isdigit():
            wanted = float(after)
        else:
            reset = (
                lowered.get("x-ratelimit-reset") or lowered.get("ratelimit-reset") or ""
            ).strip()
            remaining = (
                lowered.get("x-ratelimit-remaining") or lowered.get("ratelimit-remaining") or ""
            ).strip()
            if reset.isdigit() and remaining == "0":
                wanted = max(0.0, float(reset) - self.now())
        if wanted is None:
            wanted = self.base_delay * (2**attempt)
        return min(wanted, self.max_delay)


class Transient(Exception):
    """A call refused with a status worth retrying; carries the response headers."""

    def __init__(self, status: int, headers: Mapping[str, str], cause: BaseException) -> None:
        super().__init__(f"{status}")
        self.status = status
        self.headers = dict(headers)
        self.cause = cause


def with_retries(
    call: Callable[[], T],
    classify: Callable[[BaseException], Transient | None],
    policy: RetryPolicy,
) -> T:
    """``call()``, retried while ``classify`` calls its failure transient and the budget lasts.

    The last failure is re-raised unchanged, for the caller's own translation.
    """
    waited = 0.0
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as exc:
            transient = classify(exc)
            if transient is None or attempt == policy.attempts - 1:
                raise
            pause = policy.delay(attempt, transient.headers)
            if waited + pause > policy.max_total:
                raise
            waited += pause
            policy.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
