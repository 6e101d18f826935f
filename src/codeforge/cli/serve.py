"""``codeforge serve``: run the web API with uvicorn.

It says where it listens and when it is ready, on stderr, whatever uvicorn's log
level: ``codeforge serve: ready on http://127.0.0.1:8000 (pid 123)`` once the app
has started and the socket accepts connections (one line per worker process).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import click

APP = "codeforge.web.site:site_from_env"  # the API and the web page, one process


def _url(address: Any) -> str:
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(config: Any) -> Any:
    """A uvicorn server that announces itself once it accepts connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                bound = [s.getsockname() for server in self.servers for s in server.sockets]
                where = ", ".join(_url(a) for a in bound) or "?"
                click.echo(f"codeforge serve: ready on {where} (pid {os.getpid()})", err=True)

    return Server(config)


def _config(host: str, port: int, log_level: str) -> Any:
    import uvicorn

    from codeforge.cli.wire import http_protocol

    return uvicorn.Config(
        APP,
        factory=True,
        http=http_protocol(),  # a response leaves whole or not at all (see cli/wire.py)
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the app logs one JSON line per request
        proxy_headers=False,
        server_header=False,
    )


def _worker(host: str, port: int, log_level: str) -> None:
    """One worker process with its own listening socket (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    _server(_config(host, port, log_level)).run(sockets=[sock])


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
    """Run the web API and the web page at / (SQLite in the data folder, or CODEFORGE_DATABASE_URL).

    Servers keep no state of their own: run several on one database behind a
    load balancer. The database is migrated to the latest schema on start. With
    ``--workers N`` each worker listens on the port itself (SO_REUSEPORT), so the
    kernel balances connections between them.
    """
    import uvicorn

    from codeforge.settings import load_settings
    from codeforge.web.site import create_site

    # Migrate (and fail on a bad database) once, before the workers start.
    create_site(load_settings())
    click.echo(f"codeforge serve: starting {workers} worker(s) on {_url((host, port))}", err=True)
    if workers == 1:
        _server(_config(host, port, log_level)).run()
        return
    if port != 0 and hasattr(socket, "SO_REUSEPORT"):
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
