"""A real Docker engine for the tests: Debian's ``dockerd``, one per test session.

It runs as a child of the test process with its own ``--data-root``, ``--exec-root``,
``--pidfile`` and socket under a short temporary folder (a unix socket path is limited
to 107 bytes), with ``--bridge=none --iptables=false --ip6tables=false``: it touches
neither the machine's firewall nor its network, so containers use host networking.
No image can be pulled here: :func:`base_image` builds one from a Debian root
filesystem with ``scripts/docker-base-image`` (cached between runs).

A real registry is Debian's ``docker-registry`` on a free 127.0.0.1 port (the engine
treats 127.0.0.0/8 as an insecure registry, so plain HTTP is fine); ``auth_registry``
is another one that asks for a login (htpasswd, bcrypt).

Tests using these are marked ``docker``. Without root, ``dockerd``, ``debootstrap`` or
``docker-registry`` they skip with the reason; under ``CI`` they fail.

The suite runs in one process (no pytest-xdist in ``scripts/test``): one engine per
session. Under xdist each worker would start its own, which works too (each has its
own folders) but costs a second engine start and base image import per worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_support import skip_unless_ci
from process_support import die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE_SCRIPT = ROOT / "scripts" / "docker-base-image"


@dataclasses.dataclass
class Dockerd:
    """A running engine: ``host`` is its DOCKER_HOST."""

    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return f"unix://{self.folder / 'sock'}"

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}

    def log_tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "dockerd.log").read_text(errors="replace")[-size:]
        return ""

    def client(self) -> object:
        import docker

        return docker.DockerClient(base_url=self.host, timeout=120)

    def containers(self) -> set[str]:
        """Every container's id, running or not: the engine is shared by the session's tests,
        so a test compares this before and after itself rather than expecting none."""
        found = self.client().containers.list(all=True)  # type: ignore[attr-defined]
        return {c.id for c in found}

    def volumes(self) -> set[str]:
        return {v.name for v in self.client().volumes.list()}  # type: ignore[attr-defined]

    def stop(self) -> None:
        """SIGTERM (dockerd stops its containers and containerd), SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # The engine leaves its network namespace mounted under the exec root.
        for mount in reversed(_mounts_under(self.folder)):
            subprocess.run(["umount", "--lazy", mount], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _mounts_under(folder: Path) -> list[str]:
    """Mount points below ``folder``, from /proc/self/mounts (octal escapes decoded)."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            point = line.split()[1].encode().decode("unicode_escape")
            if point.startswith(f"{folder}/"):
                found.append(point)
    return found


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "dockerd needs root"
    for tool, package in (("dockerd", "docker.io"), ("docker", "docker.io")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package})"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed (pip install 'codeforge[docker]')"
    return None


def start_dockerd(timeout: float = 60.0) -> Dockerd:
    """Start an engine in a fresh short folder under /tmp and wait until it answers."""
    folder = Path(tempfile.mkdtemp(prefix="cfd-", dir="/tmp"))
    args = [
        "dockerd",
        f"--data-root={folder / 'data'}",
        f"--exec-root={folder / 'exec'}",
        f"--pidfile={folder / 'pid'}",
        f"--host=unix://{folder / 'sock'}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--storage-driver=overlay2",
    ]
    with (folder / "dockerd.log").open("ab") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
    engine = Dockerd(folder, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"dockerd exited: {tail}")
        with contextlib.suppress(Exception):
            if engine.client().ping():  # type: ignore[attr-defined]
                return engine
        if time.monotonic() > deadline:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"dockerd did not answer in {timeout} s: {tail}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """The session's Docker engine (about 2 s to start)."""
    reason = _missing()
    if reason is not None:
        skip_unless_ci(reason)
    engine = start_dockerd()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def base_image(dockerd: Dockerd) -> str:
    """The name of the Debian minbase image (python3, python3-venv) in the session's engine."""
    if shutil.which("debootstrap") is None:
        skip_unless_ci("debootstrap is not installed (apt-get install debootstrap)")
    done = subprocess.run(
        ["bash", str(BASE_IMAGE_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **dockerd.env()},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@dataclasses.dataclass
class Registry:
    """A running ``docker-registry`` at ``address`` (HOST:PORT), storing under ``folder``."""

    address: str
    folder: Path
    process: subprocess.Popen[bytes]


def _registry_config(folder: Path, port: int, htpasswd: Path | None = None) -> Path:
    config = folder / "config.yml"
    auth = (
        f"auth:\n  htpasswd:\n    realm: codeforge-tests\n    path: {htpasswd}\n"
        if htpasswd is not None
        else ""
    )
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    return config


# The login of the registry with htpasswd auth (auth_registry).
REGISTRY_USER, REGISTRY_PASSWORD = "pusher", "Pw-0f-the-pusher"


def htpasswd_line(user: str, password: str) -> str:
    """``user:bcrypt-hash`` (the only hash docker-registry takes): Python's bcrypt, else
    ``htpasswd -nbB`` (apache2-utils)."""
    try:
        import bcrypt  # type: ignore[import-not-found, unused-ignore]

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        return f"{user}:{hashed}"
    except ImportError:
        pass
    if shutil.which("htpasswd") is None:
        skip_unless_ci("neither bcrypt nor htpasswd is installed (apt-get install apache2-utils)")
    done = subprocess.run(
        ["htpasswd", "-nbB", user, password], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's docker-registry on a free 127.0.0.1 port, for the session."""
    yield from _serve_registry(tmp_path_factory, auth=False)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The same with htpasswd auth: :data:`REGISTRY_USER` and :data:`REGISTRY_PASSWORD`."""
    yield from _serve_registry(tmp_path_factory, auth=True)


def _serve_registry(tmp_path_factory: pytest.TempPathFactory, *, auth: bool) -> Iterator[Registry]:
    binary = shutil.which("docker-registry")
    if binary is None:
        skip_unless_ci("docker-registry is not installed (apt-get install docker-registry)")
    folder = tmp_path_factory.mktemp("registry")
    port = free_port()
    htpasswd = None
    if auth:
        htpasswd = folder / "htpasswd"
        htpasswd.write_text(htpasswd_line(REGISTRY_USER, REGISTRY_PASSWORD) + "\n")
    config = _registry_config(folder, port, htpasswd)
    with (folder / "registry.log").open("ab") as log:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=2).close()
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and auth:  # up, and asking for the login
                    break
                raise
            except OSError:
                assert process.poll() is None, (folder / "registry.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "docker-registry did not start"
                time.sleep(0.2)
        yield Registry(address, folder, process)
    finally:
        process.terminate()
        process.wait(10)
