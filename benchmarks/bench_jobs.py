"""Job throughput: ``codeforge worker`` × 1, 2, 4 on Redis and PostgreSQL, a 20-file blueprint.

    .venv/bin/python benchmarks/bench_jobs.py [--jobs 200] [--workers 1 2 4] [--concurrency 8]

Creates a throw-away database on CODEFORGE_TEST_POSTGRES_URL's server (default
postgres@127.0.0.1) and starts its own ``redis-server`` on a free loopback port
(or uses CODEFORGE_REDIS_URL with a queue of its own). One ``codeforge serve``
takes the submissions; the 20-file blueprint of bench_api.py is registered
through it. For each worker count: start the workers, warm them (two jobs each),
then submit ``--jobs`` generate jobs through the API as fast as ``--concurrency``
client threads can, and wait until every one has finished.

Reported per worker count: jobs per second (jobs / (last finished - first
created)), and the median and p99 queue-to-done latency (``finished_at -
created_at`` of each job, from the database). The API server, the workers, Redis,
PostgreSQL and the client share the machine's cores: say so when quoting.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from bench_api import ADMIN_URL, blueprint_zip, free_port, pg
from psycopg import sql
from sqlalchemy.engine import make_url

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (as numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed; set CODEFORGE_REDIS_URL to use another")
    port = free_port()
    proc = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def wait_done(db_url: str, ids: list[str], timeout: float) -> list[tuple[float, float, str]]:
    """(created, finished) epoch seconds and status of each job, once all are done."""
    deadline = time.monotonic() + timeout
    u = make_url(db_url)
    while True:
        with pg(u.render_as_string(hide_password=False)) as conn:
            rows = conn.execute(
                "SELECT extract(epoch from created_at), extract(epoch from finished_at), status "
                "FROM jobs WHERE id = ANY(%s)",
                (ids,),
            ).fetchall()
        done = [r for r in rows if r[2] in ("finished", "failed")]
        if len(done) == len(ids):
            return [(float(c), float(f), str(s)) for c, f, s in done]
        if time.monotonic() > deadline:
            sys.exit(f"only {len(done)} of {len(ids)} jobs done after {timeout} s")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200, help="jobs per worker count")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=8, help="client threads submitting")
    args = parser.parse_args()

    name = f"codeforge_bench_{uuid.uuid4().hex[:8]}"
    with pg(ADMIN_URL) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    home = Path(tempfile.mkdtemp(prefix="codeforge-bench-jobs-"))
    redis_proc = None
    redis_url = os.environ.get("CODEFORGE_REDIS_URL")
    if not redis_url:
        (home / "redis").mkdir()
        redis_proc, redis_url = start_redis(home / "redis")
    env = {
        **os.environ,
        "CODEFORGE_DATABASE_URL": db_url,
        "CODEFORGE_REDIS_URL": redis_url,
        "CODEFORGE_JOB_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "CODEFORGE_RATE_LIMITS": "off",
        "CODEFORGE_RATE_LIMITS_ADDRESS": "off",
        **{f"CODEFORGE_{k.upper()}_DIR": str(home / k) for k in ("config", "data", "cache")},
    }
    codeforge = [sys.executable, "-m", "codeforge"]
    subprocess.run(
        [*codeforge, "users", "create", "bench", "--role", "maintainer"], env=env, check=True
    )
    key = subprocess.run(
        [*codeforge, "keys", "create", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*codeforge, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    workers: list[subprocess.Popen[bytes]] = []
    rows = []
    try:
        for _ in range(300):
            try:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        up = client.post(
            f"{base}/blueprints/upload",
            files={"archive": ("bp.zip", blueprint_zip(), "application/zip")},
        )
        up.raise_for_status()
        counter = iter(range(10**9))

        def submit(_: int) -> str:
            body = {"kind": "generate", "template": "bench-twenty", "name": f"p{next(counter)}"}
            response = client.post(f"{base}/jobs", json=body)
            response.raise_for_status()
            return str(response.json()["id"])

        for count in args.workers:
            workers = [
                subprocess.Popen(
                    [*codeforge, "worker", "--name", f"bench-{count}-{i}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for i in range(count)
            ]
            # Warm every worker: imports, compiled templates, connection pools.
            wait_done(db_url, [submit(0) for _ in range(2 * count)], 120)
            with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                ids = list(pool.map(submit, range(args.jobs)))
            done = wait_done(db_url, ids, 600)
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.wait(timeout=60)
            workers = []
            failed = sum(1 for d in done if d[2] != "finished")
            latencies = [f - c for c, f, _ in done]
            span = max(f for _, f, _ in done) - min(c for c, _, _ in done)
            rows.append(
                {
                    "workers": count,
                    "jobs": len(ids),
                    "failed": failed,
                    "jobs_per_s": round(len(ids) / span, 1),
                    "median_ms": round(statistics.median(latencies) * 1000),
                    "p99_ms": round(percentile(latencies, 0.99) * 1000),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        report = {"cpus": os.cpu_count(), "blueprint": "bench-twenty (20 files)", "results": rows}
        lines = [
            "| workers | jobs | failed | jobs/s | median queue-to-done | p99 |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
            *(
                f"| {r['workers']} | {r['jobs']} | {r['failed']} | {r['jobs_per_s']} | "
                f"{r['median_ms']} ms | {r['p99_ms']} ms |"
                for r in rows
            ),
        ]
        print("\n".join(lines))
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "jobs.json").write_text(json.dumps(report, indent=2))
        (RESULTS / "jobs.md").write_text("\n".join(lines) + "\n")
    finally:
        for proc in [*workers, server]:
            proc.terminate()
            proc.wait(timeout=30)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        with pg(ADMIN_URL) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
