from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codeforge.ai.codegen import generate_code, project_context, write_generated
from codeforge.ai.provider import Provider
from codeforge.errors import ConflictError, SecurityError

from .conftest import require_extras

require_extras()


def test_generated_python_parses_and_is_not_written(qwen: Provider, tmp_path: Path) -> None:
    (tmp_path / "util.py").write_text("import re\n")
    gen = generate_code(
        qwen, "a function add(a, b) that returns a + b", project=tmp_path, into=Path("util.py")
    )
    ast.parse(gen.content)
    assert "parses" in gen.checks
    assert gen.content.startswith("import re\n")
    assert gen.diff.startswith("--- a/util.py")
    assert (tmp_path / "util.py").read_text() == "import re\n"  # never writes unasked
    write_generated(gen)
    assert (tmp_path / "util.py").read_text() == gen.content


def test_write_refuses_a_file_changed_meanwhile(qwen: Provider, tmp_path: Path) -> None:
    gen = generate_code(
        qwen, "a function answer() that returns 42", project=tmp_path, into=Path("c.py")
    )
    (tmp_path / "c.py").write_text("# someone else\n")
    with pytest.raises(ConflictError):
        write_generated(gen)
    assert (tmp_path / "c.py").read_text() == "# someone else\n"


@pytest.mark.parametrize("target", ["../outside.py", "/etc/passwd", ".env"])
def test_targets_are_confined(tmp_path: Path, target: str) -> None:
    provider = Provider(base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(SecurityError):
        generate_code(provider, "x", project=tmp_path, into=Path(target))


def test_context_skips_secret_files(tmp_path: Path) -> None:
    (tmp_path / ".codeforge-answers.yml").write_text("answers:\n  project_name: shop\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "secrets.yaml").write_text("password: x\n")
    (tmp_path / ".env").write_text("TOKEN=abc\n")
    context = project_context(tmp_path, tmp_path / "new.py")
    assert "project_name: shop" in context
    assert "print('hi')" in context
    assert "TOKEN" not in context and "password" not in context
