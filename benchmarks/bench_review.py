"""``ai review`` scored on a labelled corpus of vulnerable code and safe look-alikes.

The corpus (``benchmarks/data/review_corpus.yaml``) is written in the style of the
OWASP Benchmark: one small program per case, a CWE category, and a label (vulnerable
or a safe look-alike). It was written for CodeForge because no labelled Python corpus
is packaged on PyPI and the OWASP Benchmark for Python is not reachable offline here.
Part of it (``split: heldout``) was never looked at while improving the review and is
reported apart.

Score, as the OWASP Benchmark scores a tool: per category, true-positive rate minus
false-positive rate (a case is *flagged* when the review reports a finding of the
case's CWE anywhere in the file), then the mean over the categories. Reported for the
static stage alone (ruff, bandit and the taint pass; also ruff and bandit without the
taint pass) and for the full review with each local model installed.

Run: ``.venv/bin/python benchmarks/bench_review.py [--models qwen2.5-coder-0.5b]
[--per-category N] [--split tune|heldout|all] [--cache DIR] [--json]``.
Targets: full review mean >= 0.40 and >= 0.15 above static-only; FPR on the safe
look-alikes <= 0.20.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from codeforge.ai.findings import Finding
from codeforge.ai.local import MODELS, LocalServer
from codeforge.ai.model_review import Options
from codeforge.ai.provider import Provider
from codeforge.ai.review import review_report

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "data" / "review_corpus.yaml"
# Ids that name the category's weakness (a hard-coded password is a hard-coded credential).
SAME: dict[str, set[str]] = {
    "CWE-798": {"CWE-798", "CWE-259"},
    "CWE-328": {"CWE-328", "CWE-327"},
}


@dataclass(frozen=True)
class Case:
    id: str
    cwe: str
    vulnerable: bool
    split: str
    code: str


def load_corpus(path: Path = CORPUS) -> list[Case]:
    """The labelled cases."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Case(**item) for item in data["cases"]]


def pick(cases: Sequence[Case], split: str, per_category: int | None) -> list[Case]:
    """The cases of ``split`` ("all" for both); at most ``per_category`` of each label
    per category (the first ones, so a subset is the same every run)."""
    chosen = [c for c in cases if split == "all" or c.split == split]
    if per_category is None:
        return chosen
    counts: dict[tuple[str, bool, str], int] = {}
    out = []
    for case in chosen:
        key = (case.cwe, case.vulnerable, case.split)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= per_category:
            out.append(case)
    return out


def write_cases(cases: Sequence[Case], folder: Path) -> dict[str, Case]:
    """Each case as ``BenchmarkTestNNNNN.py`` (the name tells nothing of its label)."""
    files = {}
    for number, case in enumerate(cases, 1):
        path = folder / f"BenchmarkTest{number:05d}.py"
        path.write_text(case.code, encoding="utf-8")
        files[str(path)] = case
    return files


def flagged(case: Case, findings: Sequence[Finding]) -> bool:
    """Whether a finding names the case's weakness."""
    return any(f.cwe in SAME.get(case.cwe, {case.cwe}) for f in findings)


