"""The sinks behind the Sink protocol: one plan, three deliveries."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from codeforge.core.outputs import DirectoryOutput, DryRunOutput, Sink, ZipOutput
from codeforge.core.plan import PlannedFile, RenderPlan
from codeforge.errors import ConflictError


def _plan() -> RenderPlan:
    plan = RenderPlan([])
    plan.add(PlannedFile("README.md", b"hello\n", origin="README.md"))
    plan.add(PlannedFile("src/app.py", b"print(1)\n", origin="src/app.py"))
    return plan


def test_directory_output_writes_and_runs_post_in_staging(tmp_path: Path) -> None:
    seen: list[bool] = []
    sink: Sink = DirectoryOutput(tmp_path / "p")
    delivery = sink.deliver(
        _plan(), post=lambda staging: seen.append((staging / "README.md").is_file())
    )
    assert seen == [True]
    assert (tmp_path / "p" / "src" / "app.py").read_bytes() == b"print(1)\n"
    assert delivery.written is not None and sorted(delivery.written.written) == [
        "README.md",
        "src/app.py",
    ]


def test_dry_run_output_reports_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "README.md").write_bytes(b"hello\n")
    sink: Sink = DryRunOutput(tmp_path / "p", force=True)
    delivery = sink.deliver(_plan(), post=lambda staging: pytest.fail("post ran in a dry run"))
    assert {e.path: e.action for e in delivery.report} == {
        "README.md": "unchanged",
        "src/app.py": "create",
    }
    assert not (tmp_path / "p" / "src").exists()
    with pytest.raises(ConflictError):
        DryRunOutput(tmp_path / "p").deliver(_plan())  # same checks as a real write


def test_zip_output_streams_equal_bytes_for_equal_plans() -> None:
    first, second = io.BytesIO(), io.BytesIO()
    ZipOutput(first, "proj").deliver(_plan())
    ZipOutput(second, "proj").deliver(_plan())
    assert first.getvalue() == second.getvalue()
    names = zipfile.ZipFile(io.BytesIO(first.getvalue())).namelist()
    assert sorted(names) == ["proj/README.md", "proj/src/app.py"]
