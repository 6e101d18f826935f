"""Guard for benchmarks/bench_update.py: one tiny round with every tool (not a timing test).

It checks the set-up (git-tagged templates, projects from codeforge, copier and
cruft) and that every tool's update changes exactly the one file v2 changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_one_round_of_every_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    import bench_update

    output = tmp_path / "report.md"
    args = ["--sizes", "12", "--runs", "1", "--workdir", str(tmp_path / "work")]
    args += ["--bin", str(Path(sys.executable).parent), "--output", str(output)]
    assert bench_update.main(args) == 0
    report = output.read_text()
    for tool in ("codeforge-warm", "codeforge-cold", "copier", "cruft"):
        assert f"| 12 | {tool} |" in report
    assert capsys.readouterr().out.strip() == report.strip()
    assert list((tmp_path / "work").iterdir()) == []  # scratch removed
