"""The FastAPI application factory: ``create_app(settings)``.

Run it with ``codeforge serve`` or ``uvicorn --factory codeforge.api.app:app_from_env``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final, TextIO

from fastapi import FastAPI

from codeforge import __version__
from codeforge.api.config import API_PREFIX
from codeforge.api.errors import install_error_handlers
from codeforge.api.logs import configure_logging
from codeforge.api.middleware import RequestMiddleware
from codeforge.api.outage import watch_database, watch_redis
from codeforge.api.schemas import ErrorPublic
from codeforge.app.authentication import session_store
from codeforge.app.config import ApiConfig, api_config
from codeforge.app.context import AppContext, build_context
from codeforge.app.observe import watch_state
from codeforge.plugins.manager import Plugins
from codeforge.settings import Settings, load_settings

# Error bodies every router documents.
COMMON_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def create_app(
    settings: Settings | None = None,
    config: ApiConfig | None = None,
    *,
    log_stream: TextIO | None = None,
    plugins: Plugins | None = None,
) -> FastAPI:
    """A new app on ``settings``' database (migrated to head here), with the routers of
    ``plugins`` (default: the installed ones) mounted after the built-in ones."""
    settings = settings or load_settings()
    config = config or api_config(settings)
    configure_logging(log_stream, json=config.log_json)
    ctx = build_context(settings, config, plugins=plugins)
    watch_state(ctx)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        listener = ctx.start_auth_listener()
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="CodeForge",
        version=__version__,
        description="Generate projects from blueprints. Authenticate with `Authorization: Bearer KEY`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    install_error_handlers(app, ctx.metrics)
    watch_database(config.database_url)
    watch_redis()
    _include_routers(app, ctx)
    _add_middleware(app, ctx)
    return app


def _include_routers(app: FastAPI, ctx: AppContext) -> None:
    from codeforge.api.routes import (
        activity,
        admin,
        ai,
        analytics,
        blueprints,
        credentials,
        fleet,
        groups,
        health,
        job_events,
        jobs,
        keys,
        projects,
        users,
    )
    from codeforge.api.routes import session as session_routes

    modules = [blueprints, projects, activity, analytics, users, keys, credentials, ai, jobs]
    modules += [job_events, fleet, groups, admin]
    for module in modules:
        app.include_router(module.router, responses=COMMON_RESPONSES)
    app.include_router(health.router)
    app.include_router(session_routes.router, responses=COMMON_RESPONSES)
    for router in ctx.plugins.api_routers():
        app.include_router(router, responses=COMMON_RESPONSES)
    app.state.sessions = session_store(ctx.settings, ctx.config)


def _add_middleware(app: FastAPI, ctx: AppContext) -> None:
    from codeforge.api.ratelimit import RateLimitMiddleware
    from codeforge.app.limits import build_limiter

    # Inside RequestMiddleware: a 429 still gets a request id, a log line and metrics.
    app.add_middleware(RateLimitMiddleware, limiter=build_limiter(ctx.settings, ctx.config))
    app.add_middleware(
        RequestMiddleware,
        metrics=ctx.metrics,
        max_body=ctx.config.max_body_bytes,
        upload_paths={f"{API_PREFIX}/blueprints/upload": ctx.config.max_upload_bytes},
    )


def app_from_env() -> FastAPI:
    """The app on the settings of the environment (for ``uvicorn --factory``)."""
    return create_app(load_settings())
