"""Run the ``codeforge`` CLI: in-process through its real error boundary, or as the
console script beside this Python (CI has no virtualenv on PATH), also on a terminal.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from codeforge.cli.main import run

CODEFORGE = Path(sys.executable).with_name("codeforge")


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``codeforge ARGS``, as the console script would give."""
    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, streams[0].getvalue().decode(), streams[1].getvalue().decode()


def console(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``codeforge`` console script in a subprocess (exit codes as users see them).

    ``env`` is added to this process's environment; ``PYTHONPATH`` is kept so the
    checkout under test is what the script imports.
    """
    return subprocess.run(
        [str(CODEFORGE), *args],
        env={**os.environ, **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


class Terminal:
    """The console script on a pseudo-terminal: for prompts, replies and Ctrl-C.

    ``environ`` is the whole environment of the script (this process's by default).
    """

    def __init__(
        self, args: list[str], cwd: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [str(CODEFORGE), *args],
            cwd=cwd,
            env={**(os.environ if environ is None else environ), "TERM": "dumb", "COLUMNS": "200"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            # Ctrl-C must reach the child even when this run inherited "ignore SIGINT".
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        os.close(slave)
        self.seen = ""

    def wait_for(self, text: str, timeout: float = 120.0) -> None:
        """Read the terminal until ``text`` shows (fail if it exits or times out first)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never appeared; output so far:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                assert chunk, f"exited before {text!r}; output:\n{self.seen}"
                self.seen += chunk.decode(errors="replace")

    def reply(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self.master, line.encode() + b"\r")

    def finish(self, timeout: float = 60.0) -> int:
        """The exit code, once the script ends; what is left on the terminal is read."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running; output:\n{self.seen}") from None
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk.decode(errors="replace")
        os.close(self.master)
        return code
