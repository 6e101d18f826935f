"""``codeforge worker``: run jobs from the Redis queue (RQ), on any number of machines."""

from __future__ import annotations

from typing import Any

import click


def _queue_names(value: str | None, default: str) -> list[str]:
    from codeforge.jobs.config import check_queue_name

    names = [n.strip() for n in (value or default).split(",") if n.strip()]
    if not names:
        raise click.BadParameter("give at least one queue name", param_hint="--queues")
    return [check_queue_name(n, "--queues") for n in names]


@click.command()
@click.option(
    "--queues",
    default=None,
    metavar="NAMES",
    help="Comma-separated queues to take jobs from (default: CODEFORGE_JOB_QUEUE or 'default').",
)
@click.option("--burst", is_flag=True, help="Run the jobs already queued, then exit.")
@click.option("--name", default=None, help="The worker's name (default: host, pid and a suffix).")
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def worker(queues: str | None, burst: bool, name: str | None, log_level: str) -> None:
    """Run a job worker on the Redis queue (CODEFORGE_REDIS_URL).

    Start as many as you like, on as many machines as share the database, the
    Redis server and the artifact folder. A job whose worker dies is retried by
    another once its lease runs out (CODEFORGE_JOB_LEASE_SECONDS). When Redis goes
    away the worker waits for it and carries on; SIGTERM or Ctrl-C finishes the
    current job and stops.
    """
    import logging
    import signal
    import time

    from codeforge.app.context import build_context
    from codeforge.cache.artifacts import LocalArtifactStore
    from codeforge.cache.jobs import RedisJobQueue, worker_name
    from codeforge.core.errors import UsageError
    from codeforge.core.settings import load_settings
    from codeforge.jobs.config import job_config
    from codeforge.jobs.runner import Runner, Sweeper
    from codeforge.jobs.runtime import set_worker_runner

    settings = load_settings()
    jobs = job_config(settings)
    if not jobs.redis_url:
        raise UsageError(
            "codeforge worker needs Redis: set CODEFORGE_REDIS_URL",
            hint="without Redis, jobs run inside `codeforge serve`",
        )
    names = _queue_names(queues, jobs.queue)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    ctx = build_context(settings)
    name = name or worker_name()
    artifacts = LocalArtifactStore(jobs.artifact_dir)
    runner = Runner(ctx, jobs, artifacts, name)
    set_worker_runner(runner)
    sweeper = None
    if not burst:
        sweeper = Sweeper(ctx, jobs, artifacts, RedisJobQueue(jobs.redis_url).enqueue, names)
        sweeper.start()
    try:
        round_ = 0
        while True:
            stopped = _work(
                jobs.redis_url, names, name if round_ == 0 else f"{name}.{round_}", burst
            )
            if stopped or burst:
                return
            round_ += 1
            # Redis went away: build a new worker once it answers again. A stop request
            # meanwhile ends the command (RQ's handlers belong to the worker just gone).
            signal.signal(signal.SIGTERM, _exit)
            signal.signal(signal.SIGINT, _exit)
            time.sleep(1.0)
    finally:
        if sweeper is not None:
            sweeper.stop()
        set_worker_runner(None)


def _exit(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def _work(url: str, names: list[str], name: str, burst: bool) -> bool:
    """Run one RQ worker until it stops; True when it was asked to stop (or burst ended)."""
    import logging

    from redis import Redis, RedisError
    from rq.serializers import JSONSerializer
    from rq.worker import SimpleWorker

    from codeforge.cache.jobs import rq_queue

    class Worker(SimpleWorker):
        """RQ's in-process worker (no fork per job: warm caches and connection pools),
        remembering a stop request (SIGTERM, Ctrl-C) so the outer loop ends too."""

        stop_asked = False

        def request_stop(self, signum: Any, frame: Any) -> None:
            self.stop_asked = True
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    log = logging.getLogger("codeforge.jobs")
    # A client of its own: RQ raises its socket timeout above the blocking dequeue's.
    connection = Redis.from_url(url, socket_connect_timeout=2.0, health_check_interval=30)
    rq_worker: Worker | None = None
    try:
        rq_worker = Worker(
            [rq_queue(connection, n) for n in names],
            name=name,
            connection=connection,
            serializer=JSONSerializer,
            worker_ttl=60,
            job_monitoring_interval=5,
        )
        rq_worker.max_connection_wait_time = 2.0
        rq_worker.work(burst=burst, logging_level=logging.getLevelName(log.getEffectiveLevel()))
    except (RedisError, OSError) as exc:
        log.warning("worker %s: Redis unavailable (%s); retrying", name, type(exc).__name__)
        return rq_worker is not None and rq_worker.stop_asked
    finally:
        connection.close()
    return rq_worker.stop_asked or burst
