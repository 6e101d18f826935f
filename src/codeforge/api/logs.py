"""JSON logs through structlog, with a request id and no secrets.

Every event passes :func:`redact` last: keys that name secrets are masked, and any
string that looks like a CodeForge API key or a bearer token is masked wherever it is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEY_RE = re.compile(r"(authorization|api_?key|token|secret|password|cookie)", re.I)
# CodeForge keys, bearer headers, and forge tokens (GitHub classic and fine-grained, GitLab).
_SECRET_VALUE_RE = re.compile(
    r"(cf_[A-Za-z0-9_\-]{16,}|Bearer\s+\S+|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{16,})"
)
MASK = "***"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUE_RE.sub(MASK, value)
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _SECRET_KEY_RE.search(k) else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-looking keys and values."""
    for key in list(event):
        if _SECRET_KEY_RE.search(key):
            event[key] = MASK
        else:
            event[key] = _scrub(event[key])
    return event


class _WholeLines(logging.StreamHandler):  # type: ignore[type-arg]
    """CodeForge's stdlib warnings (the job sweeper's, the stores') on the structlog stream,
    rendered as its events are. ``StreamHandler`` writes each line with its newline in one
    write, so no other thread's line lands inside it; with no stream given, the
    ``sys.stderr`` of the moment (a test runner swaps it)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None
        self.setLevel(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(stream: TextIO | None = None, *, json: bool = True) -> None:
    """Send structlog events as one JSON object per line to ``stream`` (stderr), and the
    ``codeforge`` stdlib loggers' warnings the same way."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        # One write per event (message and newline together): a print() writes them apart,
        # and another thread's line could land between the two.
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = _WholeLines(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                renderer,
            ],
        )
    )
    codeforge = logging.getLogger("codeforge")
    for old in [h for h in codeforge.handlers if isinstance(h, _WholeLines)]:
        codeforge.removeHandler(old)
    codeforge.addHandler(handler)


def get_logger() -> Any:
    return structlog.get_logger("codeforge.api")
