"""A real 3-primary Redis Cluster on loopback, started and stopped by the test.

Three ``redis-server --cluster-enabled yes`` on free 127.0.0.1 ports, each in its own
folder under the test's temporary directory, joined by ``redis-cli --cluster create
... --cluster-yes``. A primary can be killed (SIGKILL) and started again on the same
port and folder: it rejoins with its ``nodes.conf`` and owns its slots again (empty:
nothing is persisted). Without ``redis-server`` or ``redis-cli`` the test skips, or
fails under ``CI``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from process_support import die_with_parent

NODE_TIMEOUT_MS = 1000


def cluster_ports(count: int) -> list[int]:
    """``count`` loopback ports free now whose cluster bus ports (port + 10000) are free too
    (so at most 55535)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 45000)
        if port in chosen or port + 10000 in chosen:
            continue
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        chosen.append(port)
    return chosen


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (the Redis Cluster tests need Debian's redis-server)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


class RedisCluster:
    """Three primaries; ``url`` is the ``redis+cluster://`` form CodeForge documents."""

    def __init__(self, folder: Path, size: int = 3) -> None:
        self.server = _tool("redis-server")
        self.cli = _tool("redis-cli")
        self.folder = folder
        self.ports = cluster_ports(size)
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def start_node(self, port: int) -> None:
        home = self.folder / str(port)
        home.mkdir(parents=True, exist_ok=True)
        options = {
            "port": str(port),
            "bind": "127.0.0.1",
            "dir": str(home),
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(NODE_TIMEOUT_MS),
            "save": "",
            "appendonly": "no",
            "daemonize": "no",
        }
        argv = [self.server]
        for name, value in options.items():
            argv += [f"--{name}", value]
        self.procs[port] = subprocess.Popen(
            argv,
            stdout=(home / "log").open("ab"),
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        self._wait(lambda: self._ask(port, "ping") == "PONG", f"node {port} to answer")

    def start(self) -> RedisCluster:
        for port in self.ports:
            self.start_node(port)
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        created = subprocess.run(
            [self.cli, "--cluster", "create", *nodes, "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        self.wait_ok()
        return self

    def wait_ok(self) -> None:
        for port in self.ports:
            self._wait(lambda p=port: "cluster_state:ok" in self._ask(p, "cluster", "info"), "ok")

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(timeout=10)

    def stop(self) -> None:
        for port in list(self.procs):
            proc = self.procs.pop(port)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def slot_owner(self, key: str) -> int:
        """The port of the primary that holds ``key``'s slot."""
        slot = int(self._ask(self.ports[0], "cluster", "keyslot", key))
        for line in self._ask(self.ports[0], "cluster", "nodes").splitlines():
            parts = line.split()
            port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
            for span in parts[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return port
        raise AssertionError(f"no node holds slot {slot}")

    def _ask(self, port: int, *command: str) -> str:
        result = subprocess.run(
            [self.cli, "-h", "127.0.0.1", "-p", str(port), "--raw", *command],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout.strip()

    @staticmethod
    def _wait(check: object, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
            time.sleep(0.1)
