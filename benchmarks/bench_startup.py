"""CPU cost of `codeforge init` from two source trees, side by side.

Runs the same console command (`codeforge init` on the synthetic blueprint,
`codeforge --help`, `codeforge --version`) with two CodeForge source trees on one
interpreter (``PYTHONPATH=TREE/src``), alternating tree A and tree B run by run,
and compares the medians of each process's CPU time (user + sys, from
``os.wait4``; includes a forked compile helper, which the process reaps). CPU
time, not wall time: on a loaded machine it is far less noisy.

    python benchmarks/bench_startup.py --old /path/to/old/tree [--new .] \
        [--sizes 100,1000] [--runs 40] [--workdir /dev/shm/cf-startup]

See benchmarks/README.md ("Start-up: bench_startup.py").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from bench_generate import Sandbox

LAUNCH = "import sys; from codeforge.__main__ import main; sys.exit(main())"


@dataclass
class Tree:
    label: str
    src: Path
    cache: Path
    cpu: dict[str, list[float]] = field(default_factory=dict)


def init_args(template: Path, out: Path) -> list[str]:
    args = ["init", synth.PROJECT_NAME, "-t", str(template), "-o", str(out)]
    args += ["--defaults", "--no-git"]
    for key, value in synth.DATA.items():
        args += ["--data", f"{key}={value}"]
    return args


def base_env(home: Path) -> dict[str, str]:
    """The isolated environment of bench_generate (temporary HOME, XDG and CODEFORGE_* folders)."""
    return Sandbox(home).env


def cpu_of(args: Sequence[str], env: dict[str, str], src: Path, cache: Path) -> float:
    """Run one console command with src on the path; its user+sys seconds."""
    child_env = dict(env, PYTHONPATH=str(src), CODEFORGE_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-c", LAUNCH, *args]
    pid = os.posix_spawn(
        sys.executable,
        cmd,
        child_env,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
        ],
    )
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{src}: exit {code}: codeforge {' '.join(args)}")
    return usage.ru_utime + usage.ru_stime


def check_tree(src: Path) -> None:
    if not (src / "codeforge" / "__init__.py").is_file():
        raise SystemExit(f"no codeforge package under {src}")


def cases(work: Path, sizes: Sequence[int]) -> list[tuple[str, list[str], bool]]:
    """(name, argv, cold) for every measured command."""
    found: list[tuple[str, list[str], bool]] = [
        ("--version", ["--version"], False),
        ("--help", ["--help"], False),
    ]
    for n in sizes:
        forms = synth.build(work / f"synth-{n}", n)
        out = work / "out"
        found.append((f"init {n} warm", init_args(forms.codeforge, out), False))
        found.append((f"init {n} cold", init_args(forms.codeforge, out), True))
    return found


def measure(trees: list[Tree], work: Path, sizes: Sequence[int], runs: int) -> list[str]:
    env = base_env(work / "env")
    names: list[str] = []
    for name, args, cold in cases(work, sizes):
        names.append(name)
        out = work / "out"
        for tree in trees:  # untimed: fill each tree's warm cache, write the .pyc files
            cpu_of(args, env, tree.src, tree.cache)
            shutil.rmtree(out, ignore_errors=True)
        for r in range(runs):
            order = trees if r % 2 == 0 else trees[::-1]
            for tree in order:
                cache = tree.cache
                if cold:
                    cache = Path(tempfile.mkdtemp(prefix="cold-", dir=work))
                tree.cpu.setdefault(name, []).append(cpu_of(args, env, tree.src, cache))
                shutil.rmtree(out, ignore_errors=True)
                if cold:
                    shutil.rmtree(cache, ignore_errors=True)
        print(f"  {name}: done", file=sys.stderr)
    return names


def report(trees: list[Tree], names: list[str], runs: int) -> str:
    a, b = trees
    lines = [
        f"CPU time (user+sys), median of {runs} alternating runs each",
        f"A = {a.label} ({a.src})",
        f"B = {b.label} ({b.src})",
        "",
        "| command | A median ms | B median ms | B / A |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in names:
        ma = statistics.median(a.cpu[name]) * 1000
        mb = statistics.median(b.cpu[name]) * 1000
        lines.append(f"| {name} | {ma:.1f} | {mb:.1f} | {mb / ma:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="tree A (its src/ is used)")
    parser.add_argument("--new", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--sizes", default="100,1000", help="synthetic blueprint sizes")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--workdir", type=Path, default=None, help="scratch (default: a temp dir)")
    opts = parser.parse_args(argv)
    sizes = [int(s) for s in opts.sizes.split(",") if s]
    base = opts.workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cf-startup-", dir=base))
    try:
        trees = []
        for label, root in (("old", opts.old), ("new", opts.new)):
            src = root.resolve() / "src"
            check_tree(src)
            trees.append(Tree(label, src, work / f"cache-{label}"))
        names = measure(trees, work, sizes, opts.runs)
        print(report(trees, names, opts.runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
