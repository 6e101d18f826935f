"""Run the ``codeforge`` CLI in-process, through its real error boundary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from codeforge.cli.main import run


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
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``codeforge`` console script in a subprocess (exit codes as users see them).

    ``env`` is added to this process's environment; ``PYTHONPATH`` is kept so the
    checkout under test is what the script imports.
    """
    script = Path(sys.executable).with_name("codeforge")
    return subprocess.run(
        [str(script), *args],
        env={**os.environ, **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
