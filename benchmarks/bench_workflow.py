"""Two workflow figures: a rerun with nothing changed, and CodeForge's overhead on a docker deploy.

Rerun (default): generates a lib-python project, runs its verify and build stages
once (untimed; built without isolation, so the backend must be installed beside
CodeForge), then times whole `codeforge workflow run verify build` processes, fork
to exit. Target: median <= 300 ms.

Docker (``--docker``): generates web-fastapi, builds it once (untimed), then times
whole `codeforge workflow run build deploy --force` processes (the image rebuilt
from the engine's cache, a container started on host networking and probed) and,
inside each, the engine's share: the build request (context upload and build
stream) and the container's start until it is healthy. CodeForge's overhead is the
process's wall time minus that share. Target: median <= 200 ms. The engine is the
one DOCKER_HOST names with ``--base-image`` (else the benchmark starts its own
dockerd and base image as the tests do: root, docker.io, debootstrap).

    .venv/bin/python benchmarks/bench_workflow.py [--runs 15] [--budget-ms 300]
    .venv/bin/python benchmarks/bench_workflow.py --docker [--runs 5] [--budget-ms 200]

Exit status 1 when the median is over the budget.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CODEFORGE = BIN / "codeforge"


def _env(base: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CODEFORGE_CONFIG_DIR": str(base / "config"),
        "CODEFORGE_DATA_DIR": str(base / "data"),
        "CODEFORGE_CACHE_DIR": str(base / "cache"),
        "CODEFORGE_BUILD_ISOLATION": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(CODEFORGE), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"codeforge {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--budget-ms", type=float, default=None)
    parser.add_argument("--docker", action="store_true", help="the docker deploy overhead")
    parser.add_argument("--base-image", help="with DOCKER_HOST: the engine's Python base image")
    options = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "warning: PYTHONDONTWRITEBYTECODE is set: a checkout without .pyc files compiles "
            "its modules in every run (tens of ms a user does not pay)",
            file=sys.stderr,
        )
    if options.docker:
        from bench_workflow_docker import docker_overhead

        return docker_overhead(options.runs or 5, options.budget_ms or 200.0, options.base_image)
    options.runs = options.runs or 15
    options.budget_ms = options.budget_ms or 300.0
    with tempfile.TemporaryDirectory(prefix="cf-bench-workflow-") as scratch:
        base = Path(scratch)
        env = _env(base)
        _run(["init", "-t", "lib-python", "bench-lib", "--defaults", "--no-git", "-q"], env, base)
        project = base / "bench-lib"
        _run(["workflow", "run", "verify", "build", "-q"], env, project)
        samples, cpu = [], []
        for _ in range(options.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = _run(["workflow", "run", "verify", "build", "-q"], env, project)
            samples.append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            cpu.append(used * 1000)
            if "skipped" not in done.stdout or "succeeded" in done.stdout:
                sys.exit(f"a stage ran again:\n{done.stdout}")
    samples.sort()
    median = statistics.median(samples)
    p90 = samples[min(len(samples) - 1, round(0.9 * (len(samples) - 1)))]
    print(
        f"workflow run, nothing changed ({options.runs} runs): median {median:.0f} ms, "
        f"min {samples[0]:.0f} ms, p90 {p90:.0f} ms (budget {options.budget_ms:.0f} ms); "
        f"CPU (user+sys) median {statistics.median(cpu):.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0 if median <= options.budget_ms else 1


if __name__ == "__main__":
    sys.exit(main())
