"""``codeforge users``/``keys`` on the embedded database, and ``codeforge serve`` for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from cli_support import console
from click.testing import CliRunner

from codeforge.cli.admin import keys, users


def test_users_and_keys_commands_drive_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    # The CLI is another process: the server sees its revocation once its cached
    # verification of the key lapses (CODEFORGE_API_KEY_CACHE_SECONDS).
    monkeypatch.setenv("CODEFORGE_API_KEY_CACHE_SECONDS", "0.3")

    from codeforge.api.app import create_app

    runner = CliRunner()
    result = runner.invoke(users, ["create", "ann", "--role", "admin"])
    assert result.exit_code == 0, result.output
    duplicate = console("users", "create", "ann")  # the real script: its exit code
    assert (duplicate.returncode, duplicate.stderr) == (4, "error: user 'ann' already exists\n")
    made = runner.invoke(keys, ["create", "laptop", "--user", "ann", "--expires", "30"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    assert key.startswith("cf_") and len(key) >= 40
    listed = json.loads(runner.invoke(keys, ["list", "--json"]).stdout)
    assert [(k["name"], k["user"], k["revoked_at"]) for k in listed] == [("laptop", "ann", None)]
    assert key not in json.dumps(listed)
    with TestClient(create_app()) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/api/v1/me", headers=auth).json()["role"] == "admin"
        assert runner.invoke(keys, ["revoke", str(listed[0]["id"])]).exit_code == 0
        time.sleep(0.4)
        assert client.get("/api/v1/me", headers=auth).status_code == 401
        actions = {
            r["action"]
            for r in client.get("/api/v1/activity", headers=auth).json().get("items", [])
        }
        assert actions == set()  # the revoked key can read nothing
    users_json = json.loads(runner.invoke(users, ["list", "--json"]).stdout)
    assert [u["name"] for u in users_json] == ["ann"]
    nobody = console("keys", "create", "k", "--user", "nobody")
    assert nobody.returncode == 8, nobody.stderr
    assert nobody.stderr == (
        "error: no user named 'nobody'\nhint: create it with `codeforge users create`\n"
    )
    assert nobody.stdout == ""  # no key printed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_uvicorn() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from codeforge.cli.serve import serve; serve()",
            "--port",
            str(port),
        ],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert response.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/blueprints").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_with_workers_balances_on_one_port() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from codeforge.cli.serve import serve; serve()",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while seen < 5:
            try:
                # A new connection each time: the kernel picks a worker per connection.
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                assert response.json() == {"status": "ok", "database": "ok"}
                seen += 1
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        proc.terminate()
        assert proc.wait(timeout=40) is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
