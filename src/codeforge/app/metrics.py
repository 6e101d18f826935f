"""Prometheus metrics, one registry per app (so tests can build many apps).

Counters and histograms are updated where the work happens (the request middleware,
the job runner, the render, the compiled-template cache); the state of the queue,
the workers, the database pool and the dependencies is read at scrape time by
``codeforge.app.observe``. docs/operations.md lists every metric and the alerts on them.
"""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from codeforge.errors import UsageError

# Seconds: a request, a render and a job are timed on the same scale.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclasses.dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    generations: Counter
    errors: Counter
    renders: Histogram
    jobs: Histogram
    job_failures: Counter
    cache: Counter
    artifact_errors: Counter

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "codeforge_http_requests",
                "HTTP requests by route template, method and status",
                ["route", "method", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "codeforge_http_request_duration_seconds",
                "HTTP request latency by route template and method",
                ["route", "method"],
                buckets=BUCKETS,
                registry=registry,
            ),
            generations=Counter(
                "codeforge_generations",
                "Projects generated through the API, by blueprint and kind (zip, preview)",
                ["blueprint", "kind"],
                registry=registry,
            ),
            errors=Counter(
                "codeforge_errors",
                "Error responses by kind (validation, template, not_found, internal, ...)",
                ["kind"],
                registry=registry,
            ),
            renders=Histogram(
                "codeforge_render_duration_seconds",
                "Time to render a blueprint's files in memory, by blueprint",
                ["blueprint"],
                buckets=BUCKETS,
                registry=registry,
            ),
            jobs=Histogram(
                "codeforge_job_duration_seconds",
                "Time of one job attempt by kind and outcome (finished, failed, retry, lost)",
                ["kind", "outcome"],
                buckets=JOB_BUCKETS,
                registry=registry,
            ),
            job_failures=Counter(
                "codeforge_job_failures",
                "Job attempts that failed for good or will be retried, by kind and error kind",
                ["kind", "error"],
                registry=registry,
            ),
            cache=Counter(
                "codeforge_cache_requests",
                "Compiled-template cache lookups by result (hit, miss)",
                ["result"],
                registry=registry,
            ),
            artifact_errors=Counter(
                "codeforge_artifact_store_errors", "Failed artifact store calls", registry=registry
            ),
        )


def serve_metrics(metrics: Metrics, host: str, port: int) -> None:
    """Serve ``metrics`` at ``http://host:port/metrics`` from a daemon thread (the worker's)."""
    try:
        start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise UsageError(
            f"cannot serve metrics on {host}:{port}: {exc.strerror}", where="--metrics-port"
        ) from exc
