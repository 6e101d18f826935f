"""The docs' examples run: every command in a `<!-- doctest -->` block, and the README's blueprint."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from codeforge.cli.main import run
from codeforge.templates.definition import read_definition
from codeforge.templates.schema import build_blueprint

ROOT = Path(__file__).resolve().parent.parent
BLOCK_RE = re.compile(r"<!-- doctest -->\s*```bash\n(.*?)```", re.S)


def doctest_commands(path: Path) -> list[str]:
    commands = []
    for block in BLOCK_RE.findall(path.read_text(encoding="utf-8")):
        commands.extend(line.strip() for line in block.splitlines() if line.strip())
    return commands


def exit_code(argv: list[str]) -> int:
    """Run the CLI in-process the way the console script does; return its exit code."""
    try:
        run(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_readme_has_runnable_examples() -> None:
    assert len(doctest_commands(ROOT / "README.md")) >= 5


def test_readme_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in doctest_commands(ROOT / "README.md"):
        argv = shlex.split(command)
        assert argv[0] == "codeforge", command
        code = exit_code(argv[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{command!r} failed: {captured.err}"
    assert (tmp_path / "shop-api" / ".codeforge-answers.yml").is_file()
    assert not (tmp_path / "preview").exists()  # the dry run wrote nothing


@pytest.mark.parametrize("doc", ["README.md", "docs/blueprint-format.md"])
def test_blueprint_examples_in_docs_are_valid(doc: str, tmp_path: Path) -> None:
    """Every YAML example that starts with `name:` is a complete, valid definition."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("name:")]
    for index, example in enumerate(examples):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(example, encoding="utf-8")
        data, locate = read_definition(path)
        bp = build_blueprint(data, locate, root=tmp_path, definition=path, content_hash="x")
        assert bp.name
    if doc == "README.md":
        assert examples, "the README should show a blueprint definition"
