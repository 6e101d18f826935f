"""One engine client per thread: the container actions of one command share it.

A small engine on a unix socket answers the two Engine API calls a client makes on its
own (``GET /version`` when it is made, ``GET /_ping``) and counts them, so the test sees
how many clients and requests a run costs, and what happens when the engine goes away.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("docker")

from codeforge.integrations.containers.engine import EngineUnavailable, engine


class _Engine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        self.calls: list[str] = []
        super().__init__(str(path), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Engine

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.calls.append(path.rsplit("/", 1)[-1])
        if path.endswith("/version"):
            body = json.dumps({"ApiVersion": "1.45", "Version": "27.0.0"}).encode()
            kind = "application/json"
        elif path.endswith("/_ping"):
            body, kind = b"OK", "text/plain"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve(path: Path) -> _Engine:
    server = _Engine(path)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _stop(server: _Engine, path: Path) -> None:
    server.shutdown()
    server.server_close()
    path.unlink(missing_ok=True)


@pytest.fixture
def fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Engine, Path]]:
    path = tmp_path / "engine.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    server = _serve(path)
    yield server, path
    _stop(server, path)


def test_a_thread_makes_one_client_and_then_only_pings(fake_engine: tuple[_Engine, Path]) -> None:
    server, _ = fake_engine
    first = engine("docker.build", timeout=30)
    assert server.calls == ["version"]  # a new client asks the engine its API version
    again = engine("docker.run")
    assert again is first
    assert first.api.timeout == 120  # each call's own timeout
    assert server.calls == ["version", "_ping"]


def test_another_thread_gets_its_own_client(fake_engine: tuple[_Engine, Path]) -> None:
    mine = engine("docker.build")
    theirs: list[Any] = []
    worker = threading.Thread(target=lambda: theirs.append(engine("docker.build")))
    worker.start()
    worker.join()
    assert theirs and theirs[0] is not mine
    theirs[0].close()


def test_a_client_not_shared_is_new_and_stays_out_of_the_cache(
    fake_engine: tuple[_Engine, Path],
) -> None:
    shared = engine("docker.run")
    own = engine("credentials test docker", shared=False)
    try:
        assert own is not shared
        assert engine("docker.run") is shared
    finally:
        own.close()


def test_an_engine_that_went_away_is_said_and_its_client_dropped(
    fake_engine: tuple[_Engine, Path],
) -> None:
    server, path = fake_engine
    first = engine("docker.build")
    _stop(server, path)
    with pytest.raises(
        EngineUnavailable, match=r"docker\.run: no Docker engine answers at unix://"
    ):
        engine("docker.run")
    back = _serve(path)
    try:
        fresh = engine("docker.run")
        assert fresh is not first
        assert back.calls == ["version"]  # a new client, not the dead one pinged again
    finally:
        _stop(back, path)


def test_each_docker_host_has_its_own_client(
    fake_engine: tuple[_Engine, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = engine("docker.build")
    other_path = tmp_path / "other.sock"
    other = _serve(other_path)
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{other_path}")
        second = engine("docker.build")
        assert second is not first
        assert other.calls == ["version"]
    finally:
        _stop(other, other_path)
