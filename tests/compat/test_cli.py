"""``codeforge init -t`` and ``codeforge show`` on cookiecutter and copier templates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke

from codeforge.app.context import local_engine
from codeforge.templates.schema import Variable
from compat.helpers import assert_same_tree, fixture, run_cookiecutter, run_copier


def test_init_cookiecutter_with_defaults(tmp_path: Path) -> None:
    template = fixture("cc-basic", tmp_path)
    code, out, err = invoke(
        "init", "mine", "-t", str(template), "--defaults", "--no-git", "-o", str(tmp_path / "o")
    )
    assert code == 0, err
    assert "Created" in out
    reference = run_cookiecutter(template, tmp_path / "cc")
    assert_same_tree(reference, tmp_path / "o" / "mine")


def test_init_copier_with_data_flags(tmp_path: Path) -> None:
    template = fixture("cp-basic", tmp_path)
    flags = ["--data", "workers=6", "--data", "use_docker=false", "--data", "license=MIT"]
    code, _, err = invoke(
        "init", "proj", "-t", str(template), "--defaults", "--no-git", "-o", str(tmp_path / "o"),
        *flags,
    )  # fmt: skip
    assert code == 0, err
    reference = run_copier(
        template, tmp_path / "cp" / "proj", {"workers": 6, "use_docker": False, "license": "MIT"}
    )
    assert_same_tree(reference, tmp_path / "o" / "proj")


def test_init_untrusted_hooks_exit_with_security_code(tmp_path: Path) -> None:
    template = fixture("cc-hooks", tmp_path)
    code, _, err = invoke(
        "init", "p", "-t", str(template), "--defaults", "--no-git", "-o", str(tmp_path / "o")
    )
    assert code == 6  # SecurityError
    assert "pre_gen_project.py" in err and "--trust" in err
    assert not (tmp_path / "o" / "p").exists()
    code, _, err = invoke(
        "init", "p", "-t", str(template), "--defaults", "--no-git", "--trust",
        "-o", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "o" / "p" / "hook-ran.txt").read_text() == "post hook for hooked_project\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "cc-basic",
            {"project_name": "str", "license": "choice", "use_docker": "bool", "ci": "dict"},
        ),
        ("cp-basic", {"workers": "int", "features": "multichoice", "api_token": "secret"}),
    ],
)
def test_show_lists_variables(name: str, expected: dict[str, str], tmp_path: Path) -> None:
    template = fixture(name, tmp_path)
    code, out, err = invoke("show", str(template), "--json")
    assert code == 0, err
    info = json.loads(out)
    types = {v["name"]: v["type"] for v in info["variables"]}
    assert {k: types[k] for k in expected} == expected
    assert info["source"] == str(template)
    code, out, _ = invoke("show", str(template))
    assert code == 0 and all(k in out for k in expected)


class ScriptedPrompter:
    """Answers from a script; records what was asked (name, default, choices)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, Any, list[tuple[str, Any]] | None]] = []

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        assert error is None, error
        self.asked.append((variable.name, default, list(choices) if choices else None))
        return self.answers.get(variable.name, default)


def test_cookiecutter_prompts_in_order_with_rendered_defaults(tmp_path: Path) -> None:
    template = fixture("cc-basic", tmp_path)
    prompter = ScriptedPrompter({"project_name": "Asked Name", "license": "Apache-2.0"})
    local_engine().create_project(
        str(template), "p", output_dir=tmp_path / "cf", prompter=prompter, git=False
    )
    asked = {name: (default, choices) for name, default, choices in prompter.asked}
    assert [n for n, _, _ in prompter.asked] == [
        "project_name", "project_slug", "author", "version", "workers", "license",
        "use_docker", "use_ci", "ci",
    ]  # fmt: skip
    assert asked["project_slug"][0] == "asked_name"  # rendered over the earlier answer
    assert asked["license"][1] is not None
    assert ("MIT license", "MIT") in asked["license"][1]  # __prompts__ labels
    reference = run_cookiecutter(
        template, tmp_path / "cc", {"project_name": "Asked Name", "license": "Apache-2.0"}
    )
    assert_same_tree(reference, tmp_path / "cf" / "p")


def test_copier_prompts_skip_when_false_and_check_validators(tmp_path: Path) -> None:
    template = fixture("cp-basic", tmp_path)
    prompter = ScriptedPrompter({"use_docker": False, "features": ["api"]})
    local_engine().create_project(
        str(template), "proj", output_dir=tmp_path / "cf", prompter=prompter, git=False
    )
    names = [n for n, _, _ in prompter.asked]
    assert "docker_image" not in names and "hidden_extra" not in names  # when: false
    assert names[:3] == ["project_name", "project_slug", "workers"]
    reference = run_copier(
        template, tmp_path / "cp" / "proj", {"use_docker": False, "features": ["api"]}
    )
    assert_same_tree(reference, tmp_path / "cf" / "proj")
