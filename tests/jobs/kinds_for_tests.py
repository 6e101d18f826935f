"""Job kinds that exist only in tests: they use the public ``KINDS`` registry (the way
later issues add update, publish and AI jobs) to fail, stall or overrun on purpose.

Imported by the test process, and by worker processes the cluster tests start
(``python -c "import kinds_for_tests; ..."``), so both sides know the same kinds.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

from codeforge.jobs.kinds import KINDS, GenerateKind, JobRun, Owner, RegisterKind, Work
from codeforge.jobs.runner import TransientJobError


class FlakyKind:
    """Fails with a transient error on its first ``fail_times`` attempts, then succeeds."""

    name = "test-flaky"
    role = "member"

    def check(self, ctx: Any, owner: Owner, payload: Any) -> None:
        return None

    def run(self, job: JobRun) -> Work:
        from codeforge.db.models import Job

        with job.ctx.read() as session:
            row = session.get(Job, job.id)
            assert row is not None
            attempt = row.attempts
        if attempt <= int(job.payload.get("fail_times", 0)):
            raise TransientJobError(f"flaky failure on attempt {attempt}")
        return Work(result={"attempt": attempt})


class SlowKind:
    """Works for ``seconds``, reporting progress (cooperative) unless ``silent``."""

    name = "test-slow"
    role = "member"

    def check(self, ctx: Any, owner: Owner, payload: Any) -> None:
        return None

    def run(self, job: JobRun) -> Work:
        seconds = float(job.payload.get("seconds", 1))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not job.payload.get("silent"):
                job.progress(50, "working")
            time.sleep(0.05)
        return Work(result={"slept": seconds, "pid": os.getpid()}, artifact=b"done", suffix="txt")


class SlowGenerateKind(GenerateKind):
    """A real ``generate`` (project and activity recorded) that first waits ``delay`` s."""

    name = "test-slow-generate"

    def run(self, job: JobRun) -> Work:
        end = time.monotonic() + float(job.payload.get("delay", 1))
        while time.monotonic() < end:
            job.progress(10, "waiting")
            time.sleep(0.05)
        payload = {k: v for k, v in job.payload.items() if k != "delay"}
        job.payload = payload
        return super().run(job)


def install() -> None:
    for kind in (FlakyKind(), SlowKind(), SlowGenerateKind()):
        KINDS[kind.name] = kind  # type: ignore[assignment]


install()


class ArchiveRegisterKind(RegisterKind):
    """The real ``register`` (role check, Blueprint and Activity rows, exactly once) with the
    blueprint from a base64 archive in the payload instead of a git host (no network here)."""

    name = "test-register-archive"

    def fetch(self, ctx: Any, payload: Any) -> tuple[Path, str]:
        from codeforge.app.registry import fetch_archive

        return fetch_archive(ctx, base64.b64decode(payload["archive"]))


KINDS[ArchiveRegisterKind.name] = ArchiveRegisterKind()  # type: ignore[assignment]
