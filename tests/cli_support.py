"""Run the ``codeforge`` CLI in-process, through its real error boundary."""

from __future__ import annotations

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
