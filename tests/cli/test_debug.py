"""``--debug`` and ``CODEFORGE_DEBUG=1`` show the traceback above the one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import console


@pytest.mark.parametrize(
    ("args", "env", "traceback"),
    [
        ((), {}, False),
        (("--debug",), {}, True),
        ((), {"CODEFORGE_DEBUG": "1"}, True),
        ((), {"CODEFORGE_DEBUG": "true"}, True),
        ((), {"CODEFORGE_DEBUG": "0"}, False),
        ((), {"CODEFORGE_DEBUG": ""}, False),
    ],
)
def test_tracebacks_only_when_asked(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], traceback: bool
) -> None:
    proc = console(*args, "init", "x", "-t", "no-such-blueprint", "-o", str(tmp_path), env=env)
    assert proc.returncode == 8
    assert (
        proc.stderr.rstrip()
        .splitlines()[-2 if "hint:" in proc.stderr else -1]
        .startswith("error: no blueprint named 'no-such-blueprint'")
    )
    assert ("Traceback (most recent call last)" in proc.stderr) is traceback
    assert ("NotFoundError" in proc.stderr) is traceback
