"""``codeforge worker``: run jobs from the Redis queue (RQ), on any number of machines.

It logs JSON lines on stderr, one per event, like the API: ``worker started``, then
``job taken`` and ``job finished`` (with its outcome and seconds) for each job.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import click

# Attributes a log call passes with ``extra=`` that become fields of the JSON line.
LOG_FIELDS = ("job_id", "outcome", "seconds", "worker", "queues", "redis")


class JsonLines(logging.Formatter):
    """One JSON object per record: ``timestamp``, ``level``, ``logger``, ``event`` and
    the known extra fields, the shape of the API's structlog lines."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        event.update({k: getattr(record, k) for k in LOG_FIELDS if hasattr(record, k)})
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


@contextlib.contextmanager
def _json_logs(level: str) -> Iterator[None]:
    """JSON lines on stderr for CodeForge's and RQ's loggers while the worker runs (the
    root logger is left alone); jobs taken and finished are logged whatever the level."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    loggers = [logging.getLogger(n) for n in ("codeforge", "rq", "codeforge.jobs")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers[:2]:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(level.upper())
    loggers[2].setLevel(min(logging.INFO, loggers[0].level))
    try:
        yield
    finally:
        for lg, (lvl, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(lvl)
            lg.propagate = propagate


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
@click.option(
    "--metrics-port",
    default=None,
    type=click.IntRange(1, 65535),
    envvar="CODEFORGE_WORKER_METRICS_PORT",
    help="Serve Prometheus metrics (job time, failures) on this port (default: off).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address for --metrics-port (0.0.0.0 in a container).",
)
@click.option(
    "--health-port",
    default=None,
    type=click.IntRange(1, 65535),
    envvar="CODEFORGE_WORKER_HEALTH_PORT",
    help="Serve /healthz (the loop beats) and /readyz (Redis and the database answer) "
    "on this port (default: off).",
)
@click.option(
    "--health-host",
    default="127.0.0.1",
    show_default=True,
    envvar="CODEFORGE_WORKER_HEALTH_HOST",
    help="Address for --health-port (0.0.0.0 in a container, for the kubelet's probes).",
)
def worker(
    queues: str | None,
    burst: bool,
    name: str | None,
    log_level: str,
    metrics_port: int | None,
    metrics_host: str,
    health_port: int | None,
    health_host: str,
) -> None:
    """Run a job worker on the Redis queue (CODEFORGE_QUEUE_REDIS_URL, else CODEFORGE_REDIS_URL).

    Start as many as you like, on as many machines as share the database, the
    Redis server and the artifact folder. A job whose worker dies is retried by
    another once its lease runs out (CODEFORGE_JOB_LEASE_SECONDS). When Redis goes
    away the worker waits for it and carries on (with --burst it exits 9); SIGTERM
    or Ctrl-C finishes the current job and stops. Logs are JSON lines on stderr:
    worker started/stopped, and job taken/finished with the outcome and seconds.
    With --health-port, /healthz is 503 once the loop stops beating (restart the
    worker) and /readyz is 503 while Redis or the database does not answer.
    """

    import signal

    from codeforge.app.context import build_context
    from codeforge.app.queue import worker_name
    from codeforge.app.worker_health import Heartbeat, serve_health, worker_checks
    from codeforge.errors import UsageError
    from codeforge.jobs.config import job_config
    from codeforge.settings import load_settings

    settings = load_settings()
    jobs = job_config(settings)
    if not jobs.redis_url:
        raise UsageError(
            "codeforge worker needs Redis: set CODEFORGE_REDIS_URL",
            hint="without Redis, jobs run inside `codeforge serve`",
        )
    names = _queue_names(queues, jobs.queue)
    # A stop request while starting (endpoints already up) ends the command cleanly too.
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    with _json_logs(log_level):
        ctx = build_context(settings)
        if metrics_port is not None:
            from codeforge.app.metrics import serve_metrics

            serve_metrics(ctx.metrics, metrics_host, metrics_port)
        heartbeat = Heartbeat()
        health = None
        if health_port is not None:
            checks = worker_checks(ctx, jobs.redis_url)
            health = serve_health(heartbeat, checks, health_host, health_port)
        try:
            _run(ctx, jobs, names, name or worker_name(), burst, log_level, heartbeat)
        finally:
            if health is not None:
                health.stop()


def _run(
    ctx: Any, jobs: Any, names: list[str], name: str, burst: bool, level: str, heartbeat: Any
) -> None:
    """Take jobs from ``names`` until stopped (or, with ``burst``, until they run out)."""
    import signal
    import time

    from codeforge.app.queue import redis_queue, run_worker
    from codeforge.jobs.runner import Runner, Sweeper
    from codeforge.jobs.runtime import set_worker_runner
    from codeforge.redaction import redact

    # Until RQ installs its own handlers, a stop request ends the command cleanly too.
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    artifacts = ctx.artifacts.results
    set_worker_runner(Runner(ctx, jobs, artifacts, name))
    log = logging.getLogger("codeforge.jobs")
    where = {"worker": name, "queues": names, "redis": redact(jobs.redis_url)}
    log.info("worker started", extra=where)
    sweeper = None
    if not burst:
        sweeper = Sweeper(ctx, jobs, artifacts, redis_queue(jobs.redis_url).enqueue, names)
        sweeper.start()
    try:
        round_ = 0
        while True:
            heartbeat.beat()
            label = name if round_ == 0 else f"{name}.{round_}"
            stopped = run_worker(
                jobs.redis_url, names, label, burst=burst, level=level, watch=heartbeat
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
        log.info("worker stopped", extra=where)


def _exit(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)
