"""Wiring jobs into a process: the API's runtime (queue, runner, sweeper) and RQ's entry point.

``build_runtime`` gives an API process RQ when Redis is configured, else a thread
pool in the process (``codeforge.app.queue``). ``run_rq_job`` is what RQ workers
call for each message; ``codeforge worker`` sets the runner it uses, a plain
``rq worker`` process builds one from the environment.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from codeforge.app.context import AppContext, build_context
from codeforge.app.queue import JobQueue, LocalQueue, redis_queue, thread_pool, worker_name
from codeforge.core.artifacts import ArtifactStore
from codeforge.jobs.config import JobConfig, job_config
from codeforge.jobs.runner import Runner, Sweeper

log = logging.getLogger("codeforge.jobs")


@dataclasses.dataclass
class JobRuntime:
    """What the API and workers need to submit and run jobs."""

    ctx: AppContext
    config: JobConfig
    artifacts: ArtifactStore
    queue: JobQueue
    runner: Runner
    sweeper: Sweeper | None = None

    def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.stop()
        if isinstance(self.queue, LocalQueue):
            self.queue.stop()


def build_runtime(
    ctx: AppContext, config: JobConfig, *, name: str | None = None, start: bool = True
) -> JobRuntime:
    """The runtime for an API process: RQ when Redis is configured, else the thread pool
    (started, with its sweeper, unless ``start`` is False)."""
    artifacts = ctx.artifacts.results
    runner = Runner(ctx, config, artifacts, name or worker_name("api"))
    if config.redis_url:
        return JobRuntime(ctx, config, artifacts, redis_queue(config.redis_url), runner)
    pool = thread_pool(runner.run, config.threads)
    sweeper = Sweeper(ctx, config, artifacts, pool.enqueue, [config.queue])
    runtime = JobRuntime(ctx, config, artifacts, pool, runner, sweeper)
    if start:
        pool.start()
        sweeper.start(all_queued_first=True)
    return runtime


# -- the RQ side ------------------------------------------------------------------------------

_worker_runner: Runner | None = None


def set_worker_runner(runner: Runner | None) -> None:
    """The runner ``run_rq_job`` uses in this process (set by ``codeforge worker``)."""
    global _worker_runner
    _worker_runner = runner


def run_rq_job(job_id: str) -> None:
    """RQ's entry point: run one attempt of ``job_id``. Failures are recorded on the
    job row by the runner (RQ sees a success), so RQ's own retries never stack on ours."""
    runner = _worker_runner
    if runner is None:
        runner = _runner_from_env()
    # `codeforge worker` turns these into JSON lines with the extra fields.
    log.info("job taken", extra={"job_id": job_id, "worker": runner.worker})
    started = time.monotonic()
    outcome = runner.run(job_id)
    seconds = round(time.monotonic() - started, 3)
    log.info(
        "job finished",
        extra={"job_id": job_id, "worker": runner.worker, "outcome": outcome, "seconds": seconds},
    )


def _runner_from_env() -> Runner:
    """A runner for a plain ``rq worker`` process (``codeforge worker`` sets its own)."""
    ctx = build_context(migrate=False)
    jobs = job_config(ctx.settings)
    runner = Runner(ctx, jobs, ctx.artifacts.results, worker_name("rq"))
    set_worker_runner(runner)
    return runner
