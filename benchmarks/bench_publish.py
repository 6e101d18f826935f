"""Benchmark: ``codeforge init --publish github`` of a 100-file project, CodeForge's own time.

The publish case of issue 12. The script

1. writes the synthetic blueprint of ``synth.py`` (CodeForge form, ``--files`` files);
2. starts the forge contract server of the tests (``tests/integrations/forge_contract.py``:
   the GitHub REST v3 endpoints on 127.0.0.1, fronting a real ``git http-backend``);
3. puts a ``git`` shim first on ``PATH`` that times every ``git push`` and hands
   every other git command straight to the real git (``exec``: no extra process);
4. times, interleaved for ``--runs`` rounds, two whole processes: ``codeforge init
   NAME -t BLUEPRINT --defaults`` (for comparison) and ``codeforge init NAME -t
   BLUEPRINT --defaults --publish github --host URL --topic bench
   --protect-default-branch``, each into a fresh folder and a fresh repository;
5. checks after every publish that the repository on the server holds the
   project's commit.

CodeForge's own time is a publish run's wall time minus its ``git push`` (git
packing and sending the objects, and the server's ``git http-backend``
receiving them). What stays in it: start-up, imports, rendering and writing the
100 files, the first commit, the token check, the REST calls (create, configure,
protect) and the ``git ls-remote`` before the push. The target is <= 150 ms.
CodeForge runs warm (one ``CODEFORGE_CACHE_DIR``, filled by an untimed run).

Usage::

    .venv/bin/python benchmarks/bench_publish.py                 # 100 files, 9 runs
    .venv/bin/python benchmarks/bench_publish.py --runs 15 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import synth  # noqa: E402
from integrations.forge_contract import Account, ForgeContract, running_contract  # noqa: E402

CODEFORGE = Path(sys.executable).with_name("codeforge")
TOKEN = "ghp_" + "BenchPublish" * 3
TARGET_MS = 150.0
SHIM = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = push ]; then
    start=$(date +%s%N)
    {git} "$@"
    code=$?
    end=$(date +%s%N)
    echo $((end - start)) >> {log}
    exit $code
  fi
done
exec {git} "$@"
"""


def git_shim(folder: Path, log: Path) -> Path:
    """A folder whose ``git`` times ``git push`` into ``log`` (nanoseconds, a line each)."""
    real = shutil.which("git")
    if real is None:
        raise SystemExit("git is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "git"
    shim.write_text(SHIM.format(git=real, log=log), encoding="utf-8")
    shim.chmod(0o755)
    return folder


def environment(work: Path, shim: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_TOKEN": TOKEN,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for kind in ("config", "data", "cache"):
        env[f"CODEFORGE_{kind.upper()}_DIR"] = str(work / kind)
    for name in ("CODEFORGE_DATABASE_URL", "CODEFORGE_REDIS_URL", "GITLAB_TOKEN"):
        env.pop(name, None)
    return env


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds of one whole ``codeforge`` process; stops the benchmark when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} ... failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def pushed_head(contract: ForgeContract, project: Path, name: str) -> None:
    """The server's repository holds the project's commit, or the benchmark stops."""
    bare = contract.git_root / "octocat" / f"{name}.git"
    local = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    remote = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "refs/heads/main"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if local != remote:
        raise SystemExit(f"{name}: the server holds {remote or 'nothing'}, the project {local}")


def measure(files: int, runs: int, work: Path) -> dict[str, Any]:
    blueprint = synth.build(work / "synth", files).codeforge
    log = work / "push-ns.log"
    env = environment(work, git_shim(work / "shim", log))
    out = work / "out"
    samples: dict[str, list[float]] = {"init": [], "publish": [], "push": [], "own": []}
    with running_contract() as contract:
        contract.tokens[TOKEN] = Account("octocat", "The Octocat", ["repo", "workflow"])
        base = [str(CODEFORGE), "init"]
        publish = ["--publish", "github", "--host", contract.url, "--topic", "bench",
                   "--protect-default-branch"]  # fmt: skip
        for i in range(runs + 1):  # run 0 fills the cache, untimed
            common = ["-t", str(blueprint), "--defaults", "-o", str(out), "-q"]
            plain = timed([*base, f"plain-{i}", *common], env)
            log.write_text("", encoding="utf-8")
            total = timed([*base, f"bench-{i}", *common, *publish], env)
            pushes = [int(line) / 1e9 for line in log.read_text().split()]
            if len(pushes) != 1:
                raise SystemExit(f"expected one git push, the shim saw {len(pushes)}")
            pushed_head(contract, out / f"bench-{i}", f"bench-{i}")
            shutil.rmtree(out)
            if i == 0:
                continue
            samples["init"].append(plain)
            samples["publish"].append(total)
            samples["push"].append(pushes[0])
            samples["own"].append(total - pushes[0])
    return {"files": files, "runs": runs, **{k: summary(v) for k, v in samples.items()}}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "p90_ms": round(p90 * 1000, 1),
    }


def report(result: dict[str, Any], target: float) -> str:
    rows = [
        ("codeforge init (no publish)", "init"),
        ("codeforge init --publish github", "publish"),
        ("  of which git push", "push"),
        ("  CodeForge's own time (total - push)", "own"),
    ]
    lines = [
        f"init + publish of a {result['files']}-file project, {result['runs']} runs (warm cache)",
        "",
        f"| {'what':<38} | median ms | min ms | p90 ms |",
        f"| {'-' * 38} | --------: | -----: | -----: |",
    ]
    for label, key in rows:
        s = result[key]
        lines.append(f"| {label:<38} | {s['median_ms']:>9} | {s['min_ms']:>6} | {s['p90_ms']:>6} |")
    own = result["own"]["median_ms"]
    verdict = "meets" if own <= target else "MISSES"
    lines += ["", f"CodeForge's own time {own} ms (median) {verdict} the target of {target:g} ms."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cf-bench-publish-") as folder:
        result = measure(args.files, args.runs, Path(folder))
    result["target_ms"] = args.target_ms
    result["meets_target"] = result["own"]["median_ms"] <= args.target_ms
    print(json.dumps(result, indent=2) if args.json else report(result, args.target_ms))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
