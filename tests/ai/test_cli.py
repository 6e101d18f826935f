from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeforge.ai import local
from codeforge.cli.ai import ai

from .conftest import FIXTURES, require_extras

require_extras()


def test_importing_the_cli_group_is_lazy() -> None:
    code = (
        "import sys, codeforge.cli.ai; "
        "print([m for m in ('openai','onnxruntime','xllamacpp','numpy','tokenizers','jsonschema') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_recommend_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEFORGE_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(
        ai,
        ["recommend", "Java REST service with Spring Boot", "--catalog", str(FIXTURES / "catalog"),
         "--json", "--top", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["name"] == "spring-boot"
    assert set(data[0]) == {"name", "score", "reason"}


def test_ai_off_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEFORGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setattr(local, "xllamacpp_available", lambda: False)
    result = CliRunner().invoke(ai, ["describe", "x", "--catalog", str(FIXTURES / "catalog")])
    assert result.exit_code == 12
    assert "AI is off" in result.output
    assert "codeforge[ai-local]" in result.output


def test_generate_dry_run_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ai_cache: Path
) -> None:
    monkeypatch.setenv("CODEFORGE_CACHE_DIR", str(ai_cache))
    monkeypatch.setenv("CODEFORGE_CONFIG_DIR", str(tmp_path))
    result = CliRunner().invoke(
        ai,
        ["generate", "a function double(x) returning 2 * x", "--project", str(tmp_path),
         "--into", "m.py", "--dry-run", "--local-model", "smollm2-135m"],
    )  # fmt: skip
    # The tiny model may write code that does not parse: either outcome is clean.
    assert result.exit_code in (0, 13), result.output
    assert not (tmp_path / "m.py").exists()
