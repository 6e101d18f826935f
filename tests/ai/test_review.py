from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from cli_support import invoke

from codeforge.ai.provider import Provider
from codeforge.ai.review import (
    Finding,
    at_or_above,
    findings_json_schema,
    review,
    to_json,
    to_sarif,
    validate_sarif,
)

from .conftest import require_extras

require_extras()

BAD = """import pickle
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


def load(blob):
    return pickle.loads(blob)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "good.py").write_text("def f() -> int:\n    return 1\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "skip.py").write_text("import os\nos.system('x')\n")
    return tmp_path


def test_static_analysis_finds_the_security_problems(project: Path) -> None:
    findings = review([project], None, static_only=True)
    assert findings
    assert all(f.file.endswith("bad.py") for f in findings)
    shell = [f for f in findings if f.line == 6]
    assert shell and shell[0].severity == "high"
    assert {f.source for f in findings} >= {"ruff", "bandit"}
    jsonschema.validate(to_json(findings), findings_json_schema())


def test_model_findings_follow_the_schema(project: Path, qwen: Provider) -> None:
    findings = review([project / "bad.py"], qwen)
    model = [f for f in findings if f.source == "model"]
    for f in model:
        assert 1 <= f.line <= len(BAD.splitlines())
    jsonschema.validate(to_json(findings), findings_json_schema())
    doc = to_sarif(findings, root=project)
    validate_sarif(doc)
    assert (
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "bad.py"
    )


def test_sarif_check_rejects_broken_documents() -> None:
    good = to_sarif([Finding(file="a.py", line=1, severity="low", message="m")])
    validate_sarif(good)
    broken = json.loads(json.dumps(good))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)
    del good["version"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(good)


@pytest.mark.parametrize(
    ("threshold", "count"), [("low", 3), ("medium", 2), ("high", 1), ("critical", 0)]
)
def test_fail_on_threshold(threshold: str, count: int) -> None:
    findings = [
        Finding(file="a", line=1, severity=s, message="m") for s in ("low", "medium", "high")
    ]
    assert len(at_or_above(findings, threshold)) == count  # type: ignore[arg-type]


@pytest.mark.parametrize(("fail_on", "code"), [("high", 1), ("critical", 0)])
def test_cli_review_fail_on_and_sarif(project: Path, fail_on: str, code: int) -> None:
    status, out, err = invoke(
        "ai", "review", str(project), "--static-only", "--format", "sarif", "--fail-on", fail_on
    )
    assert status == code, err
    validate_sarif(json.loads(out))
