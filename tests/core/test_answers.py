"""Answers: precedence, Jinja defaults, `when`, choices, conversion, validators, secrets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from codeforge.app.context import local_engine
from codeforge.core.answers import Evaluator, resolve_answers
from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.engine import SDLCEngine
from codeforge.core.records import GenerationRecord
from codeforge.errors import TemplateError, UsageError, ValidationError
from codeforge.settings import RenderLimits, load_settings
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.loader import load_blueprint
from codeforge.templates.schema import Variable


class ScriptedPrompter:
    """Answers questions from a script and records what was asked."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.asked: list[tuple[str, Any, list[tuple[str, Any]] | None, str | None]] = []

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        self.asked.append((variable.name, default, list(choices) if choices else None, error))
        queue = self.answers.get(variable.name)
        return queue.pop(0) if queue else default


def answers_of(
    engine: SDLCEngine, bp: Path, data: dict[str, Any] | None = None, name: str = "demo"
) -> dict[str, Any]:
    _, answers, _ = engine.render_plan(str(bp), name, data or {})
    return answers


# -- precedence ---------------------------------------------------------------------------


def _write_config(dirs: dict[str, Path], text: str) -> None:
    dirs["config"].mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "config.toml").write_text(text)


def test_precedence_explicit_over_config_over_blueprint(
    blueprint: Callable[..., Path], codeforge_dirs: dict[str, Path]
) -> None:
    _write_config(
        codeforge_dirs,
        '[author]\nname = "Config Author"\n[defaults]\nlicense = "Apache-2.0"\ncolour = "blue"\n',
    )
    bp = blueprint(
        {
            "variables": {
                "license": {"default": "MIT"},
                "colour": {"default": "red"},
                "size": {"default": "small"},
                "author_name": {"default": "Nobody"},
            }
        }
    )
    engine = local_engine(load_settings())
    answers = answers_of(engine, bp, {"colour": "green"})
    assert answers == {
        "license": "Apache-2.0",  # config default over blueprint default
        "colour": "green",  # explicit over config default
        "size": "small",  # blueprint default
        "author_name": "Config Author",  # author.name defaults author_name
    }


