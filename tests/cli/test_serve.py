"""``codeforge serve`` says where it listens and when it is ready (the console script)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
from cli_support import CODEFORGE

READY = re.compile(r"codeforge serve: ready on (http://127\.0\.0\.1:(\d+)) \(pid (\d+)\)")


def test_serve_announces_its_address_once_ready(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    for kind in ("config", "data", "cache"):
        env[f"CODEFORGE_{kind.upper()}_DIR"] = str(tmp_path / kind)
    proc = subprocess.Popen(
        [str(CODEFORGE), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        found = None
        while found is None:
            assert time.monotonic() < deadline, "".join(lines)
            if select.select([proc.stderr], [], [], 1.0)[0]:
                line = proc.stderr.readline()
                assert line, "serve exited:\n" + "".join(lines)
                lines.append(line)
                found = READY.search(line)
        assert lines[0].startswith("codeforge serve: starting 1 worker(s) on http://127.0.0.1:0")
        url, _, pid = found.groups()
        assert int(pid) == proc.pid
        # "ready" means it: the very first request is answered.
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
