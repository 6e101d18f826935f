"""benchmarks/bench_codegen.py: HumanEval's problems load and the checks judge right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

from bench_codegen import EXAMPLES, hidden_tests_pass, problems  # noqa: E402


def test_the_package_carries_the_problems_and_the_hidden_tests_judge() -> None:
    first = problems(None)
    assert len(first) == 164 and first[0]["task_id"] == "HumanEval/0"
    problem = first[0]
    right = problem["prompt"] + problem["canonical_solution"]
    assert hidden_tests_pass(right, problem)
    assert not hidden_tests_pass(problem["prompt"] + "    return False\n", problem)
    # Without its own imports the solution fails: solution.py is judged as written.
    body = right.replace("from typing import List\n", "")
    assert not hidden_tests_pass(body, problem)


def test_the_repair_feedback_runs_only_the_prompts_examples(tmp_path: Path) -> None:
    problem = problems(1)[0]
    (tmp_path / "test_solution.py").write_text(
        EXAMPLES.format(prompt=problem["prompt"], name=problem["entry_point"])
    )
    (tmp_path / "solution.py").write_text(problem["prompt"] + problem["canonical_solution"])
    run = [sys.executable, "test_solution.py"]
    assert subprocess.run(run, cwd=tmp_path, capture_output=True).returncode == 0
    (tmp_path / "solution.py").write_text(problem["prompt"] + "    return False\n")
    failed = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert failed.returncode == 1 and "Failed example" in failed.stdout
