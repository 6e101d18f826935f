"""How deploy/docker/haproxy/haproxy.cfg spreads requests, run by the real HAProxy over two
small HTTP servers on 127.0.0.1 that say who they are.

- A client's connection keeps the server that served it (one after another, requests go
  to the process that is warm), so at one request at a time the balancer costs one hop.
- A new connection gets the server with the fewest requests in flight, so concurrent
  clients spread over both.
- A server that dies takes no request down with it: the next request of a connection
  that was on it is sent to the other server.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from ci_support import skip_unless_ci
from process_support import die_with_parent, free_ports

CFG = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "haproxy" / "haproxy.cfg"


class _Named(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.dead = False  # then every request is dropped unanswered, as by a crash
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Named

    def do_GET(self) -> None:
        if self.server.dead:
            self.close_connection = True
            return
        if self.path == "/slow":
            time.sleep(0.8)
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(name: str, port: int) -> _Named:
    server = _Named(name, port)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _stop(server: _Named) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def balanced(tmp_path: Path) -> Iterator[tuple[str, dict[str, _Named]]]:
    """HAProxy with the stack's config on a free port, in front of api-1 and api-2."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        skip_unless_ci("haproxy is not installed (apt-get install haproxy)")
    lb_port, port_1, port_2 = free_ports(3)
    servers = {"api-1": _serve("api-1", port_1), "api-2": _serve("api-2", port_2)}
    env = {
        "CODEFORGE_LB_BIND": "127.0.0.1",
        "CODEFORGE_LB_PORT": str(lb_port),
        "CODEFORGE_API_1_PORT": str(port_1),
        "CODEFORGE_API_2_PORT": str(port_2),
    }
    log = (tmp_path / "haproxy.log").open("w")
    proc = subprocess.Popen(
        [haproxy, "-f", str(CFG)], env=env, stdout=log, stderr=log, preexec_fn=die_with_parent
    )
    url = f"http://127.0.0.1:{lb_port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, (tmp_path / "haproxy.log").read_text()
                assert time.monotonic() < deadline, "HAProxy did not start"
                time.sleep(0.1)
        yield url, servers
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        for server in servers.values():
            if server.socket.fileno() != -1:
                _stop(server)


def test_one_connection_keeps_its_server(balanced: tuple[str, dict[str, _Named]]) -> None:
    url, _ = balanced
    with httpx.Client(base_url=url) as client:
        served = {client.get("/").text for _ in range(20)}
    assert len(served) == 1, served


def test_concurrent_connections_spread_and_then_keep_their_servers(
    balanced: tuple[str, dict[str, _Named]],
) -> None:
    url, _ = balanced
    with httpx.Client(base_url=url) as a, httpx.Client(base_url=url) as b:
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(a.get, "/slow")  # a's request stays in flight on one server
            time.sleep(0.3)
            b_first = b.get("/").text  # so b's connection is given the other
            a_first = slow.result().text
        assert {a_first, b_first} == {"api-1", "api-2"}
        for _ in range(5):
            assert a.get("/").text == a_first
            assert b.get("/").text == b_first


def test_a_dead_server_fails_no_request(balanced: tuple[str, dict[str, _Named]]) -> None:
    url, servers = balanced
    with httpx.Client(base_url=url) as client:
        first = client.get("/").text
        servers[first].dead = True  # its open connections answer nothing
        _stop(servers[first])  # and it takes no new one
        after = [client.get("/") for _ in range(10)]
    assert all(r.status_code == 200 for r in after), [r.status_code for r in after]
    assert {r.text for r in after} == {"api-2" if first == "api-1" else "api-1"}
