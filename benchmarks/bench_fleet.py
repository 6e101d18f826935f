"""Benchmark: ``codeforge fleet update --pr`` of N lagging projects with W workers.

The fleet case of issue 12 (target: >= 5 projects/s for 50 projects, 2 workers).
The script

1. writes a small blueprint (``synth.py``'s CodeForge form, ``--files`` files) as a
   git repository tagged ``v1.0.0``;
2. starts the forge contract server of the tests (``tests/integrations/forge_contract.py``:
   GitHub REST v3 on 127.0.0.1, fronting a real ``git http-backend``);
3. makes ``--projects`` projects with ``codeforge init`` and publishes each with
   ``codeforge publish --to github`` (untimed; all recorded in one data folder);
4. changes one file of the blueprint, says ``version: 2.0.0`` and tags ``v2.0.0``;
5. times ONE whole process: ``codeforge fleet update --pr --concurrency W --json``
   (start-up, the status of every project, each update in its scratch worktree,
   the commit, the ``git push`` to the server, the pull request), ``--runs`` times:
   between runs the remote branches and pull requests are removed (untimed), so
   every run opens N pull requests again;
6. checks after every run that every project reports ``pr-opened`` and that the
   server holds N open pull requests whose branch has the update.

Usage::

    .venv/bin/python benchmarks/bench_fleet.py                       # 50 projects, 2 workers
    .venv/bin/python benchmarks/bench_fleet.py --projects 20 --runs 3 --json
    .venv/bin/python benchmarks/bench_fleet.py --against ../old/src   # A/B, back to back
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
TOKEN = "ghp_" + "BenchFleet" * 4
TARGET_RATE = 5.0


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def git(cwd: Path, *args: str) -> str:
    return run(["git", *args], os.environ.copy(), cwd).strip()


def blueprint(root: Path, files: int) -> Path:
    """The synthetic CodeForge blueprint in a git repository tagged v1.0.0."""
    source = synth.build(root / "synth", files).codeforge
    git(source, "init", "-q", "--initial-branch=main", "--template=")
    git(source, "add", "-A")
    git(source, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "v1")
    git(source, "tag", "v1.0.0")
    return source


def release_two(source: Path) -> None:
    definition = source / "blueprint.yaml"
    text = definition.read_text(encoding="utf-8")
    definition.write_text(text.replace("version: 1.0.0", "version: 2.0.0"), encoding="utf-8")
    (source / "template" / "FLEET.md").write_text("added in 2.0.0\n", encoding="utf-8")
    git(source, "add", "-A")
    git(source, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "v2")
    git(source, "tag", "v2.0.0")


def make_fleet(forge: ForgeContract, source: Path, out: Path, env: dict[str, str], n: int) -> None:
    for index in range(n):
        name = f"p{index:03d}"
        run([str(CODEFORGE), "init", name, "-t", str(source), "--defaults", "-o", str(out)], env)
        run(
            [str(CODEFORGE), "publish", str(out / name), "--to", "github", "--host", forge.url], env
        )


def reset_remote(forge: ForgeContract) -> None:
    """Drop every update branch and pull request (so the next run opens them again)."""
    for repo in forge.repos.values():
        repo.pulls.clear()
        for branch in repo.branches():
            if branch != "main":
                git(repo.bare, "update-ref", "-d", f"refs/heads/{branch}")


def one_run(
    forge: ForgeContract, env: dict[str, str], n: int, workers: int, profile: str | None = None
) -> float:
    args = [str(CODEFORGE), "fleet", "update", "--pr", "--concurrency", str(workers), "--json"]
    if profile:
        args = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "codeforge", *args[1:]]
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"fleet update failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    outcomes = json.loads(proc.stdout)
    statuses = {o["status"] for o in outcomes}
    opened = sum(len(repo.pulls) for repo in forge.repos.values())
    if statuses != {"pr-opened"} or len(outcomes) != n or opened != n:
        raise SystemExit(f"expected {n} pull requests opened, got {statuses} and {opened}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", help="write a cProfile of the last run to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--against", help="another tree's src folder: its runs alternate with this tree's"
    )
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cf-bench-fleet-"))
    env = {
        **os.environ,
        "CODEFORGE_CONFIG_DIR": str(root / "config"),
        "CODEFORGE_DATA_DIR": str(root / "data"),
        "CODEFORGE_CACHE_DIR": str(root / "cache"),
        "GITHUB_TOKEN": TOKEN,
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("CODEFORGE_DATABASE_URL", None)
    try:
        with running_contract() as forge:
            forge.tokens[TOKEN] = Account("bench", "Bench", ["repo", "workflow"])
            source = blueprint(root, options.files)
            setup = time.perf_counter()
            make_fleet(forge, source, root / "out", env, options.projects)
            setup = time.perf_counter() - setup
            release_two(source)
            times, other = [], []
            for index in range(options.runs):
                last = index == options.runs - 1
                profile = options.profile if last else None
                # With --against, the two trees alternate (who goes first too), so both
                # see the same fleet and, as far as can be, the same machine load.
                order = ["this", "other"] if options.against and index % 2 == 0 else ["this"]
                if options.against and index % 2:
                    order = ["other", "this"]
                for tree in order:
                    reset_remote(forge)
                    if tree == "this":
                        times.append(
                            one_run(forge, env, options.projects, options.workers, profile)
                        )
                        continue
                    against = {**env, "PYTHONPATH": str(Path(options.against).resolve())}
                    other.append(one_run(forge, against, options.projects, options.workers))
    finally:
        if options.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    median = statistics.median(times)
    report: dict[str, Any] = {
        "projects": options.projects,
        "workers": options.workers,
        "files": options.files,
        "runs_s": [round(t, 3) for t in times],
        "median_s": round(median, 3),
        "projects_per_s": round(options.projects / median, 2),
        "target_projects_per_s": TARGET_RATE,
        "met": options.projects / median >= TARGET_RATE,
        "setup_s": round(setup, 1),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg()[0],
    }
    if other:
        report["against"] = {
            "src": options.against,
            "runs_s": [round(t, 3) for t in other],
            "median_s": round(statistics.median(other), 3),
            "projects_per_s": round(options.projects / statistics.median(other), 2),
        }
    if options.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"fleet update --pr: {options.projects} projects, {options.workers} workers: "
        f"median {median:.2f} s = {report['projects_per_s']} projects/s "
        f"(target >= {TARGET_RATE}: {'met' if report['met'] else 'MISSED'}); runs {report['runs_s']}"
    )
    if other:
        shown = report["against"]
        print(f"against {options.against}: median {shown['median_s']} s = "
              f"{shown['projects_per_s']} projects/s; runs {shown['runs_s']}")  # fmt: skip


if __name__ == "__main__":
    main()
