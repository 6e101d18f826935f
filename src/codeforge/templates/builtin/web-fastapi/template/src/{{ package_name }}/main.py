"""The {{ package_name }} FastAPI application."""

{% if database != "none" -%}
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from {{ package_name }} import __version__
from {{ package_name }}.db import create_tables
from {{ package_name }}.routers import health, items
# codeforge:router-imports


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create missing tables at start-up (move to Alembic migrations as you grow)."""
    create_tables()
    yield


app = FastAPI(
    title={{ project_name | to_json }},
    version=__version__,
    lifespan=lifespan,
)
{% else -%}
from fastapi import FastAPI

from {{ package_name }} import __version__
from {{ package_name }}.routers import health, items
# codeforge:router-imports

app = FastAPI(
    title={{ project_name | to_json }},
    version=__version__,
)
{% endif -%}
app.include_router(health.router)
app.include_router(items.router)
# codeforge:routers
