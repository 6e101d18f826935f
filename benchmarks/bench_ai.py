"""Benchmarks of the AI layer on the real local models.

Run: ``.venv/bin/python benchmarks/bench_ai.py`` (needs .ci/install-ai). Prints JSON.
Targets: ``ai recommend`` end to end ≤ 1 s with a warm cache; describe → answers
≤ 10 s on the 0.5B model on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codeforge.ai.catalog import load_catalog
from codeforge.ai.describe import describe
from codeforge.ai.local import LocalServer
from codeforge.ai.provider import Provider
from codeforge.ai.recommend import Recommender

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tests" / "ai" / "fixtures" / "catalog"


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_recommend_cli(cache: Path) -> float:
    env = {**os.environ, "CODEFORGE_CACHE_DIR": str(cache)}
    argv = [
        sys.executable, "-c", "from codeforge.cli.ai import ai; ai()", "recommend",
        "a REST API in Python with PostgreSQL", "--catalog", str(CATALOG), "--json",
    ]  # fmt: skip
    subprocess.run(argv, env=env, check=True, capture_output=True)  # warms the cache
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def bench_model(name: str, cache: Path) -> dict[str, float]:
    catalog = load_catalog([CATALOG])
    with LocalServer.start(name, cache) as server:
        provider = Provider(base_url=server.base_url, model=server.model, api_key=server.api_key)
        gen = provider.complete(
            [{"role": "user", "content": "Explain what a Python virtual environment is."}],
            max_tokens=128,
        )
        rec = Recommender(cache)
        started = time.perf_counter()
        describe("a FastAPI service with PostgreSQL, Docker and GitHub CI", catalog, provider, rec)
        describe_s = time.perf_counter() - started
        provider.close()
        return {
            "startup_s": round(server.startup_seconds, 2),
            "tokens_per_s": round(gen.tokens_per_second, 1),
            "describe_s": round(describe_s, 2),
            "server_peak_rss_mb": round(_peak_rss_mb(server.pid), 0),
        }


def main() -> None:
    cache = Path(os.environ.get("CODEFORGE_CACHE_DIR") or tempfile.mkdtemp(prefix="cf-bench-"))
    results: dict[str, object] = {"recommend_cli_warm_s": round(bench_recommend_cli(cache), 3)}
    rec = Recommender(cache)
    catalog = load_catalog([CATALOG])
    rec.rank("warm", catalog)
    started = time.perf_counter()
    for _ in range(20):
        rec.rank("a REST API in Python with PostgreSQL", catalog)
    results["recommend_query_ms"] = round((time.perf_counter() - started) / 20 * 1000, 1)
    for name in ("smollm2-135m", "qwen2.5-coder-0.5b"):
        results[name] = bench_model(name, cache)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
