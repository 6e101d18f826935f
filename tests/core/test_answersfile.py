"""The one answers-file reader: size capped, YAML aliases refused, used by update and register."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import console

from codeforge.core.answersfile import (
    ANSWERS_FILE,
    MAX_ANSWERS_FILE_BYTES,
    AnswersFile,
    read_answers_file,
)
from codeforge.errors import NotFoundError, ValidationError

GOOD = "blueprint: {name: tiny, version: 1.0.0, source: 'builtin:tiny'}\nanswers: {x: 1}\n"
ALIASED = "a: &a [1, 2]\nblueprint: {name: x, version: 1, source: s}\nanswers: {b: *a}\n"


def test_a_written_answers_file_reads_back(tmp_path: Path) -> None:
    written = AnswersFile("tiny", "1.0.0", "builtin:tiny", {"x": 1, "when": "2024-05-01"})
    written.components = [{"kind": "module", "answers": {"name": "m"}}]
    written.ref, written.commit = "v1", "a" * 40
    written.dialect = "cookiecutter"
    (tmp_path / ANSWERS_FILE).write_bytes(written.dump())
    assert "  dialect: cookiecutter\n" in written.dump().decode()
    assert read_answers_file(tmp_path) == written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ALIASED, "aliases are not allowed"),
        ("x" * (MAX_ANSWERS_FILE_BYTES + 1), "larger than"),
        (b"\xff\xfe", "not UTF-8"),
        ("blueprint: [1, 2\n", "invalid YAML"),
        ("- a list\n", "must be a mapping"),
        (GOOD.replace("1.0.0", "''"), "'blueprint.version' must be a non-empty string"),
        (GOOD + "components: {a: 1}\n", "'components' must be a list"),
        (GOOD.replace("source:", "dialect: [1], source:"), "'blueprint.dialect' must be"),
    ],
)
def test_bad_files_are_validation_errors_naming_the_file(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / ANSWERS_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValidationError, match=message) as info:
        read_answers_file(tmp_path)
    assert str(path) in str(info.value)


def test_no_answers_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=f"has no {ANSWERS_FILE}"):
        read_answers_file(tmp_path)


@pytest.mark.parametrize("command", ["update", "check", "diff"])
def test_update_refuses_an_aliased_answers_file(tmp_path: Path, command: str) -> None:
    (tmp_path / ANSWERS_FILE).write_text(ALIASED)
    proc = console(command, str(tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert "YAML aliases are not allowed in the answers file" in proc.stderr
    assert f"{tmp_path / ANSWERS_FILE}:3" in proc.stderr
