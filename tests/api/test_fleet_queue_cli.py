"""``codeforge fleet update`` with a server configured (PostgreSQL and a Redis queue): one
``update`` job per lagging server project, run by a real ``codeforge worker`` process as the
project's owner, while the console script waits and prints the rows of the in-process path.

Each test has its own PostgreSQL schema and its own queue name on the shared Redis.
"""

from __future__ import annotations

import getpass
import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache.redis_support import redis_url
from cli_support import Terminal, console
from integrations.forge_contract import ForgeContract
from jobs.cluster_support import Proc, base_env, procs, start_worker
from postgres_support import create_schema, drop_schema, reset_engines
from sqlalchemy import select

from codeforge.app.fleet import FleetOutcome
from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Job, Project

from .conftest import Api
from .test_fleet_update import release_two
from .test_jobs import wait_done
from .test_publish import forge, no_token_anywhere, options, store_token
from .test_update_job import README_V1, archive, generated, register

__all__ = ["forge", "procs", "redis_url"]  # the fixtures
pytestmark = [pytest.mark.redis, pytest.mark.postgres]
V1 = "/api/v1"
ROW_KEYS = set(FleetOutcome(1, "n", "p", "updated").to_dict())


@pytest.fixture
def api_db_url(api_postgres_database: str) -> Iterator[str]:
    """PostgreSQL only: the worker and the CLI are processes of their own on it."""
    schema, url = create_schema(api_postgres_database)
    try:
        yield url
    finally:
        reset_engines()
        drop_schema(api_postgres_database, schema)


