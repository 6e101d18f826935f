"""Benchmark: the shared compiled-template cache and a cold worker's first job.

A *cold worker* is a new process with an empty local cache folder (no compiled
pack, no parsed definition): what a freshly started worker or API process meets
on its first job for a blueprint. With Redis configured, the compiled code and
the parsed definition another process published are taken from Redis instead of
being compiled and parsed again.

For each size N (default 20 files; the synthetic template of ``synth.py``) and
each mode, ``--runs`` fresh processes are started, interleaved round by round:

* ``no redis``   — no ``CODEFORGE_REDIS_URL``: compile and parse locally;
* ``redis cold`` — Redis configured but empty for this blueprint (a new key prefix
  every run): compile, parse, and publish;
* ``redis warm`` — Redis already holds this blueprint (warmed by one untimed run):
  take, do not compile.

Two figures per sample:

* **first render** — inside the process, ``SDLCEngine.render_plan`` of the first
  job, imports of CodeForge itself excluded (the part the cache can change);
* **process** — the whole ``codeforge init`` process (``fork`` to ``wait4``),
  interpreter start-up and writing included: what a one-shot CLI run costs.

Redis: ``CODEFORGE_REDIS_URL`` if set, else a private ``redis-server`` on a free
port (stopped at the end). Keys go under a per-run prefix and are deleted at
the end; nothing else in Redis is touched.

Usage::

    .venv/bin/python benchmarks/bench_cache.py                  # N = 20, 9 runs
    .venv/bin/python benchmarks/bench_cache.py --sizes 20,200,1000 --runs 7
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

ROOT = Path(__file__).resolve().parent.parent
MODES = ("no redis", "redis cold", "redis warm")

# Runs in the child: import first (not timed; a worker has redis loaded for its
# queue already), then time the first job's render.
FIRST_RENDER = """
import sys, time
import redis
from codeforge.app.context import local_engine
data = dict(arg.split("=", 1) for arg in sys.argv[3:])
engine = local_engine()
started = time.perf_counter()
engine.render_plan(sys.argv[1], sys.argv[2], data)
print(f"{time.perf_counter() - started:.6f}")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(folder: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    url = os.environ.get("CODEFORGE_REDIS_URL")
    if url:
        return url, None
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("no CODEFORGE_REDIS_URL and no redis-server on PATH")
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return url, proc
        except redis.RedisError:
            if time.monotonic() > deadline:
                proc.kill()
                sys.exit("redis-server did not start")
            time.sleep(0.05)


def _env(work: Path, run: str, redis_url: str | None, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEFORGE_", "XDG_"))}
    env.update(
        HOME=str(work / "home"),
        CODEFORGE_CONFIG_DIR=str(work / "config"),
        # One data folder for every run: the same server secret signs and checks entries.
        CODEFORGE_DATA_DIR=str(work / "data"),
        CODEFORGE_CACHE_DIR=str(work / "cache" / run),  # empty: a cold worker
        CODEFORGE_REDIS_PREFIX=prefix,
    )
    if redis_url is not None:
        env["CODEFORGE_REDIS_URL"] = redis_url
    return env


def _data_args() -> list[str]:
    return [f"{k}={v}" for k, v in synth.DATA.items()]


def _first_render(template: Path, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_RENDER, str(template), synth.PROJECT_NAME, *_data_args()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"render failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def _process(template: Path, env: dict[str, str], out_dir: Path) -> float:
    cmd = [str(Path(sys.executable).parent / "codeforge"), "init", synth.PROJECT_NAME]
    cmd += ["-t", str(template), "-o", str(out_dir), "--defaults", "--no-git"]
    for arg in _data_args():
        cmd += ["--data", arg]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"codeforge init failed:\n{stderr.decode()}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return elapsed


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20", help="comma-separated file counts (default 20)")
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per mode (default 9)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temp folder)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="cf-bench-cache-", dir=args.workdir))
    redis_url, redis_proc = _start_redis(work / "redis")
    base = f"cfbench:{uuid.uuid4().hex[:8]}:"
    rows: list[tuple[int, str, list[float], list[float]]] = []
    try:
        for n in sizes:
            forms = synth.build(work / f"synth-{n}", n)
            template = forms.codeforge
            warm_prefix = f"{base}warm{n}:"
            # Warm the shared cache once, untimed (also creates the server secret).
            _first_render(template, _env(work, f"warmup-{n}", redis_url, warm_prefix))
            render: dict[str, list[float]] = {m: [] for m in MODES}
            process: dict[str, list[float]] = {m: [] for m in MODES}
            for r in range(args.runs):
                order = MODES[r % 3 :] + MODES[: r % 3]  # rotate: no mode always first
                for mode in order:
                    for kind, samples in (("render", render), ("process", process)):
                        run = f"{n}-{mode.replace(' ', '-')}-{kind}-{r}"
                        prefix = warm_prefix if mode == "redis warm" else f"{base}{run}:"
                        url = None if mode == "no redis" else redis_url
                        env = _env(work, run, url, prefix)
                        if kind == "render":
                            samples[mode].append(_first_render(template, env))
                        else:
                            samples[mode].append(_process(template, env, work / "out" / run))
            for mode in MODES:
                rows.append((n, mode, render[mode], process[mode]))
    finally:
        import redis

        client = redis.Redis.from_url(redis_url)
        names = list(client.scan_iter(match=f"{base}*", count=1000))
        if names:
            client.delete(*names)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nCold worker's first job, medians of {args.runs} fresh processes (ms)\n")
    print("| files | mode | first render | vs no redis | whole `codeforge init` | vs no redis |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    baseline = {n: (r, p) for n, mode, r, p in rows if mode == "no redis"}
    for n, mode, r, p in rows:
        base_r, base_p = baseline[n]
        ratio_r = statistics.median(r) / statistics.median(base_r)
        ratio_p = statistics.median(p) / statistics.median(base_p)
        print(
            f"| {n} | {mode} | {_median_ms(r)} | {ratio_r:.2f}x | {_median_ms(p)} | {ratio_p:.2f}x |"
        )
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, Redis at {redis_url}")


if __name__ == "__main__":
    main()
