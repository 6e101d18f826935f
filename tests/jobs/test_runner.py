"""The runner and sweeper on SQLite and PostgreSQL, without Redis: claims, retries with
backoff, timeouts, abandoned jobs, exactly-once recording."""

from __future__ import annotations

import threading
import time

from codeforge.app import jobstore as store
from codeforge.cache.artifacts import LocalArtifactStore
from codeforge.jobs.runner import Runner, Sweeper

from .conftest import Env, job_row, submit


def make_runner(env: Env, name: str = "w1", **config: object) -> Runner:
    cfg = env.config(**config)
    return Runner(env.ctx, cfg, LocalArtifactStore(env.artifacts), name)


def test_a_job_runs_once_and_a_second_delivery_is_skipped(env: Env) -> None:
    runner = make_runner(env)
    job_id = submit(env, "test-slow", {"seconds": 0})
    assert runner.run(job_id) == "finished"
    assert runner.run(job_id) == "skipped"  # RQ delivered it twice: nothing happens
    row = job_row(env, job_id)
    assert (row.status, row.attempts, row.progress) == ("finished", 1, 100)
    assert row.result["slept"] == 0
    assert LocalArtifactStore(env.artifacts).open(row.artifact_id).read() == b"done"
    assert row.expires_at is not None and row.finished_at is not None


def test_two_workers_racing_for_one_job_run_it_once(env: Env) -> None:
    job_id = submit(env, "test-slow", {"seconds": 0.3})
    outcomes: list[str] = []
    runners = [make_runner(env, f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=lambda r=r: outcomes.append(r.run(job_id))) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["finished", "skipped", "skipped", "skipped"]
    assert job_row(env, job_id).attempts == 1


def test_transient_failures_are_retried_with_backoff_then_succeed(env: Env) -> None:
    runner = make_runner(env, backoff=0.2)
    job_id = submit(env, "test-flaky", {"fail_times": 2})
    assert runner.run(job_id) == "retry"
    row = job_row(env, job_id)
    assert row.status == "queued"
    assert "flaky failure on attempt 1" in row.error
    assert row.not_before is not None
    # Not before its backoff: an early delivery is not taken.
    assert runner.run(job_id) == "skipped"
    time.sleep(0.25)
    assert runner.run(job_id) == "retry"
    second = job_row(env, job_id)
    # Exponential: the second delay is twice the first.
    assert (second.not_before - second.started_at).total_seconds() >= 0.39
    time.sleep(0.45)
    assert runner.run(job_id) == "finished"
    row = job_row(env, job_id)
    assert (row.status, row.attempts, row.result) == ("finished", 3, {"attempt": 3})
    assert row.error is None


def test_transient_failures_give_up_after_max_attempts(env: Env) -> None:
    runner = make_runner(env, backoff=0)
    job_id = submit(env, "test-flaky", {"fail_times": 5}, max_attempts=2)
    assert runner.run(job_id) == "retry"
    assert runner.run(job_id) == "failed"
    row = job_row(env, job_id)
    assert (row.status, row.attempts, row.error_kind) == ("failed", 2, "transient")
    assert "gave up after 2 attempts" in row.error


def test_a_cooperative_job_over_its_timeout_fails_with_a_clear_message(env: Env) -> None:
    runner = make_runner(env)
    job_id = submit(env, "test-slow", {"seconds": 5}, timeout=1)
    started = time.monotonic()
    assert runner.run(job_id) == "failed"
    assert time.monotonic() - started < 3
    row = job_row(env, job_id)
    assert (row.status, row.error_kind, row.attempts) == ("failed", "timeout", 1)
    assert row.error == "the test-slow job did not finish within its 1 s timeout"
    assert row.artifact_id is None


def test_a_silent_job_over_its_timeout_is_failed_and_records_nothing(env: Env) -> None:
    runner = make_runner(env)
    job_id = submit(env, "test-slow", {"seconds": 2, "silent": True}, timeout=1)
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run(job_id)))
    thread.start()
    deadline = time.monotonic() + 1.8
    while job_row(env, job_id).status != "failed":
        assert time.monotonic() < deadline, "not failed at its timeout"
        time.sleep(0.05)
    thread.join()
    assert outcome in (["lost"], ["failed"])
    row = job_row(env, job_id)
    assert (row.status, row.error_kind, row.result) == ("failed", "timeout", None)


def test_the_sweeper_retries_a_job_whose_worker_died(env: Env) -> None:
    cfg = env.config(lease=0.5)
    job_id = submit(env, "test-slow", {"seconds": 0})
    # A worker claims it and dies at once (no lease renewal, no outcome).
    assert store.claim(env.ctx.factory, job_id, "dead-worker", cfg.lease) is not None
    delivered: list[str] = []
    sweeper = Sweeper(
        env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda j, q, t: delivered.append(j)
    )
    assert sweeper.tick()["requeued"] == 0  # lease still valid
    time.sleep(0.6)
    counts = sweeper.tick()
    assert counts["requeued"] == 1
    assert delivered == [job_id]
    row = job_row(env, job_id)
    assert (row.status, row.error_kind) == ("queued", "abandoned")
    assert make_runner(env, "w2").run(job_id) == "finished"
    assert job_row(env, job_id).attempts == 2


