"""``codeforge fleet status`` and reruns of ``codeforge fleet update`` with a server configured
(PostgreSQL and a Redis queue), through the console script, with a real ``codeforge worker``.

``fleet status`` lists every user's server projects with their owner next to this machine's
folders; ``fleet update`` keys each job by project, target version and mode, so a rerun while
the jobs are pending waits for the same jobs, and a rerun after one failed retries that job.
Each test has its own PostgreSQL schema and its own queue name on the shared Redis.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
from cli_support import Terminal, console
from jobs.cluster_support import Proc, start_worker
from sqlalchemy import select

from codeforge.app.fleet import FleetEntry
from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Project

from .conftest import Api
from .test_fleet_queue_cli import (
    api_db_url,
    jobs_of,
    lagging_fleet,
    local_project,
    procs,
    redis_url,
    server_env,
)

__all__ = ["api_db_url", "procs", "redis_url", "server_env"]  # the fixtures
pytestmark = [pytest.mark.redis, pytest.mark.postgres]
ENTRY_KEYS = set(FleetEntry(1, "n", "p", "b", "1.0.0", None, False, None, None).to_dict())


def test_status_lists_every_users_server_projects_with_their_owner_and_this_machines(
    api: Api, server_env: dict[str, str], tmp_path: Path
) -> None:
    ids = lagging_fleet(api)
    folder = local_project(tmp_path, server_env)
    done = console("fleet", "status", "--json", env=server_env, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert "owner" in ENTRY_KEYS and all(set(row) == ENTRY_KEYS for row in rows), rows
    by_id = {row["id"]: row for row in rows}
    owners = {"maya": "maya", "alice": "alice", "retired": "maya", "gone": "alice"}
    assert {by_id[ids[n]]["owner"] for n in owners} == {"maya", "alice"}
    for name, owner in owners.items():
        row = by_id[ids[name]]
        assert (row["owner"], row["blueprint"], row["latest"]) == (owner, "shelf-bp", "1.1.0")
        assert row["lagging"] is True, row
    assert by_id[ids["retired"]]["version"] == "0.9.0"
    [here] = [row for row in rows if row["path"] == str(folder)]
    assert (here["owner"], here["blueprint"], here["version"]) == (None, "greeter", "1.0.0")
    assert (here["latest"], here["lagging"]) == ("2.0.0", True)
    assert len(rows) == 5
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)

    # --blueprint keeps one blueprint's projects, on the server and here alike.
    shelf = console("fleet", "status", "--blueprint", "shelf-bp", "--json", env=server_env)
    assert shelf.returncode == 0, shelf.stderr
    assert sorted(r["id"] for r in json.loads(shelf.stdout)) == sorted(ids.values())
    greeter = console("fleet", "status", "--blueprint", "greeter", "--json", env=server_env)
    assert [r["id"] for r in json.loads(greeter.stdout)] == [here["id"]]
    # --local: this machine's folders only, as `fleet update --local` updates.
    local = console("fleet", "status", "--local", "--json", env=server_env)
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout) == [here]
    # The table has an owner column, empty for the folder of this machine.
    table = console("fleet", "status", env={**server_env, "COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if " id " in line)
    assert re.search(r"project\s+┃\s+owner\s+┃\s+blueprint", header), table.stdout
    assert re.search(r"│ maya\s+│ shelf-bp", table.stdout), table.stdout
    assert re.search(r"│ alice\s+│ shelf-bp", table.stdout), table.stdout
    assert re.search(r"│\s+│ greeter", table.stdout), table.stdout


def test_status_without_a_queue_lists_this_machines_folders_only(
    api: Api, server_env: dict[str, str], tmp_path: Path
) -> None:
    lagging_fleet(api)
    folder = local_project(tmp_path, server_env)
    no_queue = {k: v for k, v in server_env.items() if k != "CODEFORGE_REDIS_URL"}
    done = console("fleet", "status", "--json", env=no_queue)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["path"], row["owner"]) == (str(folder), None)
    table = console("fleet", "status", env={**no_queue, "COLUMNS": "250"})
    assert "owner" not in table.stdout and "greeter" in table.stdout, table.stdout


def _interrupted(env: dict[str, str], seen: str) -> str:
    """Run ``fleet update`` until ``seen`` is on the terminal, then Ctrl-C; all it printed."""
    term = Terminal(["fleet", "update"], environ=env)
    term.wait_for(seen)
    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 130, term.seen
    return term.seen.replace("\r\n", "\n")


def test_a_rerun_waits_for_the_pending_jobs_and_retries_a_failed_one(
    api: Api, server_env: dict[str, str], procs: list[Proc], tmp_path: Path
) -> None:
    ids = lagging_fleet(api)
    _interrupted(server_env, "0 of 3 job(s) done")  # no worker: the jobs wait on the queue
    first = {j.payload["project_id"]: j.id for j in jobs_of(api.url)}
    assert set(first) == {ids["maya"], ids["alice"], ids["retired"]}

    # Again while they wait: the same three jobs, none queued twice.
    again = _interrupted(server_env, "0 of 3 job(s) done")
    assert "Queued 0 update job(s) on queue" in again, again
    for job_id in first.values():
        assert f"already queued: job {job_id} (queued)" in again, again
    assert {j.id for j in jobs_of(api.url)} == set(first.values())

    # A worker does them: two finish, the retired version's fails.
    procs.append(start_worker("burst-1", server_env, tmp_path / "logs", "--burst"))
    procs[-1].proc.wait(timeout=120)
    statuses = {j.payload["project_id"]: (j.status, j.attempts) for j in jobs_of(api.url)}
    assert statuses[ids["retired"]] == ("failed", 1), procs[-1].output()

    # A project whose finished job still matches (it lags again at the same target, as a
    # project stays after its pull request is opened): that job's row, nothing queued. The
    # failed job is queued again: the same job, from a first attempt.
    with session_factory(api.url).begin() as session:
        maya = session.get(Project, ids["maya"])
        assert maya is not None
        maya.blueprint_version = "1.0.0"
    procs.append(start_worker("fleet-worker", server_env, tmp_path / "logs"))
    done = console("fleet", "update", "--json", env=server_env, timeout=180)
    assert done.returncode == 1, (done.stdout, done.stderr, procs[-1].output())
    assert f"already queued: job {first[ids['maya']]} (finished)" in done.stderr, done.stderr
    assert f"retrying failed job {first[ids['retired']]}" in done.stderr, done.stderr
    assert "Queued 1 update job(s) (1 retried) on queue" in done.stderr, done.stderr
    by_id = {row["id"]: row for row in json.loads(done.stdout)}
    assert by_id[ids["maya"]]["status"] == "updated", by_id[ids["maya"]]
    assert by_id[ids["alice"]]["status"] == "up-to-date"
    assert by_id[ids["retired"]]["status"] == "failed"
    assert "0.9.0" in by_id[ids["retired"]]["error"]
    jobs = {j.id: j for j in jobs_of(api.url)}
    assert set(jobs) == set(first.values())  # still three jobs
    retried = jobs[first[ids["retired"]]]
    assert (retried.status, retried.attempts, retried.worker) == ("failed", 1, "fleet-worker")
    with session_factory(api.url)() as session:
        wanted = select(Activity).where(Activity.action == "fleet.update").order_by(Activity.id)
        asked = session.scalars(wanted).all()
    earlier = {(j["project_id"], j["earlier"]) for j in asked[-1].details["jobs"]}
    assert earlier == {(ids["maya"], "finished"), (ids["retired"], "failed")}