@pytest.fixture
def server_env(api: Api, redis_url: str) -> dict[str, str]:
    """The settings of the server: its database, the shared Redis, a queue of this test's own."""
    return base_env(
        CODEFORGE_DATABASE_URL=api.url,
        CODEFORGE_REDIS_URL=redis_url,
        CODEFORGE_JOB_QUEUE=f"cftest-fleet-{uuid.uuid4().hex[:10]}",
        CODEFORGE_JOB_MAX_ATTEMPTS="1",
    )


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def local_project(tmp_path: Path, env: dict[str, str]) -> Path:
    """A project of this machine (``codeforge init`` from a git blueprint at 1.0.0, recorded
    in the server's database without an owner), then the blueprint's 2.0.0."""
    bp = tmp_path / "greeter"
    (bp / "template").mkdir(parents=True)
    (bp / "blueprint.yaml").write_text("name: greeter\nversion: 1.0.0\n")
    (bp / "template" / "README.md").write_text("# {{ project_name }}\n")
    git(bp, "init", "-q")
    git(bp, "add", "-A")
    git(bp, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    git(bp, "tag", "v1.0.0")
    made = console("init", "here", "-t", str(bp), "--defaults", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (bp / "blueprint.yaml").write_text("name: greeter\nversion: 2.0.0\n")
    (bp / "template" / "NOTES.md").write_text("notes\n")
    git(bp, "add", "-A")
    git(bp, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v2")
    git(bp, "tag", "v2.0.0")
    return tmp_path / "here"


def lagging_fleet(api: Api) -> dict[str, int]:
    """Four server projects of two owners at shelf-bp 1.0.0, then 1.1.0 released: two that
    update, one whose version is gone from the catalog (its job fails in the worker) and one
    whose stored tree is gone (refused before queuing)."""
    register(api, archive("1.0.0", README_V1))
    ids = {
        "maya": generated(api, api.maya),
        "alice": generated(api, api.alice),
        "retired": generated(api, api.maya),
        "gone": generated(api, api.alice),
    }
    with session_factory(api.url).begin() as session:
        retired = session.get(Project, ids["retired"])
        gone = session.get(Project, ids["gone"])
        assert retired is not None and gone is not None
        retired.blueprint_version = "0.9.0"
        gone.path = "api:gone/shelf"
    release_two(api)
    return ids


def jobs_of(url: str) -> list[Job]:
    with session_factory(url)() as session:
        return list(session.scalars(select(Job).where(Job.kind == "update")))


def test_the_jobs_run_on_the_worker_as_each_owner_and_the_rows_are_the_cli_rows(
    api: Api, server_env: dict[str, str], procs: list[Proc], tmp_path: Path
) -> None:
    ids = lagging_fleet(api)
    folder = local_project(tmp_path, server_env)
    procs.append(start_worker("fleet-worker", server_env, tmp_path / "logs"))
    done = console("fleet", "update", "--json", env=server_env, timeout=180)
    logs = procs[0].output()
    assert done.returncode == 1, (done.stdout, done.stderr, logs)  # two projects failed
    rows = json.loads(done.stdout)
    assert all(set(row) == ROW_KEYS for row in rows), rows
    by_id = {row["id"]: row for row in rows}
    for name in ("maya", "alice"):
        row = by_id[ids[name]]
        assert row["status"] == "updated", row
        assert (row["from_version"], row["to_version"]) == ("1.0.0", "1.1.0")
    assert by_id[ids["retired"]]["status"] == "failed"
    assert "0.9.0" in by_id[ids["retired"]]["error"], by_id[ids["retired"]]
    assert by_id[ids["gone"]]["status"] == "failed"
    assert "no longer stored" in by_id[ids["gone"]]["error"]
    assert by_id[ids["gone"]]["exit_code"] == 4  # a ConflictError, as in-process
    # This machine's folder, recorded without an owner, was updated by the CLI itself.
    [here] = [row for row in rows if row["path"] == str(folder)]
    assert here["status"] == "updated" and (folder / "NOTES.md").is_file()
    assert len(rows) == 5
    assert "Queued 3 update job(s)" in done.stderr and "3 of 3 job(s) done" in done.stderr

    owners = {ids["maya"]: api.maya.id, ids["alice"]: api.alice.id, ids["retired"]: api.maya.id}
    jobs = jobs_of(api.url)
    assert {(j.payload["project_id"], j.owner_id) for j in jobs} == set(owners.items())
    assert all(j.worker == "fleet-worker" and j.payload["pr"] is False for j in jobs), jobs
    assert sorted(j.status for j in jobs) == ["failed", "finished", "finished"]
    with session_factory(api.url)() as session:
        for name in ("maya", "alice"):
            project = session.get(Project, ids[name])
            assert project is not None and project.blueprint_version == "1.1.0"
        updates = session.scalars(select(Activity).where(Activity.action == "update")).all()
        assert sorted((r.project_id, r.actor) for r in updates) == sorted(
            [(ids["maya"], "maya"), (ids["alice"], "alice"), (here["id"], None)]
        )
        [asked] = session.scalars(select(Activity).where(Activity.action == "fleet.update")).all()
    assert asked.actor is None and asked.details["os_user"] == getpass.getuser()
    assert {j["job_id"] for j in asked.details["jobs"]} == {j.id for j in jobs}

    # Again, as a table: nothing lags now but the two broken projects, which fail alone.
    again = console("fleet", "update", "--concurrency", "3", env=server_env, timeout=180)
    assert again.returncode == 1, again.stderr
    assert "Queued 1 update job(s)" in again.stderr  # the retired one: its check passes
    assert "--concurrency applies to the folders updated in this process" in again.stderr
    assert again.stdout.strip().endswith("5 project(s): 2 failed, 3 up-to-date."), again.stdout


def test_local_updates_this_machines_folders_here_and_queues_nothing(
    api: Api, server_env: dict[str, str], tmp_path: Path
) -> None:
    ids = lagging_fleet(api)
    folder = local_project(tmp_path, server_env)
    done = console("fleet", "update", "--local", "--json", env=server_env, timeout=120)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["path"], row["status"]) == (str(folder), "updated")
    assert (folder / "NOTES.md").is_file()
    assert jobs_of(api.url) == []
    with session_factory(api.url)() as session:
        project = session.get(Project, ids["maya"])
        assert project is not None and project.blueprint_version == "1.0.0"
        assert (
            session.scalars(select(Activity).where(Activity.action == "fleet.update")).all() == []
        )


def test_ctrl_c_stops_waiting_and_the_jobs_go_on(
    api: Api, server_env: dict[str, str], procs: list[Proc], tmp_path: Path
) -> None:
    ids = lagging_fleet(api)
    term = Terminal(["fleet", "update"], environ=server_env)
    term.wait_for("0 of 3 job(s) done")  # no worker yet: the jobs wait on the queue
    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 130, term.seen
    jobs = jobs_of(api.url)
    assert len(jobs) == 3 and all(j.status == "queued" for j in jobs)
    assert "Stopped waiting; 3 job(s) go on on the queue" in term.seen
    for job in jobs:
        assert job.id in term.seen.replace("\r\n", "").replace("\n", "")
    # A worker started afterwards does them.
    procs.append(start_worker("late-worker", server_env, tmp_path / "logs", "--burst"))
    procs[0].proc.wait(timeout=120)
    statuses = {j.payload["project_id"]: j.status for j in jobs_of(api.url)}
    assert statuses == {ids["maya"]: "finished", ids["alice"]: "finished",
                        ids["retired"]: "failed"}, procs[0].output()  # fmt: skip


def test_with_pr_each_job_uses_its_owners_own_credential(
    api: Api, server_env: dict[str, str], procs: list[Proc], forge: ForgeContract, tmp_path: Path
) -> None:
    register(api, archive("1.0.0", README_V1))
    for caller in (api.maya, api.alice):
        store_token(api, caller, forge)
    mine, theirs = generated(api, api.maya), generated(api, api.alice)
    unpublished = generated(api, api.maya)
    for caller, pid, repo in ((api.maya, mine, "shelf"), (api.alice, theirs, "shelf-two")):
        sent = api.as_(
            caller, "POST", f"{V1}/projects/{pid}/publish", json=options(forge, repo=repo)
        )
        assert wait_done(api, caller, sent.json()["id"])["status"] == "finished"
    # Alice's own credential is gone: her job fails, though Maya's is still stored.
    gone = api.as_(api.alice, "DELETE", f"{V1}/credentials/github", params={"host": forge.url})
    assert gone.status_code == 200, gone.text
    release_two(api)
    env = {**server_env, "CODEFORGE_FORGE_HOSTS": f"github.com,{forge.url}",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}  # fmt: skip
    procs.append(start_worker("pr-worker", env, tmp_path / "logs"))
    done = console("fleet", "update", "--pr", "--json", env=env, timeout=180)
    assert done.returncode == 1, (done.stdout, done.stderr, procs[0].output())
    by_id = {row["id"]: row for row in json.loads(done.stdout)}
    assert by_id[mine]["status"] == "pr-opened", by_id[mine]
    assert by_id[mine]["pull"].endswith("/pull/1")
    assert by_id[theirs]["status"] == "failed", by_id[theirs]
    assert "credential" in by_id[theirs]["error"], by_id[theirs]
    assert by_id[unpublished]["status"] == "failed"
    assert "never published" in by_id[unpublished]["error"]
    repo = next(r for r in forge.repos.values() if r.name == "shelf")
    [pull] = repo.pulls
    assert pull["head"] == "codeforge/update-shelf-bp-1.1.0"
    assert [len(r.pulls) for r in forge.repos.values() if r.name == "shelf-two"] == [0]
    jobs = jobs_of(api.url)
    assert {(j.payload["project_id"], j.owner_id, j.payload["pr"]) for j in jobs} == {
        (mine, api.maya.id, True),
        (theirs, api.alice.id, True),
    }
    assert all(j.worker == "pr-worker" for j in jobs)
    no_token_anywhere(api, forge, done.stdout, done.stderr)
