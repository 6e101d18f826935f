"""Benchmark: CodeForge vs cookiecutter vs copier on synthetic templates.

Every measurement is a WHOLE PROCESS (interpreter start-up, imports, reading the
template, rendering, writing): what a user waits for at the terminal.

For each size N the script

1. writes the synthetic template in three equivalent forms (``synth.py``);
2. generates once with each tool and checks that the three projects are
   byte-identical (same file list, same bytes; each tool's answers file is left
   out) — and aborts with a diff summary when they are not;
3. times the tools interleaved (run r runs every tool once, in a rotating
   order), ``--runs`` times each, and records each child's peak RSS through
   ``os.wait4``;

then times ``codeforge --version`` against ``python -c pass`` and writes a
markdown report to stdout and ``benchmarks/results/latest.md``.

CodeForge is measured twice:

* ``codeforge (cold)`` — a new, empty ``CODEFORGE_CACHE_DIR`` for every run
  (what the first generation from a blueprint costs);
* ``codeforge (warm)`` — one shared cache dir, warmed by an untimed run.

``CODEFORGE_CONFIG_DIR`` / ``CODEFORGE_DATA_DIR`` / ``HOME`` / ``XDG_*`` point at
temporary folders so the user's own settings, caches and cookiecutter replay
files are neither read nor written.

Usage::

    .venv/bin/python benchmarks/bench_generate.py            # full: 10,100,1000,5000 x 5
    .venv/bin/python benchmarks/bench_generate.py --quick    # 10,100,1000 x 3
    .venv/bin/python benchmarks/bench_generate.py --sizes 1000 --runs 7 \\
        --tools codeforge,cookiecutter
    .venv/bin/python benchmarks/bench_generate.py --check-only --sizes 10,1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ANSWERS_FILES = frozenset({".codeforge-answers.yml", ".copier-answers.yml"})
ALL_TOOLS = ("codeforge", "cookiecutter", "copier")

# Targets (see README.md).
TARGET_WARM_VS_COOKIECUTTER = 10.0
TARGET_WARM_VS_COPIER = 20.0
TARGET_COLD_VS_COOKIECUTTER = 2.0
TARGET_VERSION_VS_PYTHON = 3.0
TARGET_PEAK_RSS_MB = 60.0
TARGET_N = 1000
RSS_N = 5000


def default_bin() -> Path:
    venv = ROOT / ".venv" / "bin"
    return venv if (venv / "python").exists() else Path(sys.executable).parent


# --------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------


def codeforge_cmd(bindir: Path, template: Path, out: Path) -> list[str]:
    cmd = [
        str(bindir / "codeforge"),
        "init",
        synth.PROJECT_NAME,
        "-t",
        str(template),
        "-o",
        str(out),
        "--defaults",
        "--no-git",
    ]
    for key, value in synth.DATA.items():
        cmd += ["--data", f"{key}={value}"]
    return cmd


def cookiecutter_cmd(bindir: Path, template: Path, out: Path) -> list[str]:
    cmd = [
        str(bindir / "cookiecutter"),
        "--no-input",
        "-o",
        str(out),
        str(template),
        f"project_name={synth.PROJECT_NAME}",
    ]
    cmd += [f"{key}={value}" for key, value in synth.DATA.items()]
    return cmd


def copier_cmd(bindir: Path, template: Path, out: Path) -> list[str]:
    # --quiet: no per-file log on stderr (it only makes copier slower).
    cmd = [
        str(bindir / "copier"),
        "copy",
        "--defaults",
        "--quiet",
        "-d",
        f"project_name={synth.PROJECT_NAME}",
    ]
    for key, value in synth.DATA.items():
        if key == "features":  # a `yaml` question: give a YAML list
            value = "[" + ", ".join(value.split(",")) + "]"
        cmd += ["-d", f"{key}={value}"]
    return [*cmd, str(template), str(out)]


# The floor: a bare Python process that reads a finished project and writes the
# same files (makedirs + open/write, no template engine). No Python tool can
# generate the project faster on the same file system.
FLOOR_CODE = """
import os, sys
src, dst = sys.argv[1], sys.argv[2]
for d, _, names in os.walk(src):
    t = os.path.join(dst, os.path.relpath(d, src))
    os.makedirs(t, exist_ok=True)
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            data = f.read()
        with open(os.path.join(t, n), "wb") as f:
            f.write(data)
