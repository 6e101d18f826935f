"""Load test of the web API: ``codeforge serve`` on PostgreSQL, ``wrk`` on loopback.

    .venv/bin/python benchmarks/bench_api.py [--workers 2] [--seconds 10] [--concurrency 16 8 4]

Needs ``wrk`` (Debian: ``apt-get install wrk``); it runs as its own process, in C,
with keep-alive connections, so the client does not cap the figures.

Creates a throw-away database on CODEFORGE_TEST_POSTGRES_URL's server (default
postgres@127.0.0.1), uploads a 20-file blueprint, starts ``codeforge serve`` in a
separate process, then measures (1) POST /api/v1/projects/generate (zip) and
(2) GET /api/v1/blueprints: throughput and latency percentiles (every request
authenticated with a bearer key; every zip generation recorded in the database).
The client shares the machine's cores with the server: say so when quoting.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "CODEFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def blueprint_zip(files: int = 20) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "blueprint.yaml",
            "name: bench-twenty\nversion: 1.0.0\ndescription: 20 files\nvariables:\n"
            '  package_name:\n    default: "{{ project_name | snake }}"\n'
            "  license:\n    type: choice\n    choices: [MIT, Apache-2.0]\n    default: MIT\n",
        )
        for i in range(files - 1):
            body = "".join(
                f"# {{{{ project_name }}}} line {n} ({{{{ license }}}})\n" for n in range(40)
            )
            archive.writestr(f"template/src/{{{{ package_name }}}}/mod_{i}.py.jinja", body)
        archive.writestr("template/README.md.jinja", "# {{ project_name }}\n")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg(url: str) -> psycopg.Connection[object]:
    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        dbname=u.database,
        autocommit=True,
    )


WRK_SCRIPT = r"""
local counter = 0
local kind = os.getenv("BENCH_KIND")
local key = os.getenv("BENCH_KEY")
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function request()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. key}
  if kind == "generate" then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"template": "bench-twenty", "name": "p%d-%d"}', thread_id, counter)
    return wrk.format("POST", "/api/v1/projects/generate", headers, body)
  end
  return wrk.format("GET", "/api/v1/blueprints", headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def run_wrk(
    base: str, key: str, kind: str, seconds: float, concurrency: int, threads: int, script: Path
) -> dict[str, float]:
    """One wrk run (a separate process, C, keep-alive connections); latency in ms."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, concurrency)}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        env={**os.environ, "BENCH_KIND": kind, "BENCH_KEY": key},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON ") :])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["non_2xx"] + raw["socket_errors"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 8, 4])
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (client cores)")
    args = parser.parse_args()

    name = f"codeforge_bench_{uuid.uuid4().hex[:8]}"
    with pg(ADMIN_URL) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    home = Path(tempfile.mkdtemp(prefix="codeforge-bench-"))
    env = {
        **os.environ,
        "CODEFORGE_DATABASE_URL": db_url,
        "CODEFORGE_RATE_LIMITS": "off",  # measure the server, not the limiter's 429s
        **{f"CODEFORGE_{k.upper()}_DIR": str(home / k) for k in ("config", "data", "cache")},
    }

    # The commands directly (works before they are registered in cli/main.py).
    def cli(module: str, attr: str) -> list[str]:
        return [sys.executable, "-c", f"from codeforge.cli.{module} import {attr}; {attr}()"]

    subprocess.run(
        [*cli("admin", "users"), "create", "bench", "--role", "maintainer"], env=env, check=True
    )
    key = subprocess.run(
        [*cli("admin", "keys"), "create", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*cli("serve", "serve"), "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        up = httpx.post(
            f"{base}/api/v1/blueprints/upload",
            headers=headers,
            files={"archive": ("bp.zip", blueprint_zip(), "application/zip")},
            timeout=30,
        )
        up.raise_for_status()
        script = home / "bench.lua"
        script.write_text(WRK_SCRIPT)
        # Warm every worker: compiled templates, parsed blueprint, connection pools.
        run_wrk(base, key, "generate", 2, 8, args.threads, script)
        run_wrk(base, key, "list", 1, 8, args.threads, script)
        rows = []
        for concurrency in args.concurrency:
            for kind in ("generate", "list"):
                result = run_wrk(base, key, kind, args.seconds, concurrency, args.threads, script)
                rows.append({"scenario": kind, "concurrency": concurrency, **result})
        results = {
            "workers": args.workers,
            "cpus": os.cpu_count(),
            "client": f"wrk -t{args.threads} (keep-alive), same machine",
            "results": rows,
        }
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=20)
        with pg(ADMIN_URL) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
