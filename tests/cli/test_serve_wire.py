"""``codeforge serve`` sends a response whole or not at all (src/codeforge/cli/wire.py).

A server killed between a response's headers and its body must leave the client
with nothing (a load balancer retries that on another server), never with headers
and a cut body. The server here is uvicorn in a child process, with the protocol
``codeforge serve`` uses, and an app that stalls between the two.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from process_support import free_port

SERVER = textwrap.dedent(
    """
    import sys, time, uvicorn
    from codeforge.cli.wire import http_protocol

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/stall":  # headers, then a stall that blocks the loop, then the body
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"5")]})
            time.sleep(30)
            await send({"type": "http.response.body", "body": b"hello"})
        elif path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for n in range(50):
                await send({"type": "http.response.body", "body": b"%d," % n, "more_body": True})
            await send({"type": "http.response.body", "body": b"end"})
        else:
            body = b"x" * int(scope["query_string"] or b"10")
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    http = http_protocol() if sys.argv[2] == "whole" else "httptools"
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=http, log_level="error")
    """
)


def _start(tmp_path: Path, protocol: str) -> tuple[subprocess.Popen[bytes], int]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port), protocol], env=os.environ)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not listen within 30 s"
            time.sleep(0.1)


def _killed_mid_response(tmp_path: Path, protocol: str) -> bytes:
    """What a client has once the server dies between the headers and the body."""
    proc, port = _start(tmp_path, protocol)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /stall HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(1.0)  # the app has started its response and stalls
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            received = b""
            while select.select([client], [], [], 5)[0]:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
            return received
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_server_killed_between_headers_and_body_sends_nothing(tmp_path: Path) -> None:
    assert _killed_mid_response(tmp_path, "whole") == b""


def test_uvicorn_alone_would_have_sent_the_headers(tmp_path: Path) -> None:
    """The control: the case above is real (without the protocol the client gets headers
    and no body)."""
    assert _killed_mid_response(tmp_path, "plain").startswith(b"HTTP/1.1 200 OK")


def test_responses_arrive_whole_over_keep_alive_and_streams_still_stream(tmp_path: Path) -> None:
    proc, port = _start(tmp_path, "whole")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for size in (1, 10_000, 3_000_000):  # the large one outgrows the socket buffer
                answer = client.get(f"/?{size}")
                assert answer.status_code == 200 and answer.content == b"x" * size
            streamed = client.get("/stream").text
            assert streamed == "".join(f"{n}," for n in range(50)) + "end"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_uses_the_whole_response_protocol() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from codeforge.cli.serve import _config

    config = _config("127.0.0.1", 0, "warning")
    assert isinstance(config.http, type) and issubclass(config.http, HttpToolsProtocol)
    assert config.http.__module__ == "codeforge.cli.wire"
