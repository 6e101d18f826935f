"""Surface 6: answers are checked the same way on every path in; regexes cannot hang."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from codeforge.cli.main import run
from codeforge.core.engine import SDLCEngine
from codeforge.errors import ValidationError
from codeforge.templates.schema import Variable

DEFINITION = {
    "variables": {
        "port": {"type": "int", "default": 80, "validators": [{"min": 1, "max": 65535}]},
        "db": {"type": "choice", "choices": ["none", "sqlite"]},
        "pkg": {
            "default": "pkg",
            "validators": [{"regex": "[a-z_]+", "message": "must be a Python name"}],
        },
    }
}
CASES = [
    ("port", "abc", "expected an integer, got 'abc'"),
    ("port", "0", "must be at least 1 (got 0)"),
    ("db", "mysql", "'mysql' is not one of the choices: none, sqlite"),
    ("pkg", "Bad-Name", "must be a Python name"),
]


class OneBadAnswer:
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value
        self.errors: list[str | None] = []

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        if variable.name != self.name:
            return default
        self.errors.append(error)
        if len(self.errors) == 1:
            return self.value
        return default if default is not None else choices[0][1]  # type: ignore[index]


@pytest.mark.parametrize(("name", "value", "message"), CASES)
def test_same_message_on_prompt_flag_and_api(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str,
) -> None:
    bp = blueprint(DEFINITION, {"a.txt": "a"})
    # API: a dict of values.
    with pytest.raises(ValidationError) as info:
        engine.render_plan(str(bp), "p", {name: value})
    assert info.value.message == message
    assert info.value.where == f"variable '{name}'"
    # Prompt: the message is shown and the question asked again.
    prompter = OneBadAnswer(name, value)
    engine.create_project(str(bp), "p", output_dir=out, prompter=prompter, git=False)
    assert prompter.errors == [None, message]
    # Flag: one line on stderr, exit code 3.
    with pytest.raises(SystemExit) as exit_info:
        run(
            [
                "init",
                "q",
                "-t",
                str(bp),
                "-o",
                str(out),
                "--defaults",
                "--no-git",
                "--data",
                f"{name}={value}",
            ]
        )
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"error: variable '{name}': {message}"
    assert not (out / "q").exists()


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)+$", r"(a*)*b", r"^(\w+\s?)*$"])
def test_catastrophic_regex_is_a_clear_error_not_a_hang(
    engine: SDLCEngine, blueprint: Callable[..., Path], pattern: str
) -> None:
    bp = blueprint({"variables": {"v": {"validators": [{"regex": pattern}]}}})
    started = time.monotonic()
    with pytest.raises(ValidationError) as info:
        engine.render_plan(str(bp), "p", {"v": "a" * 50 + "!"})
    assert time.monotonic() - started < 2
    assert info.value.where == "variable 'v'"
    assert "does not match" in info.value.message or "took too long" in info.value.message
