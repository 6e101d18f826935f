"""Benchmark: ``codeforge update`` vs ``copier update`` vs ``cruft update``.

The update case of issue 3. For each size N the script

1. writes the synthetic template of ``synth.py`` in its three forms (CodeForge,
   copier, cookiecutter for cruft), each its own git repository tagged
   ``v1.0.0`` (copier's form gains the usual ``{{ _copier_conf.answers_file }}``
   template so that ``copier update`` has answers to start from);
2. generates a project with each tool (``codeforge init``, ``copier copy``,
   ``cruft create``), and commits it in a git repository of its own;
3. changes ONE file of each template (``.editorconfig`` gains two lines; the
   CodeForge definition also says ``version: 2.0.0``), commits and tags ``v2.0.0``;
4. times the updates, interleaved (round r runs every tool once, in an order
   rotated each round), ``--runs`` rounds: ``codeforge update --defaults``,
   ``copier update --defaults --skip-answered --quiet``, ``cruft update -y``,
   each a whole process started in the project folder. Between runs each
   project is put back with ``git reset --hard`` + ``git clean -fdq`` (untimed)
   — only in the benchmark's own temporary repositories;
5. checks after every run that the changed file really changed and nothing
   else did (the diff against the committed project is exactly that file, plus
   each tool's own answers/metadata file), and stops with the diff otherwise.

CodeForge runs warm (one ``CODEFORGE_CACHE_DIR``, filled by an untimed update:
the checked-out blueprint trees and compiled templates are reused) and cold (a
new empty cache for every run: it checks out both versions from git itself).
copier and cruft keep no cache: they clone the template on every update.

Usage::

    .venv/bin/python benchmarks/bench_update.py                    # N = 100,1000; 5 runs
    .venv/bin/python benchmarks/bench_update.py --sizes 1000 --runs 9
    .venv/bin/python benchmarks/bench_update.py --workdir /dev/shm/cf-upd --keep
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from bench_generate import (
    ROOT,
    ChildFailed,
    Sandbox,
    default_bin,
    filesystem_of,
    loadavg,
    run_child,
)

RESULTS = ROOT / "benchmarks" / "results"
TARGET_N = 1000
TARGET_VS_COPIER = 30.0
TARGET_VS_CRUFT = 10.0
CHANGED = ".editorconfig"
CHANGE = "\n[*.py]\nindent_size = 4\n"
TOOLS = ("codeforge-warm", "codeforge-cold", "copier", "cruft")
META_FILES = {
    "codeforge": {".codeforge-answers.yml"},
    "copier": {".copier-answers.yml"},
    "cruft": {".cruft.json"},
}
GIT_ID = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, **GIT_ID, **(env or {})}
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ChildFailed(f"git {' '.join(args)} in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    if tag:
        git(repo, "tag", tag)


# --------------------------------------------------------------------------
# Set-up: templates, projects, v2
# --------------------------------------------------------------------------


@dataclass
class Case:
    n: int
    templates: dict[str, Path]
    projects: dict[str, Path]
    expected: bytes  # the changed file as every tool must leave it


def changed_file(template_dir: Path, tool: str) -> Path:
    if tool == "codeforge":
        return template_dir / "template" / CHANGED
    if tool == "copier":
        return template_dir / "template" / (CHANGED + ".jinja")
    return template_dir / "{{cookiecutter.project_slug}}" / CHANGED


def prepare(base: Path, n: int, bindir: Path, sandbox: Sandbox) -> Case:
    forms = synth.build(base / "templates", n)
    templates = {"codeforge": forms.codeforge, "copier": forms.copier, "cruft": forms.cookiecutter}
    answers_tpl = forms.copier / "template" / "{{ _copier_conf.answers_file }}.jinja"
    answers_tpl.write_text("{{ _copier_answers|to_nice_yaml }}", encoding="utf-8")
    for path in templates.values():
        commit_all(path, "v1", "v1.0.0")
    env = sandbox.env_for()
    projects_dir = base / "projects"
    projects_dir.mkdir()
    cmd = [str(bindir / "codeforge"), "init", synth.PROJECT_NAME, "-t", str(forms.codeforge)]
    cmd += ["-o", str(projects_dir / "codeforge"), "--defaults"]
    for key, value in synth.DATA.items():
        cmd += ["--data", f"{key}={value}"]
    run_child(cmd, env, base)
    cf_project = projects_dir / "codeforge" / synth.PROJECT_NAME
    if not (cf_project / ".git").exists():
        commit_all(cf_project, "generated")
    cp_project = projects_dir / "copier"
    cmd = [str(bindir / "copier"), "copy", "--defaults", "--quiet", "--trust"]
    cmd += ["-d", f"project_name={synth.PROJECT_NAME}"]
    for key, value in synth.DATA.items():
        if key == "features":
            value = "[" + ", ".join(value.split(",")) + "]"
        cmd += ["-d", f"{key}={value}"]
    run_child([*cmd, str(forms.copier), str(cp_project)], env, base)
    commit_all(cp_project, "generated")
    extra = {"project_name": synth.PROJECT_NAME, **synth.DATA}
    cmd = [str(bindir / "cruft"), "create", "--no-input", "--output-dir"]
    cmd += [
        str(projects_dir / "cruft"),
        "--extra-context",
        json.dumps(extra),
        str(forms.cookiecutter),
    ]
    run_child(cmd, env, base)
    cr_project = projects_dir / "cruft" / synth.PROJECT_NAME
    commit_all(cr_project, "generated")
    projects = {"codeforge": cf_project, "copier": cp_project, "cruft": cr_project}
    # v2: one file changes in every form.
    for tool, path in templates.items():
        target = changed_file(path, tool)
        target.write_text(target.read_text(encoding="utf-8") + CHANGE, encoding="utf-8")
        if tool == "codeforge":
            definition = path / "blueprint.yaml"
            text = definition.read_text(encoding="utf-8")
            definition.write_text(text.replace("version: 1.0.0", "version: 2.0.0", 1))
        commit_all(path, "v2", "v2.0.0")
    expected = (cf_project / CHANGED).read_bytes() + CHANGE.encode()
    return Case(n, templates, projects, expected)


# --------------------------------------------------------------------------
# Timed runs
# --------------------------------------------------------------------------


def update_cmd(tool: str, bindir: Path) -> list[str]:
    if tool.startswith("codeforge"):
        return [str(bindir / "codeforge"), "update", "--defaults", "-q"]
    if tool == "copier":
        return [str(bindir / "copier"), "update", "--defaults", "--skip-answered", "--quiet"]
    return [str(bindir / "cruft"), "update", "-y"]


def family(tool: str) -> str:
    return "codeforge" if tool.startswith("codeforge") else tool


def reset(project: Path) -> None:
    git(project, "reset", "--hard", "-q")
    git(project, "clean", "-fdq")


def verify(tool: str, project: Path, expected: bytes) -> None:
    """The update changed exactly the one file (and the tool's own metadata)."""
    status = git(project, "status", "--porcelain").splitlines()
    touched = {line[3:] for line in status}
    allowed = {CHANGED, *META_FILES[family(tool)]}
    if CHANGED not in touched or not touched <= allowed:
        raise ChildFailed(f"{tool}: unexpected result in {project}: {status}")
    got = (project / CHANGED).read_bytes()
    if got != expected:
        raise ChildFailed(f"{tool}: {CHANGED} is {got!r}, expected {expected!r}")


@dataclass
class Cell:
    seconds: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def p90(self) -> float:
        data = sorted(self.seconds)
        if len(data) == 1:
            return data[0]
        pos = 0.9 * (len(data) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(data) - 1)
        return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def run_case(
    case: Case, tools: Sequence[str], runs: int, bindir: Path, sandbox: Sandbox
) -> dict[str, Cell]:
    cells = {tool: Cell() for tool in tools}
    warm_env = sandbox.env_for()
    if "codeforge-warm" in tools:  # fill the cache: clones, trees, compiled templates
        project = case.projects["codeforge"]
        run_child(update_cmd("codeforge-warm", bindir), warm_env, project)
        reset(project)
    for r in range(runs):
        order = list(tools[r % len(tools) :]) + list(tools[: r % len(tools)])
        for tool in order:
            project = case.projects[family(tool)]
            env = warm_env
            if tool == "codeforge-cold":
                env = sandbox.env_for(sandbox.fresh_dir("cold"))
            sample, _ = run_child(update_cmd(tool, bindir), env, project)
            verify(tool, project, case.expected)
            reset(project)
            cells[tool].seconds.append(sample.seconds)
            cells[tool].rss_kb.append(sample.maxrss_kb)
    return cells


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def report(results: dict[int, dict[str, Cell]], runs: int, workdir: Path) -> str:
    lines = [
        "# codeforge update vs copier update vs cruft update",
        "",
        f"{runs} runs per tool and size, interleaved; whole processes; work dir on "
        f"{filesystem_of(workdir)}; load average {loadavg()}.",
        "",
        "| N | tool | median s | min s | p90 s | peak RSS MB | copier ÷ this | cruft ÷ this |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for n, cells in results.items():
        copier = cells.get("copier")
        cruft = cells.get("cruft")
        for tool, cell in cells.items():
            vs_copier = f"{copier.median / cell.median:.1f}×" if copier else "–"
            vs_cruft = f"{cruft.median / cell.median:.1f}×" if cruft else "–"
            lines.append(
                f"| {n} | {tool} | {cell.median:.3f} | {min(cell.seconds):.3f} | "
                f"{cell.p90():.3f} | {max(cell.rss_kb) / 1024:.1f} | {vs_copier} | {vs_cruft} |"
            )
        if n == TARGET_N and "codeforge-warm" in cells:
            cf = cells["codeforge-warm"].median
            if copier:
                ratio = copier.median / cf
                ok = "met" if ratio >= TARGET_VS_COPIER else "NOT met"
                verdicts.append(
                    f"- N={n}: copier ÷ codeforge (warm) = {ratio:.1f}× "
                    f"(target ≥ {TARGET_VS_COPIER:g}×): {ok}"
                )
            if cruft:
                ratio = cruft.median / cf
                ok = "met" if ratio >= TARGET_VS_CRUFT else "NOT met"
                verdicts.append(
                    f"- N={n}: cruft ÷ codeforge (warm) = {ratio:.1f}× "
                    f"(target ≥ {TARGET_VS_CRUFT:g}×): {ok}"
                )
    if verdicts:
        lines += ["", "Targets:", *verdicts]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated N")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and size")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--bin", type=Path, default=default_bin(), help="folder with the tools")
    ap.add_argument(
        "--workdir", type=Path, default=None, help="scratch folder (default: benchmarks/work/)"
    )
    ap.add_argument("--output", type=Path, default=RESULTS / "update-latest.md")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        ap.error(f"unknown tools: {', '.join(sorted(unknown))} (known: {', '.join(TOOLS)})")
    parent = args.workdir or ROOT / "benchmarks" / "work"
    parent.mkdir(parents=True, exist_ok=True)
    work = parent / f"update-{os.getpid()}"
    work.mkdir()
    sandbox = Sandbox(work / "sandbox")
    results: dict[int, dict[str, Cell]] = {}
    try:
        for n in sizes:
            print(f"N={n}: preparing templates and projects…", file=sys.stderr)
            case = prepare(work / f"n{n}", n, args.bin, sandbox)
            print(f"N={n}: timing {args.runs} rounds…", file=sys.stderr)
            results[n] = run_case(case, tools, args.runs, args.bin, sandbox)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, args.runs, parent)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
