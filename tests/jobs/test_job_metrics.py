"""The runner's Prometheus metrics: each attempt's time by kind and outcome, and its
failures by kind and error kind."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from .conftest import Env, submit
from .test_runner import make_runner


def sample(env: Env, name: str, labels: dict[str, str]) -> float | None:
    return env.ctx.metrics.registry.get_sample_value(name, labels)


def test_a_finished_job_is_timed_by_kind_and_outcome(env: Env) -> None:
    runner = make_runner(env)
    assert runner.run(submit(env, "test-slow", {"seconds": 0.2})) == "finished"
    labels = {"kind": "test-slow", "outcome": "finished"}
    assert sample(env, "codeforge_job_duration_seconds_count", labels) == 1.0
    assert sample(env, "codeforge_job_duration_seconds_sum", labels) >= 0.2
    assert (
        sample(env, "codeforge_job_failures_total", {"kind": "test-slow", "error": "timeout"})
        is None
    )


def test_retries_and_a_final_failure_are_counted(env: Env) -> None:
    runner = make_runner(env, backoff=0)
    job_id = submit(env, "test-flaky", {"fail_times": 5}, max_attempts=2)
    assert runner.run(job_id) == "retry"
    assert runner.run(job_id) == "failed"
    failures = {"kind": "test-flaky", "error": "transient"}
    assert sample(env, "codeforge_job_failures_total", failures) == 2.0
    for outcome in ("retry", "failed"):
        labels = {"kind": "test-flaky", "outcome": outcome}
        assert sample(env, "codeforge_job_duration_seconds_count", labels) == 1.0
    # a delivery that is not ours to run is not an attempt
    assert runner.run(job_id) == "skipped"
    text = generate_latest(env.ctx.metrics.registry).decode()
    assert 'outcome="skipped"' not in text


def test_an_unreachable_artifact_store_is_counted(env: Env) -> None:
    from cache.redis_support import free_port

    from codeforge.errors import ArtifactStoreError, StoreError
    from codeforge.integrations.s3 import S3ArtifactStore
    from codeforge.jobs.runner import Runner

    store = S3ArtifactStore(
        "s3://results/prefix",
        {
            "CODEFORGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        },
    )
    with pytest.raises(ArtifactStoreError) as caught:
        store.put("probe", b"x")
    assert isinstance(caught.value, StoreError) and caught.value.kind == "store"  # same to callers
    runner = Runner(env.ctx, env.config(backoff=0), store, "w1")
    job_id = submit(env, "test-slow", {"seconds": 0})
    assert runner.run(job_id) in ("retry", "failed")
    assert sample(env, "codeforge_artifact_store_errors_total", {}) == 1.0
