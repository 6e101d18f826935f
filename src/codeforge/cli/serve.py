"""``codeforge serve``: run the web API with uvicorn."""

from __future__ import annotations

import click

APP = "codeforge.api.app:app_from_env"


def _worker(host: str, port: int, log_level: str) -> None:
    """One worker process with its own listening socket (SO_REUSEPORT)."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _run_workers(host: str, port: int, workers: int, log_level: str) -> None:
    """``workers`` processes, each listening on the port with SO_REUSEPORT.

    The kernel then spreads new connections over the workers. With one shared socket
    (uvicorn's own ``--workers``) whichever worker wakes first accepts a whole burst
    of keep-alive connections, and the others sit idle. A worker that dies is
    restarted; SIGTERM or SIGINT stops them all.
    """
    import multiprocessing
    import signal
    import time

    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        proc = spawn.Process(target=_worker, args=(host, port, log_level), name="codeforge-worker")
        proc.start()
        return proc

    procs = [start() for _ in range(workers)]

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        for i, proc in enumerate(procs):
            if not proc.is_alive() and not stopping:
                time.sleep(0.5)  # no hot loop when a worker cannot start
                procs[i] = start()
        time.sleep(0.2)
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()


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
    load balancer. The database is migrated to the latest schema on start. With
    ``--workers N`` each worker listens on the port itself (SO_REUSEPORT), so the
    kernel balances connections between them.
    """
    import socket

    import uvicorn

    from codeforge.api.app import create_app
    from codeforge.core.settings import load_settings

    # Migrate (and fail on a bad database) once, before the workers start.
    create_app(load_settings())
    if workers > 1 and port != 0 and hasattr(socket, "SO_REUSEPORT"):
        _run_workers(host, port, workers, log_level)
        return
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # the app logs one JSON line per request
        proxy_headers=False,
        server_header=False,
    )