"""


def floor_cmd(bindir: Path, reference: Path, out: Path) -> list[str]:
    return [str(bindir / "python"), "-c", FLOOR_CODE, str(reference), str(out)]


COMMANDS = {
    "codeforge": codeforge_cmd,
    "cookiecutter": cookiecutter_cmd,
    "copier": copier_cmd,
    "floor": floor_cmd,
}


def project_root(tool: str, out: Path) -> Path:
    """Where a tool put the generated project inside its ``-o`` folder."""
    if tool == "cookiecutter":
        return out / synth.PROJECT_NAME  # {{cookiecutter.project_slug}} == project_name here
    if tool == "copier":
        return out
    # codeforge: OUT/<name> or OUT itself, whichever holds the answers file.
    for cand in (out / synth.PROJECT_NAME, out):
        if (cand / ".codeforge-answers.yml").exists():
            return cand
    if (out / synth.PROJECT_NAME).is_dir():
        return out / synth.PROJECT_NAME
    return out


# --------------------------------------------------------------------------
# Isolated environment
# --------------------------------------------------------------------------


class Sandbox:
    """Temporary HOME / XDG / CODEFORGE_* folders for every child process."""

    def __init__(self, base: Path) -> None:
        self.base = base
        for name in (
            "home",
            "config",
            "data",
            "cache-warm",
            "xdg-config",
            "xdg-data",
            "xdg-cache",
            "cold",
            "out",
        ):
            (base / name).mkdir(parents=True, exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CODEFORGE_", "COOKIECUTTER_", "COPIER_"))
        }
        env.update(
            HOME=str(base / "home"),
            XDG_CONFIG_HOME=str(base / "xdg-config"),
            XDG_DATA_HOME=str(base / "xdg-data"),
            XDG_CACHE_HOME=str(base / "xdg-cache"),
            CODEFORGE_CONFIG_DIR=str(base / "config"),
            CODEFORGE_DATA_DIR=str(base / "data"),
            CODEFORGE_CACHE_DIR=str(base / "cache-warm"),
            NO_COLOR="1",
            TERM="dumb",
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env = env
        self._n = 0

    def fresh_dir(self, kind: str) -> Path:
        self._n += 1
        path = self.base / kind / f"{self._n:05d}"
        path.mkdir(parents=True)
        return path

    def env_for(self, cache_dir: Path | None = None) -> dict[str, str]:
        env = dict(self.env)
        if cache_dir is not None:
            env["CODEFORGE_CACHE_DIR"] = str(cache_dir)
        return env


# --------------------------------------------------------------------------
# Running one child
# --------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    pass


@dataclass
class Sample:
    seconds: float
    maxrss_kb: int


# Why a launcher: on Linux a child's ru_maxrss starts from the high-water mark of
# the process that forked it (the mm is copied, or shared by vfork, and its
# hiwater is folded into the child's maxrss at exec). Spawned straight from this
# script, `python -c pass` would "use" as much memory as the benchmark itself.
# So every child is spawned by a tiny `python -S` launcher that times it and
# reads its rusage; the launcher's own mark (~10 MB, below any Python tool's
# real peak) is the floor. The launcher's start-up is not in the timing.
LAUNCHER_CODE = """
import os, sys, time
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
cmd = sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_DUP2, log, 1),
    (os.POSIX_SPAWN_DUP2, log, 2),
])
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - t0
sys.stdout.write(f"{elapsed!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def launcher_python() -> str:
    return sys.executable


def run_child(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> tuple[Sample, str]:
    """Run cmd to completion; its wall time and peak RSS (wait4 in the launcher)."""
    with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log") as out:
        proc = subprocess.run(
            [launcher_python(), "-S", "-c", LAUNCHER_CODE, out.name, *cmd],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        text = Path(out.name).read_bytes().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise ChildFailed(f"launcher failed ({proc.returncode}): {proc.stderr[-2000:]}")
    seconds, maxrss, returncode = proc.stdout.split()
    if log is not None:
        log.write_text(text, encoding="utf-8")
    if int(returncode) != 0:
        tail = "\n".join(text.splitlines()[-30:])
        raise ChildFailed(f"exit {returncode}: {' '.join(cmd)}\n{tail}")
    return Sample(float(seconds), int(maxrss)), text


# --------------------------------------------------------------------------
# Comparing outputs
# --------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bytes, bool]]:
    """relative posix path -> (bytes, executable?) for every file under root."""
    files: dict[str, tuple[bytes, bool]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in ANSWERS_FILES:
                continue
            files[rel] = (path.read_bytes(), bool(path.stat().st_mode & 0o100))
    return files


def _first_diff(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare(
    ref_name: str,
    ref: dict[str, tuple[bytes, bool]],
    other_name: str,
    other: dict[str, tuple[bytes, bool]],
    max_files: int = 6,
) -> tuple[list[str], list[str]]:
    """(errors, warnings) describing how `other` differs from `ref`."""
    errors: list[str] = []
    warnings: list[str] = []
    missing = sorted(set(ref) - set(other))
    extra = sorted(set(other) - set(ref))
    if missing:
        errors.append(
            f"{len(missing)} file(s) made by {ref_name} but not by {other_name}: "
            + ", ".join(missing[:10])
            + (" …" if len(missing) > 10 else "")
        )
    if extra:
        errors.append(
            f"{len(extra)} file(s) made by {other_name} but not by {ref_name}: "
            + ", ".join(extra[:10])
            + (" …" if len(extra) > 10 else "")
        )
    differing = [p for p in sorted(set(ref) & set(other)) if ref[p][0] != other[p][0]]
    if differing:
        errors.append(f"{len(differing)} file(s) differ in content ({ref_name} → {other_name}):")
        for rel in differing[:max_files]:
            a, b = ref[rel][0], other[rel][0]
            try:
                ta, tb = a.decode("utf-8"), b.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(
                    f"  {rel}: binary, {len(a)} vs {len(b)} bytes, "
                    f"first difference at byte {_first_diff(a, b)}"
                )
                continue
            diff = list(
                difflib.unified_diff(
                    ta.splitlines(keepends=True),
                    tb.splitlines(keepends=True),
                    f"{ref_name}/{rel}",
                    f"{other_name}/{rel}",
                    n=1,
                )
            )
            shown = "".join(diff[:24]).rstrip("\n")
            if not shown:  # only a trailing-newline / line-ending difference
                shown = f"(same lines; bytes end {a[-12:]!r} vs {b[-12:]!r})"
            errors.append("  " + rel + ":\n" + "\n".join("    " + ln for ln in shown.splitlines()))
        if len(differing) > max_files:
            errors.append(f"  … and {len(differing) - max_files} more")
    modes = [p for p in sorted(set(ref) & set(other)) if ref[p][1] != other[p][1]]
    if modes:
        warnings.append(
            f"executable bit differs ({ref_name} vs {other_name}) for "
            f"{len(modes)} file(s): " + ", ".join(modes[:5])
        )
    return errors, warnings


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------


@dataclass
class Cell:
    samples: list[Sample] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    def median(self) -> float:
        return statistics.median(self.times)

    def min(self) -> float:
        return min(self.times)

    def p90(self) -> float:
        t = sorted(self.times)
        if len(t) == 1:
            return t[0]
        return statistics.quantiles(t, n=10, method="inclusive")[-1]

    def peak_mb(self) -> float:
        return max(s.maxrss_kb for s in self.samples) / 1024


@dataclass
class Variant:
    label: str
    tool: str
    cache: str | None = None  # "cold" | "warm" for codeforge


FLOOR_LABEL = "floor: python writes the files"


def variants_for(tools: Sequence[str], floor: bool = True) -> list[Variant]:
    out: list[Variant] = [Variant(FLOOR_LABEL, "floor")] if floor else []
    for tool in tools:
        if tool == "codeforge":
            out += [
                Variant("codeforge (warm)", tool, "warm"),
                Variant("codeforge (cold)", tool, "cold"),
            ]
        else:
            out.append(Variant(tool, tool))
    return out


class Bench:
    def __init__(self, bindir: Path, workdir: Path, tools: Sequence[str]) -> None:
        self.bindir = bindir
        self.workdir = workdir
        self.tools = list(tools)
        self.sandbox = Sandbox(workdir / "sandbox")
        self.notes: list[str] = []
        self.reference: dict[int, Path] = {}
        self.floor = True

    def _run(
        self, v: Variant, forms: synth.Forms, log: Path | None = None
    ) -> tuple[Sample, Path, str]:
        out = self.sandbox.fresh_dir("out")
        cache = None
        if v.cache == "cold":
            cache = self.sandbox.fresh_dir("cold")
        src = self.reference[forms.n] if v.tool == "floor" else forms.path(v.tool)
        cmd = COMMANDS[v.tool](self.bindir, src, out)
        try:
            sample, text = run_child(cmd, self.sandbox.env_for(cache), self.workdir, log)
        finally:
            if cache is not None:
                shutil.rmtree(cache, ignore_errors=True)
        return sample, out, text

    def check_identical(self, forms: synth.Forms) -> list[str]:
        """Generate once with each tool; raise SystemExit with a summary on mismatch."""
        snaps: dict[str, dict[str, tuple[bytes, bool]]] = {}
        warnings: list[str] = []
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        for tool in self.tools:
            v = Variant(tool, tool, "warm" if tool == "codeforge" else None)
            log = logs / f"{tool}-n{forms.n}.log"
            _, out, text = self._run(v, forms, log)
            if text.strip() and any(w in text.lower() for w in ("warn", "error", "deprecat")):
                first = "; ".join(text.strip().splitlines()[:3])
                warnings.append(f"{tool} N={forms.n} printed: {first[:300]}")
            snaps[tool] = snapshot(project_root(tool, out))
            kept = self.workdir / f"reference-{forms.n}-{tool}"
            shutil.move(project_root(tool, out), kept)
            shutil.rmtree(out, ignore_errors=True)
            if tool == "cookiecutter" or forms.n not in self.reference:
                self.reference[forms.n] = kept  # what the floor run copies
        ref = "cookiecutter" if "cookiecutter" in snaps else self.tools[0]
        errors: list[str] = []
        n_files = len(snaps[ref])
        if n_files != forms.n:
            errors.append(f"{ref} made {n_files} files, expected {forms.n}")
        for tool in self.tools:
            if tool == ref:
                continue
            errs, warns = compare(ref, snaps[ref], tool, snaps[tool])
            errors += errs
            warnings += warns
        if errors:
            msg = (
                f"OUTPUTS DIFFER for N={forms.n} (answers files excluded; "
                f"templates in {forms.root}):\n" + "\n".join(errors)
            )
            raise SystemExit(msg)
        return warnings

    def time_size(self, forms: synth.Forms, runs: int) -> dict[str, Cell]:
        vs = variants_for(self.tools, self.floor)
        cells = {v.label: Cell() for v in vs}
        for r in range(runs):
            k = r % len(vs)
            for v in vs[k:] + vs[:k]:  # rotate the order each round
                sample, out, _ = self._run(v, forms)
                shutil.rmtree(out)
                os.sync()  # start every run with no write-back pending from the last one
                cells[v.label].samples.append(sample)
            print(
                f"  N={forms.n} round {r + 1}/{runs}: "
                + ", ".join(f"{lbl} {c.samples[-1].seconds:.3f}s" for lbl, c in cells.items()),
                file=sys.stderr,
                flush=True,
            )
        return cells

    def time_version(self, runs: int) -> dict[str, Cell]:
        cmds = {
            "python -c pass": [str(self.bindir / "python"), "-c", "pass"],
            "codeforge --version": [str(self.bindir / "codeforge"), "--version"],
        }
        cells = {k: Cell() for k in cmds}
        env = self.sandbox.env_for()
        for cmd in cmds.values():  # warm-up
            run_child(cmd, env, self.workdir)
        for r in range(runs):
            items = list(cmds.items())
            if r % 2:
                items.reverse()
            for label, cmd in items:
                cells[label].samples.append(run_child(cmd, env, self.workdir)[0])
        return cells


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _tool_version(bindir: Path, tool: str) -> str:
    code = {
        "codeforge": "import codeforge as m; print(m.__version__)",
        "cookiecutter": "import cookiecutter as m; print(m.__version__)",
        "copier": "from importlib.metadata import version; print(version('copier'))",
    }[tool]
    try:
        return subprocess.run(
            [str(bindir / "python"), "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    except subprocess.CalledProcessError:
        return "?"


def filesystem_of(path: Path) -> str:
    """'ext4 on /dev/vda' for the mount holding path (Linux), else '?'."""
    best, desc = "", "?"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return desc
    target = str(path.resolve())
    for line in mounts:
        dev, mnt, fstype = line.split()[:3]
        inside = target == mnt or target.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, desc = mnt, f"{fstype} ({dev} on {mnt})"
    return desc


def loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def report(
    results: dict[int, dict[str, Cell]],
    version: dict[str, Cell] | None,
    tools: Sequence[str],
    runs: int,
    bindir: Path,
    notes: Sequence[str],
    env_info: Sequence[str] = (),
) -> str:
    cpu = os.cpu_count()
    lines = [
        "# CodeForge generation benchmark",
        "",
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {cpu} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        *[f"- {line}" for line in env_info],
        "- versions: " + ", ".join(f"{t} {_tool_version(bindir, t)}" for t in tools),
        f"- {runs} runs per cell, tools interleaved; whole-process wall time; "
        "peak RSS = max `ru_maxrss` of the child over the runs",
        "- outputs checked byte-identical first (answers files excluded)",
        "",
        "## Generation",
        "",
        "| N | tool | median s | min s | p90 s | peak RSS MB | × codeforge warm |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, cells in results.items():
        base = cells.get("codeforge (warm)")
        for label, cell in cells.items():
            ratio = f"{cell.median() / base.median():.1f}×" if base else "–"
            lines.append(
                f"| {n} | {label} | {cell.median():.3f} | {cell.min():.3f} | "
                f"{cell.p90():.3f} | {cell.peak_mb():.1f} | {ratio} |"
            )
    lines += ["", "## Targets", "", "| target | measured | goal | result |", "|---|---:|---:|---|"]

    def ratio(n: int, slow: str, fast: str) -> float | None:
        cells = results.get(n, {})
        if slow in cells and fast in cells:
            return cells[slow].median() / cells[fast].median()
        return None

    def fmt(x: float | None, unit: str = "×") -> str:
        return "–" if x is None else f"{x:.1f}{unit}"

    r1 = ratio(TARGET_N, "cookiecutter", "codeforge (warm)")
    r2 = ratio(TARGET_N, "copier", "codeforge (warm)")
    r3 = ratio(TARGET_N, "cookiecutter", "codeforge (cold)")
    lines.append(
        f"| warm N={TARGET_N}: cookiecutter / codeforge | {fmt(r1)} | "
        f"≥ {TARGET_WARM_VS_COOKIECUTTER:g}× | "
        f"{_verdict(None if r1 is None else r1 >= TARGET_WARM_VS_COOKIECUTTER)} |"
    )
    lines.append(
        f"| warm N={TARGET_N}: copier / codeforge | {fmt(r2)} | "
        f"≥ {TARGET_WARM_VS_COPIER:g}× | "
        f"{_verdict(None if r2 is None else r2 >= TARGET_WARM_VS_COPIER)} |"
    )
    lines.append(
        f"| cold N={TARGET_N}: cookiecutter / codeforge | {fmt(r3)} | "
        f"≥ {TARGET_COLD_VS_COOKIECUTTER:g}× | "
        f"{_verdict(None if r3 is None else r3 >= TARGET_COLD_VS_COOKIECUTTER)} |"
    )
    rv = None
    if version:
        rv = version["codeforge --version"].median() / version["python -c pass"].median()
    lines.append(
        f"| `codeforge --version` / `python -c pass` | {fmt(rv)} | "
        f"≤ {TARGET_VERSION_VS_PYTHON:g}× | "
        f"{_verdict(None if rv is None else rv <= TARGET_VERSION_VS_PYTHON)} |"
    )
    rss = None
    big = results.get(RSS_N, {})
    cf = [c for k, c in big.items() if k.startswith("codeforge")]
    if cf:
        rss = max(c.peak_mb() for c in cf)
    lines.append(
        f"| peak RSS of codeforge at N={RSS_N} | {fmt(rss, ' MB')} | "
        f"≤ {TARGET_PEAK_RSS_MB:g} MB | "
        f"{_verdict(None if rss is None else rss <= TARGET_PEAK_RSS_MB)} |"
    )
    if version:
        lines += [
            "",
            f"## Start-up (median of {len(version['python -c pass'].samples)})",
            "",
            "| command | median ms | min ms | p90 ms | peak RSS MB |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, cell in version.items():
            lines.append(
                f"| `{label}` | {cell.median() * 1000:.1f} | {cell.min() * 1000:.1f} | "
                f"{cell.p90() * 1000:.1f} | {cell.peak_mb():.1f} |"
            )
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100,1000,5000", help="comma-separated N")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and size")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--quick", action="store_true", help="sizes 10,100,1000; 3 runs")
    ap.add_argument("--version-runs", type=int, default=20)
    ap.add_argument(
        "--check-only", action="store_true", help="only check the three outputs are identical"
    )
    ap.add_argument(
        "--bin",
        type=Path,
        default=default_bin(),
        help="folder holding codeforge, cookiecutter, copier, python",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / "benchmarks" / "work",
        help="base folder; each run works in its own run-PID-* folder inside it",
    )
    ap.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument(
        "--no-floor", action="store_true", help="skip the 'python writes the files' floor row"
    )
    args = ap.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s]
    runs = args.runs
    if args.quick:
        if args.sizes == ap.get_default("sizes"):
            sizes = [10, 100, 1000]
        runs = min(runs, 3)
        args.version_runs = min(args.version_runs, 10)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := set(tools) - set(ALL_TOOLS):
        ap.error(f"unknown tool(s): {', '.join(sorted(unknown))}")
    for t in tools:
        if not (args.bin / t).exists():
            ap.error(f"{args.bin / t} not found")

    # A private folder per run: two benchmarks started at once must not delete
    # each other's templates (the base folder itself is never removed).
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=args.workdir))
    bench = Bench(args.bin, args.workdir, tools)
    bench.floor = not args.no_floor
    env_info = [
        f"work dir (templates and outputs): {args.workdir} — {filesystem_of(args.workdir)}",
        f"load average at start: {loadavg()}",
    ]
    notes: list[str] = []
    results: dict[int, dict[str, Cell]] = {}
    try:
        for n in sizes:
            forms = synth.build(args.workdir / f"templates-{n}", n)
            print(f"N={n}: checking outputs are identical …", file=sys.stderr, flush=True)
            notes += bench.check_identical(forms)
            if args.check_only:
                print(f"N={n}: identical ({n} files)", file=sys.stderr)
                continue
            results[n] = bench.time_size(forms, runs)
        if args.check_only:
            return 0
        version = None
        if "codeforge" in tools and args.version_runs > 0:
            print("timing --version …", file=sys.stderr, flush=True)
            version = bench.time_version(args.version_runs)
    except ChildFailed as exc:
        args.keep = True
        print(f"a tool failed: {exc}\n(work dir kept: {args.workdir})", file=sys.stderr)
        return 1
    except SystemExit:
        args.keep = True  # keep the templates and logs named in the message
        raise
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)

    env_info.append(f"load average at end: {loadavg()}")
    text = report(results, version, tools, runs, args.bin, notes, env_info)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
