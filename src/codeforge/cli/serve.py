"""``codeforge serve``: run the web API with uvicorn."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn's own log level.")
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Run the web API (SQLite in the data folder, or CODEFORGE_DATABASE_URL).

    Servers keep no state of their own: run several on one database behind a
    load balancer. The database is migrated to the latest schema on start.
    """
    import uvicorn

    from codeforge.api.app import create_app
    from codeforge.core.settings import load_settings

    # Migrate (and fail on a bad database) once, before the workers start.
    create_app(load_settings())
    uvicorn.run(
        "codeforge.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # the app logs one JSON line per request
        proxy_headers=False,
        server_header=False,
    )