def test_env_author_over_config_author(
    blueprint: Callable[..., Path],
    codeforge_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write_config(codeforge_dirs, '[author]\nname = "Config Author"\n')
    monkeypatch.setenv("CODEFORGE_AUTHOR_NAME", "Env Author")
    bp = blueprint({"variables": {"author_name": {"default": ""}}})
    assert answers_of(local_engine(load_settings()), bp) == {"author_name": "Env Author"}


def test_saved_answers_sit_between_explicit_and_config(blueprint: Callable[..., Path]) -> None:
    bp = load_blueprint(
        blueprint(
            {"variables": {"a": {"default": "bp"}, "b": {"default": "bp"}, "c": "bp", "d": "bp"}}
        )
    )
    env = CodeForgeEnvironment(None, RenderLimits(), None)
    answers = resolve_answers(
        bp.variables,
        Evaluator(env),
        base={"project_name": "p"},
        explicit={"a": "explicit"},
        saved={"a": "saved", "b": "saved"},
        config_defaults={"a": "config", "b": "config", "c": "config"},
    )
    assert answers == {"a": "explicit", "b": "saved", "c": "config", "d": "bp"}


def test_jinja_default_uses_earlier_answers(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint(
        {
            "variables": {
                "package_name": {"default": "{{ project_name | snake }}"},
                "module": {"default": "{{ package_name }}.main"},
                "port": {"type": "int", "default": "{{ 8000 + 80 }}"},
            }
        }
    )
    assert answers_of(engine, bp, name="Shop-API") == {
        "package_name": "shop_api",
        "module": "shop_api.main",
        "port": 8080,
    }
    assert answers_of(engine, bp, {"package_name": "custom"}, name="Shop-API")["module"] == (
        "custom.main"
    )


def test_project_name_comes_from_the_name_argument(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint({"variables": {"x": "{{ project_name }}"}})
    with pytest.raises(UsageError, match="project_name comes from the NAME argument"):
        answers_of(engine, bp, {"project_name": "other"})


def test_unknown_variable_in_data(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint({"variables": {"a": "x"}})
    with pytest.raises(ValidationError, match="unknown variable: nope") as info:
        answers_of(engine, bp, {"nope": "1"})
    assert info.value.hint == "known: a"


def test_missing_value_without_default(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint({"variables": {"token": {"type": "int"}}})
    with pytest.raises(ValidationError, match="no value given") as info:
        answers_of(engine, bp)
    assert info.value.where == "variable 'token'"
    assert info.value.hint == "pass --data token=VALUE"


# -- when -----------------------------------------------------------------------------------


def test_when_false_is_not_asked_and_default_applies(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {
            "variables": {
                "database": {
                    "type": "choice",
                    "choices": ["none", "postgresql"],
                    "default": "none",
                },
                "db_port": {
                    "type": "int",
                    "default": 5432,
                    "when": "{{ database == 'postgresql' }}",
                },
                "db_user": {"default": "app", "when": "database != 'none'"},
                "never": {"default": "d", "when": False},
            }
        }
    )
    prompter = ScriptedPrompter({"database": ["none"], "db_port": [1], "db_user": ["x"]})
    result = engine.create_project(str(bp), "p", output_dir=out, prompter=prompter, git=False)
    assert [name for name, *_ in prompter.asked] == ["database"]
    assert result.answers == {"database": "none", "db_port": 5432, "db_user": "app", "never": "d"}

    prompter = ScriptedPrompter({"database": ["postgresql"], "db_port": ["6543"], "db_user": ["x"]})
    result = engine.create_project(str(bp), "q", output_dir=out, prompter=prompter, git=False)
    assert [name for name, *_ in prompter.asked] == ["database", "db_port", "db_user"]
    assert result.answers["db_port"] == 6543 and result.answers["db_user"] == "x"


def test_when_false_without_a_default_has_no_value_instead_of_failing(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {
            "variables": {
                "database": {
                    "type": "choice",
                    "choices": ["none", "postgresql"],
                    "default": "none",
                },
                "db_host": {"type": "str", "when": "database == 'postgresql'"},
                "db_port": {"type": "int", "when": "database == 'postgresql'"},
            }
        },
        {
            "README.md": "{% if db_host %}{{ db_host }}:{{ db_port }}{% else %}no database{% endif %}"
        },
    )
    made = engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert made.answers == {"database": "none", "db_host": None, "db_port": None}
    assert (out / "p" / "README.md").read_text() == "no database"
    # Once the condition holds, the variable is required again: a value, or the error.
    with pytest.raises(ValidationError) as info:
        answers_of(engine, bp, {"database": "postgresql"})
    assert info.value.where == "variable 'db_host'"
    chosen = answers_of(engine, bp, {"database": "postgresql", "db_host": "db", "db_port": 5})
    assert chosen == {"database": "postgresql", "db_host": "db", "db_port": 5}
    # A recorded None (the variable was skipped) is no saved value to reuse.
    evaluator = Evaluator(CodeForgeEnvironment(None, RenderLimits(), None))
    variables = load_blueprint(bp).variables
    with pytest.raises(ValidationError):
        resolve_answers(
            variables, evaluator, base={}, explicit={"database": "postgresql"}, saved=made.answers
        )


def test_prompter_is_asked_again_after_an_invalid_answer(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = load_blueprint(
        blueprint(
            {"variables": {"port": {"type": "int", "default": 80, "validators": [{"min": 1}]}}}
        )
    )
    prompter = ScriptedPrompter({"port": ["eighty", "0", "81"]})
    answers = resolve_answers(
        bp.variables,
        Evaluator(engine.environment(bp.template_root)),
        base={},
        explicit={},
        prompter=prompter,
    )
    assert answers == {"port": 81}
    errors = [error for *_, error in prompter.asked]
    assert errors == [None, "expected an integer, got 'eighty'", "must be at least 1 (got 0)"]
    assert prompter.asked[0][1] == 80  # the default is offered


# -- choices -------------------------------------------------------------------------------


def test_static_choices(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint({"variables": {"db": {"type": "choice", "choices": ["none", "sqlite"]}}})
    assert answers_of(engine, bp) == {"db": "none"}  # no default: the first choice
    assert answers_of(engine, bp, {"db": "sqlite"}) == {"db": "sqlite"}
    with pytest.raises(ValidationError, match="'mysql' is not one of the choices: none, sqlite"):
        answers_of(engine, bp, {"db": "mysql"})


def test_mapping_choices_take_labels_or_values(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint(
        {
            "variables": {
                "level": {"type": "choice", "choices": {"Low": 1, "High": 2}, "default": 2},
                "flags": {"type": "multichoice", "choices": {"Fast": "f", "Safe": "s"}},
            }
        }
    )
    assert answers_of(engine, bp) == {"level": 2, "flags": []}
    assert answers_of(engine, bp, {"level": "Low", "flags": "Fast,s"}) == {
        "level": 1,
        "flags": ["f", "s"],
    }
    assert answers_of(engine, bp, {"level": 1})["level"] == 1
    with pytest.raises(ValidationError, match="'Slow' is not one of the choices: Fast, Safe"):
        answers_of(engine, bp, {"flags": ["Fast", "Slow"]})


def test_computed_choices(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {
            "variables": {
                "python": {"type": "list", "default": ["3.11", "3.12"]},
                "main_python": {"type": "choice", "choices": "{{ python | to_json }}"},
            }
        }
    )
    assert answers_of(engine, bp) == {"python": ["3.11", "3.12"], "main_python": "3.11"}
    assert (
        answers_of(engine, bp, {"python": "3.12,3.13", "main_python": "3.13"})["main_python"]
        == "3.13"
    )
    with pytest.raises(ValidationError, match=r"not one of the choices: 3\.11, 3\.12"):
        answers_of(engine, bp, {"main_python": "2.7"})


def test_computed_choices_must_render_a_list(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint({"variables": {"c": {"type": "choice", "choices": "{{ 'just text' }}"}}})
    with pytest.raises(TemplateError, match="non-empty list") as info:
        answers_of(engine, bp)
    assert info.value.where == "variables.c.choices"


# -- conversion ------------------------------------------------------------------------------

CONVERSIONS = [
    ("str", "hello", "hello"),
    ("int", "42", 42),
    ("int", " 1_000 ", 1000),
    ("int", "-7", -7),
    ("float", "2.5", 2.5),
    ("float", "1e3", 1000.0),
    ("bool", "yes", True),
    ("bool", "on", True),
    ("bool", "1", True),
    ("bool", "TRUE", True),
    ("bool", "no", False),
    ("bool", "off", False),
    ("bool", "0", False),
    ("bool", "false", False),
    ("list", "a, b ,c", ["a", "b", "c"]),
    ("list", '["a", 1]', ["a", 1]),
    ("list", "[x, y]", ["x", "y"]),
    ("list", "", []),
    ("dict", '{"a": 1}', {"a": 1}),
    ("dict", "a: 1\nb: [2]", {"a": 1, "b": [2]}),
    ("secret", "s3cret", "s3cret"),
]


@pytest.mark.parametrize(("vtype", "text", "expected"), CONVERSIONS)
def test_text_is_converted_by_type(
    engine: SDLCEngine, blueprint: Callable[..., Path], vtype: str, text: str, expected: Any
) -> None:
    bp = blueprint({"variables": {"v": {"type": vtype, "required": False}}})
    value = resolve_answers(
        load_blueprint(bp).variables,
        Evaluator(engine.environment(bp / "template")),
        base={},
        explicit={"v": text},
    )["v"]
    assert value == expected
    assert type(value) is type(expected)


REFUSALS = [
    ("int", "4.5", "expected an integer, got '4.5'"),
    ("int", "abc", "expected an integer, got 'abc'"),
    ("int", True, "expected an integer, got True"),
    ("float", "nan", "expected a number, got 'nan'"),
    ("float", "inf", "expected a number, got 'inf'"),
    ("float", "x", "expected a number, got 'x'"),
    ("bool", "maybe", "expected yes/no (true/false), got 'maybe'"),
    ("str", 5, "expected text, got an integer"),
    ("dict", "[1, 2]", "expected a mapping (JSON or YAML), got text"),
    ("list", {"a": 1}, "expected a list, got a mapping"),
    ("str", "x" * (64 * 1024 + 1), "the value is longer than 65536 characters"),
]


@pytest.mark.parametrize(("vtype", "value", "message"), REFUSALS)
def test_conversion_refusals(
    engine: SDLCEngine, blueprint: Callable[..., Path], vtype: str, value: Any, message: str
) -> None:
    bp = blueprint({"variables": {"v": {"type": vtype}}})
    with pytest.raises(ValidationError) as info:
        answers_of(engine, bp, {"v": value})
    assert info.value.message == message
    assert info.value.where == "variable 'v'"


# -- validators ------------------------------------------------------------------------------

VALIDATORS = [
    ({"regex": "[a-z]+"}, "abc", None),
    ({"regex": "[a-z]+"}, "abc1", "'abc1' does not match [a-z]+"),  # fullmatch, not search
    ({"regex": "[a-z]+", "message": "lowercase only"}, "ABC", "lowercase only"),
    ({"min_length": 3}, "ab", "length must be at least 3 (got 2)"),
    ({"max_length": 3}, "abcd", "length must be at most 3 (got 4)"),
    ({"max_length": 3, "message": "too long"}, "abcd", "too long"),
    ({"expr": "value.startswith('x')", "message": "must start with x"}, "yz", "must start with x"),
    ({"expr": "value.startswith('x')"}, "xz", None),
    (
        {"expr": "{{ value != project_name }}", "message": "differs from the project"},
        "demo",
        "differs from the project",
    ),
]


@pytest.mark.parametrize(("validator", "value", "message"), VALIDATORS)
def test_str_validators(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    validator: dict[str, Any],
    value: str,
    message: str | None,
) -> None:
    bp = blueprint({"variables": {"v": {"validators": [validator]}}})
    if message is None:
        assert answers_of(engine, bp, {"v": value}) == {"v": value}
        return
    with pytest.raises(ValidationError) as info:
        answers_of(engine, bp, {"v": value})
    assert info.value.message == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be at least 1 (got 0)"),
        ("70000", "must be at most 65535 (got 70000)"),
        ("80", None),
    ],
)
def test_min_max(
    engine: SDLCEngine, blueprint: Callable[..., Path], value: str, message: str | None
) -> None:
    bp = blueprint(
        {"variables": {"port": {"type": "int", "validators": [{"min": 1, "max": 65535}]}}}
    )
    if message is None:
        assert answers_of(engine, bp, {"port": value}) == {"port": 80}
    else:
        with pytest.raises(ValidationError) as info:
            answers_of(engine, bp, {"port": value})
        assert info.value.message == message


def test_list_length_validator(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint({"variables": {"models": {"type": "list", "validators": [{"min_length": 1}]}}})
    with pytest.raises(ValidationError, match="length must be at least 1 \\(got 0\\)"):
        answers_of(engine, bp, {"models": ""})


def test_required_str_refuses_empty(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint({"variables": {"a": {"default": "x"}, "b": {"required": False}}})
    with pytest.raises(ValidationError, match="a value is required"):
        answers_of(engine, bp, {"a": ""})
    assert answers_of(engine, bp) == {"a": "x", "b": ""}


def test_defaults_are_validated_too(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {
            "variables": {
                "pkg": {"default": "{{ project_name }}", "validators": [{"regex": "[a-z_]+"}]}
            }
        }
    )
    with pytest.raises(ValidationError, match="'my-app' does not match"):
        answers_of(engine, bp, name="my-app")


# -- secrets and literal values ------------------------------------------------------------


def test_secrets_never_stored(blueprint: Callable[..., Path], out: Path) -> None:
    records: list[GenerationRecord] = []
    engine = local_engine(load_settings(), recorder=records.append)
    bp = blueprint(
        {"variables": {"user": "app", "password": {"type": "secret"}}},
        {"settings.env": "USER={{ user }}\nPASSWORD={{ password }}\n"},
    )
    result = engine.create_project(
        str(bp), "p", output_dir=out, data={"password": "hunter2-XYZ"}, git=False
    )
    # Templates see the secret...
    assert (result.destination / "settings.env").read_text() == "USER=app\nPASSWORD=hunter2-XYZ\n"
    # ...but nothing that is stored does.
    answers_text = (result.destination / ANSWERS_FILE).read_text()
    assert "hunter2" not in answers_text and "password" not in answers_text
    assert yaml.safe_load(answers_text)["answers"] == {"project_name": "p", "user": "app"}
    assert "password" not in result.answers
    (record,) = records
    assert "hunter2" not in repr(record.to_json())
    assert record.answers == {"user": "app"}
    assert record.file_count == 2


def test_a_template_looking_value_stays_literal(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {"variables": {"title": "x", "derived": "{{ title }}!"}},
        {"README.md": "# {{ title }}\n{{ derived }}\n"},
    )
    value = "{{ 7*7 }}{% raw %}"
    result = engine.create_project(str(bp), "p", output_dir=out, data={"title": value}, git=False)
    readme = (result.destination / "README.md").read_text()
    assert readme == f"# {value}\n{value}!\n"
    assert "49" not in readme
    assert (
        yaml.safe_load((result.destination / ANSWERS_FILE).read_text())["answers"]["title"] == value
    )
