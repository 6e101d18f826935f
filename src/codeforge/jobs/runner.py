"""Running one job attempt, and the sweeper that keeps jobs moving.

``Runner.run(job_id)`` is what every executor calls (an RQ worker, or a thread of
the API process): claim the row, run the kind with a lease that a background thread
renews, store the artifact, then finish (recording the job's rows in the same
transaction). Errors are sorted once:

* transient (database or Redis connection errors, git network errors, a full
  queue): retried after an exponential backoff, up to ``max_attempts``;
* a timeout: failed, with the kind's timeout in the message;
* anything else a CodeForge error: failed at once with its clear message;
* an unexpected exception: failed as an internal error (the traceback is logged,
  never stored).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from codeforge.app import jobstore, outages, sweep
from codeforge.app.context import AppContext
from codeforge.core.artifacts import ArtifactStore
from codeforge.errors import ArtifactStoreError, CodeForgeError, StoreError
from codeforge.jobs.config import JobConfig
from codeforge.jobs.kinds import Owner, kinds_of

log = logging.getLogger("codeforge.jobs")


class TransientJobError(CodeForgeError):
    """A failure worth retrying (kinds raise it for their own transient conditions)."""

    kind = "transient"
    http_status = 503


class JobTimedOut(CodeForgeError):
    kind = "timeout"
    http_status = 504


class LeaseLost(Exception):
    """This attempt was taken from the worker (lease expired, or timed out elsewhere)."""


def is_transient(exc: BaseException) -> bool:
    """True for failures that may well not happen again: a kind's own transient error,
    or a dependency out of reach (``codeforge.app.outages.is_transient``)."""
    return isinstance(exc, TransientJobError) or outages.is_transient(exc)


def _is_rq_timeout(exc: BaseException) -> bool:
    return type(exc).__name__ == "JobTimeoutException"


def describe(exc: BaseException) -> str:
    if isinstance(exc, CodeForgeError):
        text = str(exc)
        return f"{text} (hint: {exc.hint})" if exc.hint else text
    return str(exc) or type(exc).__name__


class Attempt:
    """One running attempt: the kind's view (``JobRun``) plus its lease keeper."""

    def __init__(self, runner: Runner, claimed: jobstore.Claimed, owner: Owner) -> None:
        self.runner = runner
        self.claimed = claimed
        self.id = claimed.id
        self.payload = claimed.payload
        self.owner = owner
        self.ctx = runner.ctx
        self.deadline = time.monotonic() + claimed.timeout
        self.timed_out = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        # The claim wrote "started" just now: a fast job writes no progress at all.
        self._last_write = time.monotonic()
        self._thread = threading.Thread(
            target=self._keep_lease, name=f"codeforge-lease-{claimed.id[:8]}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def check(self) -> None:
        if self.timed_out.is_set() or time.monotonic() > self.deadline:
            self.timed_out.set()
            raise JobTimedOut(self.runner.timeout_message(self.claimed))
        if self.lost.is_set():
            raise LeaseLost(self.id)

    def progress(self, percent: int, stage: str) -> None:
        self.check()
        now = time.monotonic()
        if now - self._last_write < 0.5:
            return  # a fast job does not write every step
        self._last_write = now
        if not jobstore.renew(
            self.runner.factory, self.claimed, self.runner.config.lease, percent, stage
        ):
            self.lost.set()
            raise LeaseLost(self.id)

    def _keep_lease(self) -> None:
        interval = max(0.2, self.runner.config.lease / 3)
        while not self._stop.wait(min(interval, max(0.05, self.deadline - time.monotonic()))):
            if time.monotonic() > self.deadline:
                # The attempt overran its timeout: fail it now; the work, if it ever
                # ends, finds the job no longer its own and records nothing.
                self.timed_out.set()
                self.runner.fail(self.claimed, self.runner.timeout_message(self.claimed), "timeout")
                return
            try:
                if not jobstore.renew(self.runner.factory, self.claimed, self.runner.config.lease):
                    self.lost.set()
                    return
            except Exception as exc:  # a database blip: try again on the next tick
                log.warning("job %s: cannot renew the lease: %s", self.id, type(exc).__name__)


@dataclasses.dataclass
class Runner:
    ctx: AppContext
    config: JobConfig
    artifacts: ArtifactStore
    worker: str

    @property
    def factory(self) -> Any:
        return self.ctx.factory

    def timeout_message(self, claimed: jobstore.Claimed) -> str:
        return f"the {claimed.kind} job did not finish within its {claimed.timeout} s timeout"

    def fail(self, claimed: jobstore.Claimed, message: str, kind: str) -> bool:
        self.ctx.metrics.job_failures.labels(claimed.kind, kind).inc()
        try:
            return jobstore.fail(self.factory, claimed, message, kind, self.config.result_ttl)
        except Exception as exc:  # the lease then runs out and the sweeper retries it
            log.warning("job %s: cannot record the failure: %s", claimed.id, type(exc).__name__)
            return False

    def run(self, job_id: str) -> str:
        """Run one attempt of ``job_id``; returns what happened (finished, failed, retry,
        skipped when it is not ours to run, lost when it was taken from us)."""
        claimed = jobstore.claim(self.factory, job_id, self.worker, self.config.lease)
        if claimed is None:
            return "skipped"
        started = time.monotonic()
        outcome = self._attempt(claimed)
        elapsed = time.monotonic() - started
        self.ctx.metrics.jobs.labels(claimed.kind, outcome).observe(elapsed)
        return outcome

    def _attempt(self, claimed: jobstore.Claimed) -> str:
        if claimed.owner is None:
            self.fail(claimed, "the owner of this job was removed or disabled", "forbidden")
            return "failed"
        kind = kinds_of(self.ctx).get(claimed.kind)
        if kind is None:
            self.fail(claimed, f"unknown job kind {claimed.kind!r}", "validation")
            return "failed"
        attempt = Attempt(self, claimed, Owner(claimed.owner_id, *claimed.owner))
        attempt.start()
        try:
            work = kind.run(attempt)
            attempt.check()
            artifact_id = size = None
            if work.artifact is not None:
                artifact_id = self.artifacts.put(claimed.id, work.artifact, work.suffix)
                size = len(work.artifact)
            attempt.check()
            done = jobstore.finish(
                self.factory,
                claimed,
                result=work.result,
                artifact_id=artifact_id,
                artifact_size=size,
                result_ttl=self.config.result_ttl,
                record=work.record,
                payload=work.payload,
            )
            if not done:
                return "lost"
            if work.after is not None:
                work.after()
            return "finished"
        except Exception as exc:
            return self._failed(attempt, exc)
        except BaseException:
            # Shutting down mid-job: hand the job back at once instead of waiting for
            # the lease to run out.
            jobstore.retry_later(self.factory, claimed, "the worker was stopped", "abandoned", 0)
            raise
        finally:
            attempt.stop()

    def _failed(self, attempt: Attempt, exc: Exception) -> str:
        claimed = attempt.claimed
        if isinstance(exc, LeaseLost):
            return "lost"
        if isinstance(exc, ArtifactStoreError):
            self.ctx.metrics.artifact_errors.inc()
        if attempt.timed_out.is_set() or isinstance(exc, JobTimedOut) or _is_rq_timeout(exc):
            self.fail(claimed, self.timeout_message(claimed), "timeout")
            return "failed"
        if is_transient(exc):
            message = describe(exc)
            if claimed.attempt < claimed.max_attempts:
                delay = self.config.backoff_for(claimed.attempt)
                self.ctx.metrics.job_failures.labels(claimed.kind, "transient").inc()
                log.info(
                    "job %s: transient failure, retry in %.1f s: %s", claimed.id, delay, message
                )
                try:
                    jobstore.retry_later(self.factory, claimed, message, "transient", delay)
                except Exception:  # the lease runs out and the sweeper retries it
                    log.warning("job %s: cannot schedule the retry", claimed.id)
                return "retry"
            self.fail(claimed, f"{message} (gave up after {claimed.attempt} attempts)", "transient")
            return "failed"
        if isinstance(exc, CodeForgeError):
            self.fail(claimed, describe(exc), exc.kind)
            return "failed"
        log.exception("job %s: unexpected error", claimed.id)
        self.fail(
            claimed, f"internal error while running the job ({type(exc).__name__})", "internal"
        )
        return "failed"


class Sweeper:
    """Keeps jobs moving: retries jobs whose worker died, (re-)queues due jobs, and drops
    expired results. One per executor process; several at once are safe."""

    def __init__(
        self,
        ctx: AppContext,
        config: JobConfig,
        artifacts: ArtifactStore,
        enqueue: Callable[[str, str, int], None],
        queues: list[str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.artifacts = artifacts
        self.enqueue = enqueue
        self.queues = queues
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_orphan_sweep = -1e9  # the first pass looks for orphan files too

    def tick(self, *, all_queued: bool = False) -> dict[str, int]:
        """One pass; returns counts (requeued, failed, enqueued, expired)."""
        factory = self.ctx.factory
        expired = 0
        now = time.monotonic()
        if now - self._last_orphan_sweep > 600:
            self._last_orphan_sweep = now
            expired += self._expire_orphans()
        if not all_queued:
            with self.ctx.read() as session:
                if not sweep.needs_sweep(session):
                    return {"requeued": 0, "failed": 0, "enqueued": 0, "expired": expired}
        requeued, failed = sweep.reclaim_abandoned(factory, self.config.result_ttl)
        due = sweep.take_due(
            factory, self.config.requeue_after, queues=self.queues, all_queued=all_queued
        )
        enqueued = 0
        for index, (job_id, queue, timeout) in enumerate(due):
            try:
                self.enqueue(job_id, queue, timeout)
            except CodeForgeError:
                # The queue is down: these wait a little and are tried again.
                for later, _, _ in due[index:]:
                    sweep.make_due(factory, later, 2.0)
                break
            enqueued += 1
        for artifact_id in sweep.take_expired_results(factory):
            try:
                expired += int(self.artifacts.delete(artifact_id))
            except StoreError as exc:  # the store is down: the orphan sweep removes it later
                log.warning("job sweeper: cannot delete %s: %s", artifact_id, exc.message)
        return {"requeued": requeued, "failed": failed, "enqueued": enqueued, "expired": expired}

    def _expire_orphans(self) -> int:
        """Remove results no row points at any more (a crash between write and commit, or a
        delete that failed while the store was down); a down store is tried next time."""
        try:
            return self.artifacts.expire(self.config.result_ttl + 3600)
        except StoreError as exc:
            log.warning("job sweeper: cannot expire old results: %s", exc.message)
            return 0

    def start(self, *, all_queued_first: bool = False) -> Sweeper:
        def loop() -> None:
            first = all_queued_first
            while True:
                try:
                    self.tick(all_queued=first)
                    first = False
                except Exception as exc:  # the database is down: try again next time
                    log.warning("job sweeper: %s", type(exc).__name__)
                if self._stop.wait(self.config.sweep_interval):
                    return

        self._thread = threading.Thread(target=loop, name="codeforge-job-sweeper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
