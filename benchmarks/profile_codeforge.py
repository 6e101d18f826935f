"""Where does one `codeforge init` spend its time? (a helper, not a benchmark)

Builds the synthetic blueprint of N files, then runs ONE `codeforge init` on it

* under ``python -X importtime``  → the slowest imports (self and cumulative);
* under ``cProfile``              → the top functions by cumulative / own time;

each with a warm CodeForge cache (one untimed run first) unless ``--cold``.

    .venv/bin/python benchmarks/profile_codeforge.py --n 1000
    .venv/bin/python benchmarks/profile_codeforge.py --n 1000 --cold --top 40
    .venv/bin/python benchmarks/profile_codeforge.py --version-only   # `codeforge --version`
"""

from __future__ import annotations

import argparse
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_generate as bg
import synth


def _importtime(stderr: str, top: int) -> list[str]:
    rows = []  # (self us, cumulative us, depth, module)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, rest = line.split(":", 1)
        self_us, cum_us, raw = rest.split("|", 2)
        depth = (len(raw) - len(raw.lstrip()) - 1) // 2
        rows.append((int(self_us), int(cum_us), depth, raw.strip()))
    total = sum(c for _, c, d, _ in rows if d == 0)
    out = [f"imports: {len(rows)} modules, {total / 1000:.1f} ms in all (sum of top-level)"]
    out.append(f"-- top {top} by cumulative time: cumulative ms, self ms, module --")
    for s, c, d, n in sorted(rows, key=lambda r: -r[1])[:top]:
        out.append(f"{c / 1000:8.1f} {s / 1000:8.1f}  {'  ' * d}{n}")
    out.append(f"-- top {top} by self time: self ms, cumulative ms, module --")
    for s, c, _, n in sorted(rows, key=lambda r: -r[0])[:top]:
        out.append(f"{s / 1000:8.1f} {c / 1000:8.1f}  {n}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--cold", action="store_true", help="empty CODEFORGE_CACHE_DIR")
    ap.add_argument("--version-only", action="store_true")
    ap.add_argument("--bin", type=Path, default=bg.default_bin())
    ap.add_argument("--keep", type=Path, help="save the .prof file here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cf-prof-") as tmp:
        base = Path(tmp)
        sandbox = bg.Sandbox(base / "sandbox")
        forms = synth.build(base / "templates", max(args.n, 10))
        python = str(args.bin / "python")
        out = sandbox.fresh_dir("out")
        cli_args = bg.codeforge_cmd(args.bin, forms.codeforge, out)[1:]
        if args.version_only:
            cli_args = ["--version"]
        env = sandbox.env_for(sandbox.fresh_dir("cold") if args.cold else None)
        if not args.cold and not args.version_only:
            bg.run_child(bg.codeforge_cmd(args.bin, forms.codeforge, out), env, base)
        runner = "from codeforge.__main__ import main; import sys; sys.exit(main())"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            if args.cold:
                cache = Path(env["CODEFORGE_CACHE_DIR"])
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()

        fresh()
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", runner, *cli_args],
            env=env,
            cwd=base,
            capture_output=True,
            text=True,
            check=False,
        )
        print("\n".join(_importtime(proc.stderr, args.top)))

        fresh()
        prof = base / "run.prof"
        code = (
            "import cProfile, sys; sys.argv = ['codeforge', *sys.argv[1:]]\n"
            f"cProfile.run({runner!r}, {str(prof)!r})"
        )
        subprocess.run(
            [python, "-c", code, *cli_args], env=env, cwd=base, check=False, capture_output=True
        )
        if not prof.exists():
            print("cProfile produced no file (did the run fail?)", file=sys.stderr)
            return 1
        stats = pstats.Stats(str(prof))
        print(f"\n-- cProfile, top {args.top} by cumulative time --")
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"-- cProfile, top {args.top} by own time --")
        stats.sort_stats("tottime").print_stats(args.top)
        if args.keep:
            shutil.copy(prof, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
