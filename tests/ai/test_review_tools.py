"""``codeforge ai review --static-only`` says which static tools did not run, and
``--fail-on`` fails on such an incomplete review (the console script, no model)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import CODEFORGE

BROKEN = "import sys\nsys.stderr.write('{tool}: cannot start\\n')\nsys.exit(2)\n"


@pytest.fixture
def broken_tools(tmp_path: Path) -> dict[str, str]:
    """An environment where ruff and bandit are importable but crash on start."""
    shadow = tmp_path / "shadow"
    for tool in ("ruff", "bandit"):
        (shadow / tool).mkdir(parents=True)
        (shadow / tool / "__init__.py").write_text("")
        (shadow / tool / "__main__.py").write_text(BROKEN.format(tool=tool))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))
    # No ruff executable on PATH: `python -m ruff` is what runs (the broken one).
    env["PATH"] = "/usr/bin:/bin"
    for kind in ("config", "data", "cache"):
        env[f"CODEFORGE_{kind.upper()}_DIR"] = str(tmp_path / kind)
    return env


def _review(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ok.py").write_text("x = 1\n")
    return subprocess.run(
        [str(CODEFORGE), "ai", "review", str(tmp_path / "ok.py"), "--static-only", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_tools_that_did_not_run_are_named(tmp_path: Path, broken_tools: dict[str, str]) -> None:
    proc = _review(tmp_path, broken_tools)
    assert proc.returncode == 0, proc.stderr
    assert "warning: ruff did not run (exited 2: ruff: cannot start)" in proc.stderr
    assert "warning: bandit did not run (exited 2: bandit: cannot start)" in proc.stderr
    proc = _review(tmp_path, broken_tools, "--format", "json")
    assert json.loads(proc.stdout)["not_run"] == {
        "ruff": "exited 2: ruff: cannot start",
        "bandit": "exited 2: bandit: cannot start",
    }


def test_fail_on_fails_an_incomplete_review(tmp_path: Path, broken_tools: dict[str, str]) -> None:
    proc = _review(tmp_path, broken_tools, "--fail-on", "critical")
    assert proc.returncode == 1
    assert "error: --fail-on critical: the review is incomplete, ruff, bandit did not run" in (
        proc.stderr
    )


def test_a_complete_clean_review_passes(tmp_path: Path) -> None:
    env = {**os.environ, "CODEFORGE_CONFIG_DIR": str(tmp_path / "config")}
    proc = _review(tmp_path, env, "--fail-on", "low", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"findings": [], "not_run": {}, "notes": []}


INSTALL_AI = Path(__file__).parents[2] / ".ci" / "install-ai"
STATIC_TOOLS = ("ruff", "bandit")  # what `ai review` runs before the model


def test_the_ai_install_brings_every_static_tool_review_runs() -> None:
    script = INSTALL_AI.read_text()
    installs, checks = script.split("# Fail early", 1)
    for tool in STATIC_TOOLS:
        assert f'"{tool}>=' in installs, f".ci/install-ai does not install {tool}"
        assert f'"{tool}"' in checks, f".ci/install-ai does not check that {tool} installed"


def test_the_static_stage_reports_ruff_findings_from_the_installed_package(
    tmp_path: Path,
) -> None:
    """No ruff on PATH: the ruff package beside this Python (what the AI install brings) runs."""
    (tmp_path / "shell.py").write_text(
        "import os\nimport subprocess\n\n\ndef run(cmd):\n"
        "    return subprocess.call(cmd, shell=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    env["PATH"] = "/usr/bin:/bin"
    env["CODEFORGE_CONFIG_DIR"] = str(tmp_path / "config")
    proc = subprocess.run(
        [str(CODEFORGE), "ai", "review", str(tmp_path / "shell.py"), "--static-only",
         "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["not_run"] == {}
    ruff = {(f["rule"], f["line"]) for f in report["findings"] if f["source"] == "ruff"}
    assert ("F401", 1) in ruff  # `import os` unused: only ruff says so
    assert ("S602", 6) in ruff  # shell=True on a variable
