"""Guard for benchmarks/bench_publish.py: one small round runs end to end (not a timing test)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_publish  # noqa: E402


def test_one_round_publishes_and_times_the_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = bench_publish.measure(files=20, runs=1, work=tmp_path)
    assert result["files"] == 20 and result["runs"] == 1
    push, total = result["push"]["median_ms"], result["publish"]["median_ms"]
    assert 0 < push < total
    assert result["own"]["median_ms"] == pytest.approx(total - push, abs=0.2)
    assert "CodeForge's own time" in bench_publish.report(result, 150.0)
