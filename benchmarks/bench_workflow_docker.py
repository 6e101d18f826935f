"""CodeForge's own overhead on a docker deploy (``bench_workflow.py --docker``).

Each sample is one whole `codeforge workflow run build deploy --force` process,
fork to exit, started through a launcher that times, inside it, the engine's share:
``run_build`` (the build request: the context sent, the build log streamed to the
end), the container's creation and start (``DockerRun._start``) and the wait until it
is healthy (``wait_healthy``). Overhead = wall time - engine share: interpreter
start-up, imports, planning, hashing the tree, labels, the port check, recording.
On a loaded machine the wall figures are mostly waiting for a core, so the CPU the
process spent outside the engine's share (its whole CPU time less what the timed
parts used, such as the SDK packing the build context) is reported too.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CODEFORGE = BIN / "codeforge"
REQUIREMENTS = ("fastapi>=0.115", "pydantic>=2.7", "uvicorn>=0.30", "sqlalchemy>=2.0.30")
LAUNCH = """
import atexit, json, os, sys, time
from codeforge.__main__ import _quiet_start, main
_quiet_start()  # as main() does first: the imports below are the run's own, made here to time
from codeforge.integrations.containers import build, run
spent, cpu = [], []
def timed(fn):
    def wrapper(*args, **kwargs):
        start, used = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)
    return wrapper
build.run_build = timed(build.run_build)
run.wait_healthy = timed(run.wait_healthy)
run.DockerRun._start = timed(run.DockerRun._start)
atexit.register(
    lambda: open(os.environ["BENCH_ENGINE_FILE"], "w").write(json.dumps([spent, cpu]))
)
sys.exit(main())
"""


def _wheelhouse(folder: Path) -> None:
    platforms = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder)]
        + ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"]
        + [arg for p in platforms for arg in ("--platform", p)]
        + [*REQUIREMENTS, "hatchling>=1.27"],
        check=True,
        timeout=600,
    )


def _engine(base_image: str | None) -> tuple[str, str, object | None]:
    """DOCKER_HOST, the base image, and the engine this benchmark started (or None)."""
    if os.environ.get("DOCKER_HOST") and base_image:
        return os.environ["DOCKER_HOST"], base_image, None
    sys.path.insert(0, str(ROOT / "tests"))
    from docker_support import start_dockerd

    engine = start_dockerd()
    made = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-base-image")],
        env={**os.environ, **engine.env()},
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return engine.host, made.stdout.strip().splitlines()[-1], engine


def _cli(args: list[str], env: dict[str, str], launcher: bool = False) -> tuple[float, float]:
    """Run one CodeForge command; its wall and CPU (user+sys) seconds (exits on failure)."""
    argv = [sys.executable, "-c", LAUNCH, *args] if launcher else [str(CODEFORGE), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        sys.exit(f"codeforge {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return took, cpu


def _samples(
    project: Path, env: dict[str, str], runs: int, scratch: Path
) -> list[dict[str, float]]:
    engine_file = scratch / "engine.json"
    timed_env = {**env, "BENCH_ENGINE_FILE": str(engine_file)}
    samples = []
    for _ in range(runs):
        _cli(["deploy", str(project), "--down", "-q"], env)
        wall, cpu = _cli(
            ["workflow", "run", "build", "deploy", "--force", "-q", "-C", str(project)],
            timed_env,
            launcher=True,
        )
        engine, engine_cpu = (sum(part) for part in json.loads(engine_file.read_text()))
        samples.append(
            {
                "wall": wall * 1000,
                "engine": engine * 1000,
                "cpu": cpu * 1000,
                "own_cpu": (cpu - engine_cpu) * 1000,
            }
        )
    _cli(["deploy", str(project), "--down", "-q"], env)
    return samples


def docker_overhead(runs: int, budget_ms: float, base_image: str | None) -> int:
    """Print the figures; 0 when the median overhead is within ``budget_ms``."""
    host, image, started = _engine(base_image)
    try:
        with tempfile.TemporaryDirectory(prefix="cf-bench-docker-") as scratch:
            base = Path(scratch)
            env = {
                **os.environ,
                "CODEFORGE_CONFIG_DIR": str(base / "config"),
                "CODEFORGE_DATA_DIR": str(base / "data"),
                "CODEFORGE_CACHE_DIR": str(base / "cache"),
                "DOCKER_HOST": host,
                "CODEFORGE_DOCKER_BASE_IMAGE": image,
                "CODEFORGE_DOCKER_BUILD_ARGS": "PIP_NO_INDEX=1 PIP_FIND_LINKS=/src/wheelhouse",
                "CODEFORGE_DOCKER_NETWORK": "host",
                "CODEFORGE_DEPLOY_PORT": "18731",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "NO_PROXY": "127.0.0.1",
            }
            _cli(["init", "-t", "web-fastapi", "bench-svc", "--defaults", "-q", "-o", scratch], env)
            project = base / "bench-svc"
            _wheelhouse(project / "wheelhouse")
            _cli(["workflow", "run", "build", "-q", "-C", str(project)], env)  # warm the cache
            samples = _samples(project, env, runs, base)
    finally:
        if started is not None:
            started.stop()  # type: ignore[attr-defined]
    own = sorted(s["wall"] - s["engine"] for s in samples)
    median = statistics.median(own)
    print(
        f"docker deploy ({runs} runs of workflow run build deploy --force): "
        f"wall median {statistics.median(s['wall'] for s in samples):.0f} ms, "
        f"engine build+start median {statistics.median(s['engine'] for s in samples):.0f} ms, "
        f"CodeForge's own median {median:.0f} ms (min {own[0]:.0f}, max {own[-1]:.0f}; "
        f"budget {budget_ms:.0f} ms); the process's CPU (user+sys) median "
        f"{statistics.median(s['cpu'] for s in samples):.0f} ms, of which outside the "
        f"engine's share {statistics.median(s['own_cpu'] for s in samples):.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0 if median <= budget_ms else 1
