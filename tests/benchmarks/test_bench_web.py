"""Guard for benchmarks/bench_web.py: a tiny run measures every figure (not a timing test)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_web  # noqa: E402


def test_a_tiny_run_measures_every_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEFORGE_CACHE_DIR", str(tmp_path / "cache"))
    fcp = 1 if Path(bench_web.CHROMIUM).exists() else 0
    result = bench_web.measure(blueprints=3, variables=9, runs=3, fcp_runs=fcp, work=tmp_path)
    assert result["catalog"]["runs"] == 3 and result["form"]["runs"] == 3
    assert 0 < result["catalog"]["median_ms"] <= result["catalog"]["p95_ms"]
    assert set(result["js"]["files"]) >= {"htmx.min.js", "job.js", "share.js"}
    assert 0 < result["js"]["total_kb"] < 100
    if fcp:
        assert result["fcp"]["catalog"]["p95_ms"] > 0 and result["fcp"]["form"]["p95_ms"] > 0
    text = bench_web.report(result)
    assert "catalog render p95" in text and "JavaScript gzipped" in text
    assert f"load average {result['load']}" in text


def test_the_form_blueprint_has_every_variable_type() -> None:
    import io
    import zipfile

    data = bench_web.form_blueprint(30)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read(f"{bench_web.FORM_NAME}/blueprint.yaml").decode()
    assert text.count("\n  var_") == 29 and "use_extra:" in text
    for kind in ("str", "int", "float", "bool", "choice", "multichoice", "secret"):
        assert f"type: {kind}\n" in text, kind
    assert "when: use_extra" in text and "regex:" in text


def test_p95_of_few_samples_is_the_largest() -> None:
    assert bench_web.p95([1.0, 3.0, 2.0]) == 3.0
    assert bench_web.p95([float(i) for i in range(1, 101)]) == pytest.approx(95.05)