def score(files: dict[str, Case], findings: Sequence[Finding]) -> dict[str, Any]:
    """Per category and split: TP, FN, FP, TN, TPR, FPR, score; and the means."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for path, case in files.items():
        hit = flagged(case, by_file.get(path, []))
        for split in (case.split, "all"):
            cell = table.setdefault(split, {}).setdefault(
                case.cwe, {"tp": 0, "fn": 0, "fp": 0, "tn": 0}
            )
            key = ("tp" if hit else "fn") if case.vulnerable else ("fp" if hit else "tn")
            cell[key] += 1
    out: dict[str, Any] = {}
    for split, cats in table.items():
        for cell in cats.values():
            pos, neg = cell["tp"] + cell["fn"], cell["fp"] + cell["tn"]
            cell["tpr"] = cell["tp"] / pos if pos else 0.0
            cell["fpr"] = cell["fp"] / neg if neg else 0.0
            cell["score"] = cell["tpr"] - cell["fpr"]
        fp = sum(c["fp"] for c in cats.values())
        neg = sum(c["fp"] + c["tn"] for c in cats.values())
        out[split] = {
            "categories": dict(sorted(cats.items())),
            "mean": sum(c["score"] for c in cats.values()) / len(cats),
            "fpr_safe": fp / neg if neg else 0.0,
        }
    return out


def installed(model: str) -> bool:
    """Whether every package of ``model`` is installed."""
    try:
        for dist, _ in MODELS[model].packages:
            metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def run_model(
    model: str, files: list[Path], cache: Path, timeout: float, say: Callable[[str], None]
) -> tuple[list[Finding], dict[str, Any]]:
    """The full review with ``model``; its findings and what it cost."""
    with LocalServer.start(model, cache, timeout=300) as server:
        provider = Provider(base_url=server.base_url, model=server.model, api_key=server.api_key)
        started = time.monotonic()
        options = Options(timeout=timeout, cache=cache / "review", progress=say)
        report = review_report(files, provider, options=options)
        took = time.monotonic() - started
    model_findings = [f for f in report.findings if f.source == "model"]
    return report.findings, {
        "seconds": round(took, 1),
        "seconds_per_file": round(took / len(files), 2),
        "model_findings": len(model_findings),
        "confirmed": sum(1 for f in model_findings if f.confirmed_by),
        "dropped": len(report.dropped),
        "no_answer_in_time": sum(1 for n in report.notes if "no answer within" in n),
        "unusable_answers": sum(1 for n in report.notes if "not reviewed by the model" in n),
        "not_reviewed": len(report.not_reviewed),
    }


def markdown(results: dict[str, dict[str, Any]], split: str) -> str:
    """One table: a row per category, a column per configuration."""
    names = [n for n in results if split in results[n]["score"]]
    if not names:
        return ""
    cats = sorted(results[names[0]]["score"][split]["categories"])
    lines = [
        f"split: {split}",
        "| category | " + " | ".join(names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for cat in cats:
        cells = []
        for n in names:
            c = results[n]["score"][split]["categories"][cat]
            cells.append(f"{c['score']:+.2f} (TPR {c['tpr']:.2f}, FPR {c['fpr']:.2f})")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{results[n]['score'][split]['mean']:+.2f}**" for n in names)
    )
    lines[-1] += " |"
    lines.append(
        "| FPR, safe look-alikes | "
        + " | ".join(f"{results[n]['score'][split]['fpr_safe']:.2f}" for n in names)
        + " |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="auto", help="comma-separated, 'auto' or 'none'")
    parser.add_argument("--per-category", type=int, default=None, metavar="N")
    parser.add_argument("--split", choices=["tune", "heldout", "all"], default="all")
    parser.add_argument("--file-timeout", type=float, default=60.0)
    parser.add_argument("--cache", type=Path, default=None, help="model and answer cache")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    cases = pick(load_corpus(), args.split, args.per_category)
    if args.models == "auto":
        models = [m for m in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b") if installed(m)]
    else:
        models = [] if args.models == "none" else args.models.split(",")
    results: dict[str, dict[str, Any]] = {}
    say = (lambda line: print(line, file=sys.stderr)) if not args.json else (lambda _l: None)
    with tempfile.TemporaryDirectory(prefix="codeforge-bench-review-") as tmp:
        folder = Path(tmp) / "cases"
        folder.mkdir()
        files = write_cases(cases, folder)
        paths = [Path(p) for p in files]
        static = review_report(paths, None, static_only=True).findings
        tools = [f for f in static if f.source != "taint"]
        results["ruff+bandit"] = {"score": score(files, tools)}
        results["static (ruff+bandit+taint)"] = {"score": score(files, static)}
        cache = args.cache or Path(tmp) / "cache"
        for model in models:
            found, cost = run_model(model, paths, cache, args.file_timeout, say)
            results[f"full, {model}"] = {"score": score(files, found), "cost": cost}
    load = os.getloadavg()
    meta = {"cases": len(cases), "models": models, "load_average": [round(x, 2) for x in load]}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
        return 0
    print(json.dumps(meta))
    for split in ("tune", "heldout", "all"):
        table = markdown(results, split)
        if table:
            print(table + "\n")
    for name, res in results.items():
        if "cost" in res:
            print(f"{name}: {json.dumps(res['cost'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