def test_the_sweeper_fails_an_abandoned_job_without_attempts_left(env: Env) -> None:
    cfg = env.config(lease=0.2)
    job_id = submit(env, "test-slow", {"seconds": 0}, max_attempts=1)
    assert store.claim(env.ctx.factory, job_id, "dead-worker", cfg.lease) is not None
    time.sleep(0.3)
    sweeper = Sweeper(env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda *a: None)
    assert sweeper.tick()["failed"] == 1
    row = job_row(env, job_id)
    assert row.status == "failed"
    assert "stopped responding" in row.error


def test_generate_retried_after_a_lost_attempt_records_one_project(env: Env) -> None:
    from sqlalchemy import func, select

    from codeforge.db.models import Activity, Project

    job_id = submit(env, "generate", {"template": "lib-python", "name": "p", "answers": {}})
    # Attempt 1 claims and "dies"; its lease runs out; attempt 2 completes.
    assert store.claim(env.ctx.factory, job_id, "dead", 0.1) is not None
    time.sleep(0.2)
    cfg = env.config()
    Sweeper(env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda *a: None).tick()
    assert make_runner(env, "w2").run(job_id) == "finished"
    # A late duplicate delivery changes nothing.
    assert make_runner(env, "w3").run(job_id) == "skipped"
    with env.ctx.factory() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1
        activity = list(session.scalars(select(Activity)))
        assert [a.record_id for a in activity] == [job_id]


def test_expired_results_are_dropped_by_the_sweeper(env: Env) -> None:
    cfg = env.config(result_ttl=1)
    runner = Runner(env.ctx, cfg, LocalArtifactStore(env.artifacts), "w")
    job_id = submit(env, "test-slow", {"seconds": 0})
    assert runner.run(job_id) == "finished"
    row = job_row(env, job_id)
    path = env.artifacts / row.artifact_id
    assert path.is_file()
    time.sleep(1.1)
    counts = Sweeper(env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda *a: None).tick()
    assert counts["expired"] == 1
    assert not path.exists()
    row = job_row(env, job_id)
    assert (row.status, row.artifact_id, row.result) == ("finished", None, None)
    assert store.is_expired(row)


def _archive() -> str:
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("blueprint.yaml", "name: via-job\nversion: 2.0.0\ndescription: d\n")
        archive.writestr("template/README.md.jinja", "# {{ project_name }}\n")
    return base64.b64encode(buffer.getvalue()).decode()


def test_register_records_the_blueprint_once_and_needs_a_maintainer(env: Env) -> None:
    from sqlalchemy import select, update

    from codeforge.db.models import Activity, Blueprint, User

    payload = {"archive": _archive()}
    member_job = submit(env, "test-register-archive", payload)
    assert make_runner(env).run(member_job) == "failed"
    row = job_row(env, member_job)
    assert row.error_kind == "security"
    assert "registering needs the maintainer role" in row.error

    with env.ctx.factory.begin() as session:
        session.execute(update(User).where(User.id == env.user_id).values(role="maintainer"))
    job_id = submit(env, "test-register-archive", payload)
    # The first attempt "dies" after claiming; the retry registers; a late duplicate
    # delivery does nothing.
    assert store.claim(env.ctx.factory, job_id, "dead", 0.1) is not None
    time.sleep(0.2)
    cfg = env.config()
    Sweeper(env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda *a: None).tick()
    assert make_runner(env, "w2").run(job_id) == "finished"
    assert make_runner(env, "w3").run(job_id) == "skipped"
    row = job_row(env, job_id)
    assert row.artifact_id is None
    registered = row.result["blueprint"]
    assert (registered["name"], registered["version"]) == ("via-job", "2.0.0")
    assert registered["source"].startswith("archive:sha256:")
    with env.ctx.factory() as session:
        blueprints = list(session.scalars(select(Blueprint)))
        assert [(b.name, b.registered_by) for b in blueprints] == [("via-job", env.user_id)]
        actions = list(
            session.scalars(select(Activity).where(Activity.action == "blueprint.register"))
        )
        assert [a.details["job_id"] for a in actions] == [job_id]


def test_a_starting_executor_takes_queued_jobs_but_leaves_retry_delays_alone(env: Env) -> None:
    cfg = env.config(backoff=30)
    runner = Runner(env.ctx, cfg, LocalArtifactStore(env.artifacts), "w")
    waiting = submit(env, "test-flaky", {"fail_times": 1})
    assert runner.run(waiting) == "retry"  # due again in 30 s
    fresh = submit(env, "test-slow", {"seconds": 0})
    delivered: list[str] = []
    sweeper = Sweeper(
        env.ctx, cfg, LocalArtifactStore(env.artifacts), lambda j, q, t: delivered.append(j)
    )
    sweeper.tick(all_queued=True)
    assert delivered == [fresh]
    row = job_row(env, waiting)
    assert row.lease_until == row.not_before  # still due at the end of its delay


def test_a_register_job_makes_the_runner_its_owner_with_the_visibility_asked(env: Env) -> None:
    from sqlalchemy import update

    from codeforge.db.models import BlueprintListing, User

    with env.ctx.factory.begin() as session:
        session.execute(update(User).where(User.id == env.user_id).values(role="maintainer"))
    job_id = submit(env, "test-register-archive", {"archive": _archive(), "visibility": "private"})

    assert make_runner(env).run(job_id) == "finished"

    with env.ctx.factory() as session:
        listing = session.get(BlueprintListing, "via-job")
        assert listing is not None
        assert (listing.owner_id, listing.visibility) == (env.user_id, "private")
