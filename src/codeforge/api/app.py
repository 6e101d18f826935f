"""The FastAPI application factory: ``create_app(settings)``.

Run it with ``codeforge serve`` or ``uvicorn --factory codeforge.api.app:app_from_env``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from fastapi import FastAPI

from codeforge import __version__
from codeforge.api.config import API_PREFIX, ApiConfig, api_config
from codeforge.api.context import AppContext
from codeforge.api.errors import install_error_handlers
from codeforge.api.logs import configure_logging
from codeforge.api.metrics import Metrics
from codeforge.api.middleware import RequestMiddleware
from codeforge.api.schemas import ErrorPublic
from codeforge.core.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None,
    config: ApiConfig | None = None,
    *,
    log_stream: TextIO | None = None,
) -> FastAPI:
    """A new app on ``settings``' database (migrated to head here)."""
    from codeforge.api.routes import activity, ai, blueprints, health, jobs, keys, projects, users
    from codeforge.db.engine import session_factory
    from codeforge.db.migrate import ensure_schema

    settings = settings or load_settings()
    config = config or api_config(settings)
    configure_logging(log_stream, json=config.log_json)
    ensure_schema(config.database_url)
    metrics = Metrics.create()
    ctx = AppContext(
        settings=settings,
        config=config,
        factory=session_factory(config.database_url),
        metrics=metrics,
    )

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
    install_error_handlers(app, metrics)
    common = {
        400: {"model": ErrorPublic},
        401: {"model": ErrorPublic},
        403: {"model": ErrorPublic},
        404: {"model": ErrorPublic},
        409: {"model": ErrorPublic},
        413: {"model": ErrorPublic},
        422: {"model": ErrorPublic},
        429: {"model": ErrorPublic},
        503: {"model": ErrorPublic},
    }
    for module in (blueprints, projects, activity, users, keys, ai, jobs):
        app.include_router(module.router, responses=common)  # type: ignore[arg-type]
    app.include_router(health.router)
    from codeforge.api.routes import session as session_routes

    app.include_router(session_routes.router, responses=common)  # type: ignore[arg-type]
    app.state.sessions = session_routes.build_store(settings, config)
    from codeforge.api.ratelimit import RateLimitMiddleware, build_limiter

    # Inside RequestMiddleware: a 429 still gets a request id, a log line and metrics.
    app.add_middleware(RateLimitMiddleware, limiter=build_limiter(settings, config))
    app.add_middleware(
        RequestMiddleware,
        metrics=metrics,
        max_body=config.max_body_bytes,
        upload_paths={f"{API_PREFIX}/blueprints/upload": config.max_upload_bytes},
    )
    return app


def app_from_env() -> FastAPI:
    """The app on the settings of the environment (for ``uvicorn --factory``)."""
    return create_app(load_settings())
