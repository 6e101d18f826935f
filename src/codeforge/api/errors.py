"""The one place errors become HTTP responses: ``{"error", "message", "where", "hint"}``.

An unreachable database or Redis answers 503 with ``Retry-After`` and is logged
once per outage (``codeforge.api.outage``), never as a traceback per request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from codeforge.api.logs import get_logger
from codeforge.api.outage import RETRY_AFTER, outage
from codeforge.app.metrics import Metrics
from codeforge.app.outages import DATABASE_ERRORS, database_failure, is_database_outage
from codeforge.errors import (
    ArtifactStoreError,
    CodeForgeError,
    QueueUnavailable,
    RedisUnavailable,
    StoreError,
)

# Errors that mean "a dependency is out of reach": 503 with Retry-After.
_OUTAGES = (RedisUnavailable, QueueUnavailable, StoreError)

_HTTP_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
}


def error_body(
    kind: str, message: str, where: str | None = None, hint: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"error": kind, "message": message, "where": where, "hint": hint, **extra}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


class _Handlers:
    """Each exception type's translation into a JSON response, counted in ``metrics``."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.log = get_logger()

    async def codeforge_error(self, request: Request, exc: CodeForgeError) -> JSONResponse:
        self.metrics.errors.labels(exc.kind).inc()
        if isinstance(exc, ArtifactStoreError):
            self.metrics.artifact_errors.inc()
        body = exc.to_dict()
        variable = getattr(exc, "variable", None)
        if variable:
            body["variable"] = variable
        headers = None
        if isinstance(exc, _OUTAGES):
            headers = {"Retry-After": str(RETRY_AFTER)}
            settings = request.app.state.ctx.settings
            # the queue may have a Redis of its own (CODEFORGE_QUEUE_REDIS_URL)
            redis_url = (
                settings.job_redis_url if isinstance(exc, QueueUnavailable) else settings.redis_url
            )
            if isinstance(exc, RedisUnavailable | QueueUnavailable) and redis_url:
                outage("redis", redis_url).failed(exc.message)
        return JSONResponse(body, status_code=exc.http_status, headers=headers)

    async def database_error(self, request: Request, exc: Exception) -> JSONResponse:
        if not is_database_outage(exc):
            raise exc  # a wrong statement is a bug: the 500 handler below
        url = request.app.state.ctx.config.database_url
        # The driver's first line (redacted) goes to the log, not to the caller.
        outage("database", url).failed(database_failure(url, exc))
        self.metrics.errors.labels("store").inc()
        return JSONResponse(
            error_body(
                "store",
                "the database is unreachable; try again shortly",
                hint=f"retry in {RETRY_AFTER} s",
            ),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER)},
        )

    async def request_invalid(self, _request: Request, exc: RequestValidationError) -> JSONResponse:
        self.metrics.errors.labels("validation").inc()
        problems = []
        for err in exc.errors():
            loc = err.get("loc", ())
            kind = err.get("type", "")
            message = "unknown field" if kind == "extra_forbidden" else str(err.get("msg", ""))
            problems.append({"where": _location(loc), "message": message, "type": kind})
        summary = "; ".join(f"{p['where']}: {p['message']}" for p in problems[:5])
        return JSONResponse(
            error_body(
                "validation",
                summary or "invalid request",
                where=problems[0]["where"] if problems else None,
                errors=problems,
            ),
            status_code=422,
        )

    async def http_error(self, _request: Request, exc: HTTPException) -> JSONResponse:
        kind = _HTTP_KINDS.get(exc.status_code, "error")
        self.metrics.errors.labels(kind).inc()
        return JSONResponse(
            error_body(kind, str(exc.detail)),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    async def internal_error(self, request: Request, exc: Exception) -> JSONResponse:
        self.metrics.errors.labels("internal").inc()
        self.log.error("unhandled error", error_type=type(exc).__name__, path=request.url.path)
        return JSONResponse(
            error_body("internal", "internal error", hint="the request id is in X-Request-ID"),
            status_code=500,
        )


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Register the one translation of every error into an HTTP response."""
    handlers = _Handlers(metrics)
    app.add_exception_handler(CodeForgeError, handlers.codeforge_error)  # type: ignore[arg-type]
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, handlers.database_error)
    app.add_exception_handler(RequestValidationError, handlers.request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, handlers.http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handlers.internal_error)
