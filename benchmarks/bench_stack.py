"""deploy/compose.yaml under load: 2 API replicas behind HAProxy vs one API process alone.

    .venv/bin/python benchmarks/bench_stack.py [--seconds 5] [--rounds 3] [--concurrency 1 2 4 8]

Needs root, Debian's docker.io, debootstrap and wrk (as bench_api.py). It starts its own
dockerd (tests/docker_support.py), builds the images as the tests do
(tests/deploy/image_support.py: the Debian minbase base, wheels from the host), and
brings the stack up twice: with job results on S3 (SeaweedFS, the compose default) and
on the shared local volume (``CODEFORGE_ARTIFACTS_URL=file://...``). Each time:

1. warm-up, untimed: wrk through the load balancer (both APIs) and straight at api-1,
   so no timed run pays a process's first requests (lazy imports, templates compiled,
   database connections opened);
2. POST /api/v1/projects/generate (lib-python, a zip) at every concurrency, in
   ``--rounds`` interleaved pairs: one process alone (wrk straight at api-1's port; api-2
   runs but gets no request) then through the load balancer with both APIs. Each figure
   is the median of its rounds, so a change of the machine's load during the run falls
   on both sides alike. The concurrency of the highest throughput alone is the peak;
3. 40 ``generate`` jobs submitted through the load balancer, timed until all finished
   (the workers write each zip to the artifact store).

Prints one JSON document: per mode and concurrency requests/s and latency percentiles
(medians over the rounds, and each round's requests/s), the LB/alone throughput ratio
at the peak, the LB's p99 there, the jobs' rate, and the machine's load average (the
client shares the 2 cores with the stack: say so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_api import WRK_SCRIPT, run_wrk  # noqa: E402
from deploy.image_support import EXTRAS, IMAGE, build_codeforge, build_stack_images  # noqa: E402
from deploy.stack_support import Stack, stack_ports  # noqa: E402
from docker_support import Dockerd, start_dockerd  # noqa: E402

V1 = "/api/v1"
WRK_GENERATE = WRK_SCRIPT.replace(
    """'{"template": "bench-twenty", "name": "p%d-%d"}'""",
    """'{"template": "lib-python", "name": "p%d-%d", "answers": {}}'""",
)


def base_image(dockerd: Dockerd) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-base-image")],
        env={**os.environ, **dockerd.env()},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def wait_ready(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} is not ready")


def warm(url: str, key: str, args: argparse.Namespace, script: Path) -> None:
    """An untimed run, so every process behind ``url`` has served before it is timed."""
    run_wrk(url, key, "generate", 3, 2, args.threads, script)


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds, plus every round's requests/s."""
    figures = {
        name: round(statistics.median(r[name] for r in rounds), 1)
        for name in rounds[0]
        if name not in ("requests", "errors")
    }
    return {
        **figures,
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "rounds_rps": [r["rps"] for r in rounds],
    }


def sweep(
    alone: str, lb: str, key: str, args: argparse.Namespace, script: Path
) -> tuple[dict[int, Any], dict[int, Any]]:
    """Per concurrency: ``--rounds`` pairs of runs, one process alone then the LB."""
    one: dict[int, list[dict[str, Any]]] = {c: [] for c in args.concurrency}
    both: dict[int, list[dict[str, Any]]] = {c: [] for c in args.concurrency}
    for c in args.concurrency:
        for _ in range(args.rounds):
            one[c].append(run_wrk(alone, key, "generate", args.seconds, c, args.threads, script))
            both[c].append(run_wrk(lb, key, "generate", args.seconds, c, args.threads, script))
    return {c: median_of(r) for c, r in one.items()}, {c: median_of(r) for c, r in both.items()}


def jobs(url: str, key: str, count: int = 40) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        start = time.perf_counter()
        ids = [
            client.post(
                f"{V1}/jobs",
                json={"kind": "generate", "template": "lib-python", "name": f"j{i}", "answers": {}},
            )
            .raise_for_status()
            .json()["id"]
            for i in range(count)
        ]
        pending = set(ids)
        while pending:
            for job_id in list(pending):
                status = client.get(f"{V1}/jobs/{job_id}").json()["status"]
                if status == "failed":
                    raise SystemExit(f"job {job_id} failed")
                if status == "finished":
                    pending.discard(job_id)
            time.sleep(0.2)
        seconds = time.perf_counter() - start
    return {"jobs": count, "seconds": round(seconds, 1), "jobs_per_s": round(count / seconds, 1)}


def measure(stack: Stack, args: argparse.Namespace, script: Path) -> dict[str, Any]:
    stack.up()
    key = stack.key("bench")
    lb, api_1 = stack.lb, f"http://127.0.0.1:{stack.env['CODEFORGE_API_1_PORT']}"
    wait_ready(lb)
    wait_ready(api_1)
    wait_ready(f"http://127.0.0.1:{stack.env['CODEFORGE_API_2_PORT']}")
    warm(lb, key, args, script)
    warm(api_1, key, args, script)
    alone, balanced = sweep(api_1, lb, key, args, script)
    peak = max(alone, key=lambda c: alone[c]["rps"])
    result = {
        "alone": alone,
        "lb_2_replicas": balanced,
        "peak_concurrency": peak,
        "ratio_at_peak": round(balanced[peak]["rps"] / alone[peak]["rps"], 2),
        # the best of each, whatever the concurrency
        "ratio_best_to_best": round(
            max(v["rps"] for v in balanced.values()) / alone[peak]["rps"], 2
        ),
        "lb_p99_ms_at_peak": balanced[peak]["p99_ms"],
        "generate_jobs": jobs(lb, key),
        "load_average": os.getloadavg(),
    }
    stack.compose("down", "--volumes", "--timeout", "30")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5, help="one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (client cores)")
    args = parser.parse_args()
    dockerd = start_dockerd()
    folder = Path(tempfile.mkdtemp(prefix="cf-bench-stack-"))
    script = folder / "bench.lua"
    script.write_text(WRK_GENERATE, encoding="utf-8")
    try:
        base = base_image(dockerd)
        build_codeforge(dockerd, base, EXTRAS, IMAGE)
        build_stack_images(dockerd, base)
        results: dict[str, Any] = {"load_average_before": os.getloadavg()}
        for artifacts in ("s3", "local"):
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(folder),
                **dockerd.env(),
                **stack_ports(),
                "CODEFORGE_VERSION": "dev",
                # the compose file's CodeForge services; rate limits would answer 429s
                "CODEFORGE_RATE_LIMITS": "off",
            }
            if artifacts == "local":
                env["CODEFORGE_ARTIFACTS_URL"] = "file:///var/lib/codeforge/data/artifacts"
            stack = Stack(dockerd, f"cfbench{uuid.uuid4().hex[:6]}", env, folder)
            try:
                results[artifacts] = measure(stack, args, script)
            finally:
                stack.compose("down", "--volumes", "--timeout", "30")
        print(json.dumps(results, indent=2))
    finally:
        dockerd.stop()


if __name__ == "__main__":
    main()
