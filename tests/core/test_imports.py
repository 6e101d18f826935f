"""The core is a library: importing it, or asking the CLI for help, pulls in no heavy stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("click", "fastapi", "redis", "sqlalchemy", "alembic", "openai", "httpx", "pydantic")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_core_engine_imports_no_adapter_or_server_library() -> None:
    modules = loaded_after("import codeforge.core.engine")
    assert "codeforge.core.engine" in modules
    for name in HEAVY:
        assert name not in modules, f"importing the core imported {name}"


def test_cli_help_imports_no_web_database_or_llm_client() -> None:
    code = (
        "from codeforge.cli.main import run\n"
        "try:\n"
        "    run(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    modules = loaded_after(code)
    assert "click" in modules  # the check can see what was imported
    for name in ("fastapi", "sqlalchemy", "openai", "redis", "alembic", "uvicorn"):
        assert name not in modules, f"`codeforge --help` imported {name}"


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_python_dash_m_codeforge(argv: list[str]) -> None:
    code = (
        "import runpy\n"
        f"sys.argv = ['codeforge', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('codeforge', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    modules = loaded_after(code)
    for name in ("fastapi", "sqlalchemy", "openai"):
        assert name not in modules
