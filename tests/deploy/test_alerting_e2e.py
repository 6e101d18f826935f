"""Alerting end to end with Debian's Prometheus and Alertmanager: a real worker is
scraped, the worker stops, CodeForgeWorkersAbsent fires, and Alertmanager delivers it
through the production routes (deploy/monitoring/alertmanager.yml, its secret files
and receivers pointed at a local webhook) to both Slack and PagerDuty.

Only the waits are shortened (scrape and evaluation every second, `for:` 1 s,
group_wait 1 s); the rule expressions and the routing are the shipped ones.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cache.redis_support import free_port
from cli_support import CODEFORGE

from .monitoring_support import MONITORING, tool

pytestmark = pytest.mark.redis


class Receiver(ThreadingHTTPServer):
    """Records every POST: (path, JSON body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def alertmanager_config(tmp_path: Path, receiver: Receiver) -> Path:
    """The shipped config, its secret files in tmp_path and its receivers on ``receiver``."""
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text(encoding="utf-8"))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack-webhook-url").write_text(f"{receiver.url}/slack\n")
    (secrets / "pagerduty-routing-key").write_text("test-routing-key\n")
    config["global"]["slack_api_url_file"] = str(secrets / "slack-webhook-url")
    route = config["route"]
    route["group_wait"], route["group_interval"] = "1s", "1s"
    for item in config["receivers"]:
        for pagerduty in item.get("pagerduty_configs", []):
            pagerduty["routing_key_file"] = str(secrets / "pagerduty-routing-key")
            pagerduty["url"] = f"{receiver.url}/pagerduty"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def prometheus_config(tmp_path: Path, worker_port: int, am_port: int) -> Path:
    rules = (MONITORING / "rules.yml").read_text(encoding="utf-8")
    (tmp_path / "rules.yml").write_text(re.sub(r"for: \d+m", "for: 1s", rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "codeforge-worker",
                "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
            }
        ],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start(
    argv: list[str], tmp_path: Path, name: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def firing(prometheus: str, name: str) -> bool:
    response = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5)
    response.raise_for_status()
    alerts = response.json()["data"]["alerts"]
    return any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts)


def test_a_stopped_worker_pages_through_pagerduty_and_slack(
    tmp_path: Path, receiver: Receiver, redis_url: str
) -> None:
    prometheus_bin, alertmanager_bin = tool("prometheus"), tool("prometheus-alertmanager")
    worker_port, prom_port, am_port = free_port(), free_port(), free_port()
    worker = start(
        [
            str(CODEFORGE),
            "worker",
            "--queues",
            f"e2e{uuid.uuid4().hex[:8]}",
            "--metrics-port",
            str(worker_port),
        ],
        tmp_path,
        "worker",
        {
            "CODEFORGE_REDIS_URL": redis_url,
            "CODEFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
            "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
            "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
            "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
        },
    )
    alertmanager = start(
        [
            alertmanager_bin,
            f"--config.file={alertmanager_config(tmp_path, receiver)}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        tmp_path,
        "alertmanager",
    )
    prometheus = start(
        [
            prometheus_bin,
            f"--config.file={prometheus_config(tmp_path, worker_port, am_port)}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        tmp_path,
        "prometheus",
    )
    prom = f"http://127.0.0.1:{prom_port}"
    try:

        def worker_up() -> bool:
            try:
                query = httpx.get(
                    f"{prom}/api/v1/query",
                    params={"query": 'up{job="codeforge-worker"}'},
                    timeout=5,
                )
            except httpx.TransportError:
                return False
            if query.status_code != 200:  # 503 with a text body until Prometheus is ready
                return False
            result = query.json()["data"]["result"]
            return bool(result) and result[0]["value"][1] == "1"

        wait_for(worker_up, "Prometheus to scrape the worker")
        time.sleep(3)  # several evaluations with the worker up
        assert not firing(prom, "CodeForgeWorkersAbsent")
        assert not [body for path, body in receiver.received if "WorkersAbsent" in json.dumps(body)]

        stop(worker)
        wait_for(lambda: firing(prom, "CodeForgeWorkersAbsent"), "the alert to fire")

        def delivered() -> dict[str, dict[str, Any]]:
            found = {}
            for path, body in receiver.received:
                if "CodeForgeWorkersAbsent" in json.dumps(body):
                    found[path] = body
            return found if {"/slack", "/pagerduty"} <= set(found) else {}

        payloads = wait_for(delivered, "Alertmanager to deliver to Slack and PagerDuty")
    finally:
        for proc in (worker, prometheus, alertmanager):
            stop(proc)
    pagerduty = payloads["/pagerduty"]
    assert pagerduty["routing_key"] == "test-routing-key"  # read from the secret file
    assert pagerduty["event_action"] == "trigger"
    assert (
        pagerduty["payload"]["summary"] == "CodeForgeWorkersAbsent: No CodeForge worker is running"
    )
    slack = payloads["/slack"]
    assert slack["channel"] == "#codeforge-alerts"
    (attachment,) = slack["attachments"]
    assert attachment["title"] == "FIRING: CodeForgeWorkersAbsent"
    assert "No CodeForge worker is running" in attachment["text"]
    assert "docs/operations.md#codeforgeworkersabsent" in attachment["text"]
