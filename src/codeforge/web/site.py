"""The site: the API app plus the web page, in one process (``codeforge serve``).

The page lives beside the API: the same :class:`~codeforge.app.context.AppContext`,
the same login sessions and CSRF tokens, the same role checks. Page responses get
a strict ``Content-Security-Policy`` (scripts only from ``/static``, no inline
script, no framing) and a ``Referrer-Policy``; the API's own docs keep theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, TextIO

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codeforge.api.app import create_app
from codeforge.api.config import API_PREFIX
from codeforge.app.config import ApiConfig
from codeforge.plugins.manager import Plugins
from codeforge.settings import Settings, load_settings
from codeforge.web.session import Forbidden, SignInNeeded, page

STATIC: Final = Path(__file__).parent / "static"
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)


class PageHeaders:
    """Security headers on every response outside the API (pages, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in PAGE_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _sign_in(request: Request, _exc: Exception) -> Any:
    if request.headers.get("HX-Request"):
        return HTMLResponse("", status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


def _forbidden(_request: Request, exc: Exception) -> Any:
    message = exc.message if isinstance(exc, Forbidden) else "forbidden"
    return page("error.html", 403, user=None, csrf="", error=Forbidden(message))


def create_site(
    settings: Settings | None = None,
    config: ApiConfig | None = None,
    *,
    log_stream: TextIO | None = None,
    plugins: Plugins | None = None,
) -> FastAPI:
    """The API app (see :func:`codeforge.api.app.create_app`) with the web page mounted."""
    from codeforge.web import (
        account,
        admin,
        blueprint,
        dashboard,
        jobs,
        listing,
        pages,
        records,
        stars,
    )

    app = create_app(settings, config, log_stream=log_stream, plugins=plugins)
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(blueprint.router, include_in_schema=False)
    app.include_router(stars.router, include_in_schema=False)
    app.include_router(listing.router, include_in_schema=False)
    app.include_router(account.router, include_in_schema=False)
    app.include_router(records.router, include_in_schema=False)
    app.include_router(jobs.router, include_in_schema=False)
    app.include_router(admin.router, include_in_schema=False)
    app.include_router(dashboard.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_middleware(PageHeaders)
    return app


def site_from_env() -> FastAPI:
    """The site on the settings of the environment (for ``uvicorn --factory``)."""
    return create_site(load_settings())
