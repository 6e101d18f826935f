"""JSON logs through structlog, with a request id and no secrets.

Every event passes :func:`redact` last: keys that name secrets are masked, and any
string that looks like a CodeForge API key or a bearer token is masked wherever it is.
"""

from __future__ import annotations

import json as _json
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


class _StdlibJson(logging.Handler):
    """CodeForge's stdlib warnings (the job sweeper's, the stores') as the same JSON lines,
    each written whole so that no other thread's line lands inside it."""

    def __init__(self, stream: TextIO | None, json: bool) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream
        self.json = json

    def emit(self, record: logging.LogRecord) -> None:
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": self.formatter_time(record),
        }
        if record.exc_info:
            event["exception"] = logging.Formatter().formatException(record.exc_info)
        redact(None, "", event)
        line = (
            _json.dumps(event, default=str) if self.json else f"{event['level']}: {event['event']}"
        )
        try:
            (self.stream or sys.stderr).write(line + "\n")
        except Exception:  # a closed stream: logging must never break the server
            self.handleError(record)

    @staticmethod
    def formatter_time(record: logging.LogRecord) -> str:
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC)
        return stamp.isoformat().replace("+00:00", "Z")


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
    codeforge = logging.getLogger("codeforge")
    for old in [h for h in codeforge.handlers if isinstance(h, _StdlibJson)]:
        codeforge.removeHandler(old)
    codeforge.addHandler(_StdlibJson(stream, json))


def get_logger() -> Any:
    return structlog.get_logger("codeforge.api")
