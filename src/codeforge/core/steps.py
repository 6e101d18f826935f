"""Running one workflow command: argv (no shell), minimal environment, timeout, output tail.

The command runs in its own process group so that stopping it (a timeout, or
Ctrl-C reaching CodeForge) stops everything it started too. Its output is kept
as the last :data:`TAIL_LINES` lines, shown when it fails.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from codeforge.core.commands import TaskError, minimal_env
from codeforge.redaction import redact

TAIL_LINES = 20
_STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class StepFailed(TaskError):
    """A workflow step failed (exit 11); ``tail`` holds its last output lines."""

    def __init__(self, message: str, *, tail: Sequence[str] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.tail = tuple(tail)


def _collect(stream: IO[str], tail: collections.deque[str]) -> None:
    for line in stream:
        tail.append(redact(line.rstrip("\n")))  # kept in records: no credential in a URL


def _stop(proc: subprocess.Popen[str]) -> None:
    """End ``proc`` and its process group: SIGTERM, then SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, _STOP_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_step(
    argv: Sequence[str],
    cwd: Path,
    *,
    origin: str,
    env: Mapping[str, str] | None = None,
    timeout: float,
) -> None:
    """Run ``argv`` in ``cwd``; a non-zero exit, a missing command or the timeout is StepFailed.

    A KeyboardInterrupt while it runs stops the command's whole process group and
    is raised again for the caller to record.
    """
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=minimal_env(dict(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise StepFailed(f"{origin}: command not found: {argv[0]}") from exc
    except OSError as exc:
        raise StepFailed(f"{origin}: cannot run {argv[0]}: {exc.strerror or exc}") from exc
    assert proc.stdout is not None
    reader = threading.Thread(target=_collect, args=(proc.stdout, tail), daemon=True)
    reader.start()
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        reader.join(1.0)
        raise StepFailed(f"{origin}: took longer than {timeout:g} s", tail=tail) from None
    except BaseException:
        _stop(proc)
        raise
    reader.join(5.0)
    if status != 0:
        command = redact(" ".join(argv))
        raise StepFailed(f"{origin}: `{command}` exited with {status}", tail=tail)
