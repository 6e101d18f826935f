"""``codeforge init``: next steps, names with digits, and what happens without a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import snapshot
from cli_support import invoke

STEPS = "cd {{ project_dir }}\nrun {{ command }} --port {{ port }}\n"


@pytest.fixture
def stepped(blueprint: Callable[..., Path]) -> Path:
    return blueprint(
        {
            "variables": {
                "command": {"default": "{{ project_name | kebab }}"},
                "port": {"type": "int", "default": 8000},
                "token": {"type": "secret", "default": "s3cret"},
            },
            "next_steps": STEPS + "token {{ token }}\n",
        },
        {"a.txt": "a\n"},
    )


def test_next_steps_follow_a_successful_init(stepped: Path, out: Path) -> None:
    code, stdout, stderr = invoke(
        "init", "shop2", "-t", str(stepped), "-o", str(out), "--defaults", "--no-git",
        "--data", "port=9000",
    )  # fmt: skip
    assert code == 0, stderr
    created, _, steps = stdout.partition("\n\nNext steps:\n")
    assert created.startswith(f"Created {out / 'shop2'}")
    # project_dir as typed from here; answers rendered; a secret masked.
    assert steps == f"  cd {out / 'shop2'}\n  run shop2 --port 9000\n  token ********\n"
    assert "s3cret" not in stdout


def test_next_steps_are_a_json_field_and_quiet_prints_nothing(stepped: Path, out: Path) -> None:
    base = ["init", "-t", str(stepped), "-o", str(out), "--defaults", "--no-git"]
    code, stdout, _ = invoke(*base[:1], "p1", *base[1:], "--json")
    assert code == 0
    assert (
        json.loads(stdout)["next_steps"] == f"cd {out / 'p1'}\nrun p1 --port 8000\ntoken ********"
    )
    code, stdout, stderr = invoke(*base[:1], "p2", *base[1:], "--quiet")
    assert (code, stdout, stderr) == (0, "", "")
    code, stdout, _ = invoke(*base[:1], "p3", *base[1:], "--dry-run")
    assert code == 0 and "Next steps" not in stdout


def test_a_broken_next_steps_text_fails_before_writing(
    blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({"next_steps": "{{ nope( }}"}, {"a.txt": "a\n"})
    code, _, stderr = invoke("init", "p", "-t", str(bp), "-o", str(out), "--defaults")
    assert code == 5 and "next_steps" in stderr
    assert snapshot(out) == {}
    bp = blueprint({"next_steps": ["cd x"]}, {"a.txt": "a\n"})
    code, _, stderr = invoke("init", "p", "-t", str(bp), "-o", str(out), "--defaults")
    assert code == 7 and "next_steps" in stderr and "blueprint.yaml:" in stderr


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("web-fastapi", "uvicorn app2.main:app --reload"),
        ("cli-click", "app2 --help"),
        ("lib-python", "mkdocs serve"),
    ],
)
def test_builtins_declare_their_next_steps(template: str, expected: str, out: Path) -> None:
    code, stdout, stderr = invoke(
        "init", "app2", "-t", template, "-o", str(out), "--defaults", "--no-git", "--json"
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    steps = result["next_steps"].splitlines()
    assert steps[0] == f"cd {out / 'app2'}" and "pytest" in steps
    assert expected in result["next_steps"]
    # Digits stay in their word: package `app2`, command `app2`.
    assert result["answers"]["package_name"] == "app2"
    assert (out / "app2" / "src" / "app2").is_dir()


def test_names_with_digits_keep_them(out: Path) -> None:
    code, stdout, _ = invoke(
        "init", "oauth2client", "-t", "cli-click", "-o", str(out), "--defaults", "--no-git",
        "--json",
    )  # fmt: skip
    assert code == 0
    answers = json.loads(stdout)["answers"]
    assert (answers["package_name"], answers["command_name"]) == ("oauth2client", "oauth2client")


@pytest.fixture
def asks(blueprint: Callable[..., Path]) -> Path:
    return blueprint(
        {
            "variables": {
                "port": {"type": "int", "help": "Port to listen on", "default": 8000},
                "debug": {"type": "bool", "when": "{{ port > 9000 }}"},
            }
        },
        {"a.txt": "{{ port }}\n"},
    )


def test_without_a_terminal_a_question_left_open_is_exit_2(asks: Path, out: Path) -> None:
    code, _, stderr = invoke("init", "p", "-t", str(asks), "-o", str(out))
    assert code == 2
    assert "no terminal to ask 'port' (Port to listen on)" in stderr
    assert "--data port=VALUE" in stderr and "--defaults" in stderr
    assert snapshot(out) == {}


def test_without_a_terminal_answers_for_every_question_are_enough(asks: Path, out: Path) -> None:
    # `debug` is not asked when port <= 9000, so port alone answers everything.
    code, _, stderr = invoke("init", "p", "-t", str(asks), "-o", str(out), "--data", "port=80")
    assert code == 0, stderr
    assert (out / "p" / "a.txt").read_text() == "80\n"
    # With port > 9000 `debug` is asked too, and it has no answer.
    code, _, stderr = invoke("init", "q", "-t", str(asks), "-o", str(out), "--data", "port=9001")
    assert code == 2 and "'debug'" in stderr
    assert not (out / "q").exists()
    code, _, stderr = invoke("init", "q", "-t", str(asks), "-o", str(out), "--defaults")
    assert code == 0, stderr


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("port: 80\nname: [unclosed\nx: 1\n", ":3:2: "),
        ('{"port": 80,,}', ":1:13: "),
        ("port: a: b\n", ":1:8: "),
    ],
)
def test_a_bad_data_file_is_one_line_and_a_hint(
    asks: Path, out: Path, tmp_path: Path, text: str, where: str
) -> None:
    data = tmp_path / "answers.yml"
    data.write_text(text)
    code, _, stderr = invoke("init", "p", "-t", str(asks), "-o", str(out), "--data-file", str(data))
    assert code == 2
    error, hint = stderr.splitlines()
    assert error.startswith(f"error: {data}{where}--data-file is not valid YAML/JSON: ")
    assert hint.startswith("hint: ")
    assert snapshot(out) == {}
