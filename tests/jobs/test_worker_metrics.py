"""``codeforge worker --metrics-port``: the worker's own Prometheus endpoint (job time and
failures), through the real console script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cache.redis_support import free_port
from cli_support import CODEFORGE, console

pytestmark = pytest.mark.redis


def worker_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "CODEFORGE_REDIS_URL": redis_url,
        "CODEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
    }


def start_worker(tmp_path: Path, redis_url: str) -> tuple[subprocess.Popen[str], str]:
    """A worker serving its metrics, and the text of its first scrape. A free port can be
    taken by another process before the worker binds it: then it exits 2, and we retry."""
    for _ in range(3):
        port = free_port()
        args = ["worker", "--queues", f"m{uuid.uuid4().hex[:8]}", "--metrics-port", str(port)]
        proc = subprocess.Popen(
            [str(CODEFORGE), *args],
            env={**os.environ, **worker_env(tmp_path, redis_url)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                return proc, httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate(timeout=60)
        assert "cannot serve metrics" in err, err
    raise AssertionError("no free port for the worker's metrics in 3 tries")


def test_the_worker_serves_its_metrics(tmp_path: Path, redis_url: str) -> None:
    proc, text = start_worker(tmp_path, redis_url)
    try:
        assert "# TYPE codeforge_job_duration_seconds histogram" in text
        assert "# TYPE codeforge_job_failures_total counter" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_a_taken_metrics_port_is_a_clear_error(tmp_path: Path, redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = console(
            "worker", "--burst", "--metrics-port", str(port), env=worker_env(tmp_path, redis_url)
        )
    assert result.returncode == 2, result.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
