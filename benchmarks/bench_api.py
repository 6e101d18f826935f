"""Load test of the web API: ``codeforge serve`` on PostgreSQL, an async httpx client on loopback.

    .venv/bin/python benchmarks/bench_api.py [--workers 2] [--seconds 10] [--concurrency 32]

Creates a throw-away database on CODEFORGE_TEST_POSTGRES_URL's server (default
postgres@127.0.0.1), uploads a 20-file blueprint, starts ``codeforge serve`` in a
separate process, then measures (1) POST /api/v1/projects/generate (zip) and
(2) GET /api/v1/blueprints: throughput and latency percentiles. The client runs in
its own process and shares the machine's cores with the server: say so when quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
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


async def run_load(
    url: str, headers: dict[str, str], make_request: str, seconds: float, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker(n: int) -> None:
            nonlocal errors
            i = 0
            while time.perf_counter() < stop:
                i += 1
                started = time.perf_counter()
                if make_request == "generate":
                    body = {"template": "bench-twenty", "name": f"p{n}-{i}"}
                    response = await client.post("/api/v1/projects/generate", json=body)
                else:
                    response = await client.get("/api/v1/blueprints")
                await response.aread()
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    name = f"codeforge_bench_{uuid.uuid4().hex[:8]}"
    with pg(ADMIN_URL) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    home = Path(tempfile.mkdtemp(prefix="codeforge-bench-"))
    env = {
        **os.environ,
        "CODEFORGE_DATABASE_URL": db_url,
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
        warm = asyncio.run(run_load(base, headers, "generate", 2, args.concurrency))
        results = {
            "workers": args.workers,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "warmup": warm,
            "generate_zip_20_files": asyncio.run(
                run_load(base, headers, "generate", args.seconds, args.concurrency)
            ),
            "get_blueprints": asyncio.run(
                run_load(base, headers, "list", args.seconds, args.concurrency)
            ),
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
