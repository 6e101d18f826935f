"""benchmarks/bench_review.py: the corpus is well formed and the score is the OWASP one."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

from bench_review import Case, flagged, load_corpus, pick, score

from codeforge.ai.findings import Finding


def test_every_category_has_both_labels_in_both_splits_and_every_case_parses() -> None:
    cases = load_corpus()
    assert len({c.id for c in cases}) == len(cases)
    counts = Counter((c.cwe, c.split, c.vulnerable) for c in cases)
    cwes = {c.cwe for c in cases}
    assert cwes >= {"CWE-89", "CWE-78", "CWE-22", "CWE-798", "CWE-328", "CWE-502", "CWE-79"}
    for cwe in cwes:
        for split in ("tune", "heldout"):
            assert counts[(cwe, split, True)] >= 2 and counts[(cwe, split, False)] >= 2
    for case in cases:
        ast.parse(case.code, filename=case.id)
    trap = 'x = "safe" if 7 * 18 + num > 200 else user_input'
    assert any(trap in c.code and not c.vulnerable for c in cases)
    assert len(pick(cases, "heldout", 1)) == 2 * len(cwes)


def finding(file: str, cwe: str) -> Finding:
    return Finding(file=file, line=1, severity="high", message="m", source="bandit", cwe=cwe)


def test_score_is_tpr_minus_fpr_per_category_then_the_mean() -> None:
    def case(cwe: str, vulnerable: bool) -> Case:
        return Case(f"{cwe}-{vulnerable}", cwe, vulnerable, "tune", "x = 1\n")

    files = {
        "a.py": case("CWE-89", True),
        "b.py": case("CWE-89", False),
        "c.py": case("CWE-798", True),
        "d.py": case("CWE-798", False),
    }
    found = [finding("a.py", "CWE-89"), finding("b.py", "CWE-89"), finding("c.py", "CWE-259")]
    got = score(files, found)["tune"]
    assert got["categories"]["CWE-89"]["score"] == 0.0  # TPR 1 - FPR 1
    assert got["categories"]["CWE-798"]["score"] == 1.0  # CWE-259 names a hard-coded credential
    assert got["mean"] == 0.5 and got["fpr_safe"] == 0.5
    assert not flagged(files["d.py"], [finding("d.py", "CWE-89")])  # another weakness
