"""Start ``codeforge serve`` and ``codeforge worker`` processes for the cluster tests.

Every process binds 127.0.0.1 only and gets PR_SET_PDEATHSIG: it dies with the test
process even if the test is killed, and the fixtures stop them at the end.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

HERE = Path(__file__).parent
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """The processes a test starts (append them): each is stopped when the test ends."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    for kind in ("CONFIG", "DATA", "CACHE"):
        env[f"CODEFORGE_{kind}_DIR"] = os.environ[f"CODEFORGE_{kind}_DIR"]
    env.update(
        {
            "CODEFORGE_RATE_LIMITS": "off",
            "CODEFORGE_RATE_LIMITS_ADDRESS": "off",
            "CODEFORGE_API_KEY_CACHE_SECONDS": "30",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")])),
        }
    )
    env.update(extra)
    return env


def start_server(name: str, port: int, env: dict[str, str], logs: Path) -> Proc:
    argv = [sys.executable, "-m", "codeforge", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = Proc(name, argv, env, logs)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if not proc.alive():
            raise AssertionError(f"{name} exited:\n{proc.output()}")
        if time.monotonic() > deadline:
            proc.stop()
            raise AssertionError(f"{name} did not answer within 60 s:\n{proc.output()}")
        time.sleep(0.2)


def start_worker(name: str, env: dict[str, str], logs: Path, *args: str) -> Proc:
    """A ``codeforge worker`` that also knows the test kinds (kinds_for_tests)."""
    code = (
        "import kinds_for_tests; from codeforge.cli.main import run; "
        f"run(['worker', '--name', {name!r}, *{list(args)!r}])"
    )
    return Proc(name, [sys.executable, "-c", code], env, logs)


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
