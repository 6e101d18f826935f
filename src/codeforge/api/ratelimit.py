"""Rate-limit middleware: 429 with ``Retry-After`` when a route group's limit is spent.

Each request is counted against its route group (see :func:`route_group`) once for
the credential it carries (the SHA-256 of its API key or session cookie: one
bucket per key, no database needed) and once for the client address. Health and
metrics endpoints are never limited. The limiter comes from
``codeforge.app.limits`` (Redis when configured, in-process otherwise).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from codeforge.api.config import API_PREFIX, COOKIE_NAME
from codeforge.api.errors import error_body

if TYPE_CHECKING:
    from codeforge.cache.ratelimit import RateLimiter, Verdict

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
# The web page (codeforge.web) signs in and renders through the same limits as the API.
WEB_LOGIN = "/login"
WEB_RECOMMEND = "/recommend"  # the catalog's "describe what you want" box: an AI call
_WEB_RENDERS = ("/preview", "/download")
_GENERATE = frozenset(
    {
        f"{API_PREFIX}/projects/generate",
        f"{API_PREFIX}/projects/preview",
        f"{API_PREFIX}/starter.zip",
    }
)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def route_group(method: str, path: str) -> str | None:
    """The group a request counts against; None for exempt routes."""
    if path in EXEMPT:
        return None
    if path in (f"{API_PREFIX}/session", WEB_LOGIN) and method == "POST":
        return "auth"
    if path.startswith(f"{API_PREFIX}/ai/") or path == WEB_RECOMMEND:
        return "ai"
    if method == "POST" and path.startswith("/blueprints/") and path.endswith(_WEB_RENDERS):
        return "generate"  # the web page's preview and zip download render like the API's
    if path in _GENERATE or (path == f"{API_PREFIX}/jobs" and method == "POST"):
        return "generate"
    return "read" if method in _SAFE else "write"


def credential_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """A stable, secret-free id of the caller's API key or session cookie, if any."""
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            token = value[7:].strip()
            if token:
                return "k" + hashlib.sha256(token).hexdigest()[:32]
    for name, value in headers:
        if name == b"cookie":
            for part in value.split(b";"):
                key, _, cookie = part.strip().partition(b"=")
                if key == COOKIE_NAME.encode() and cookie:
                    return "s" + hashlib.sha256(cookie).hexdigest()[:32]
    return None


class RateLimitMiddleware:
    """Counts every non-exempt request; answers 429 (house error shape) when over."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        group = route_group(scope["method"], scope["path"])
        if group is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        verdict = self.limiter.hit(group, credential_id(scope["headers"]), address)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        await _too_many(send, verdict)


async def _too_many(send: Send, verdict: Verdict) -> None:
    limit = verdict.limit
    amount = limit.amount if limit is not None else 0
    per = f"{limit.multiples} {limit.GRANULARITY.name}" if limit is not None else ""
    who = "API key" if verdict.scope == "key" else "client address"
    body = json.dumps(
        error_body(
            "rate_limited",
            f"too many {verdict.group} requests for this {who}: the limit is {amount} per {per}",
            where=f"rate limit '{verdict.group}'",
            hint=f"retry in {verdict.retry_after} s",
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(verdict.retry_after).encode()),
                (b"x-ratelimit-limit", str(amount).encode()),
                (b"x-ratelimit-remaining", b"0"),
                (b"x-ratelimit-reset", str(verdict.retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
