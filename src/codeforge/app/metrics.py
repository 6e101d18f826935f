"""Prometheus metrics, one registry per app (so tests can build many apps)."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclasses.dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    generations: Counter
    errors: Counter

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
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
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
        )
