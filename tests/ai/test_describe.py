from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from codeforge.ai.catalog import CatalogEntry, VariableInfo
from codeforge.ai.describe import (
    answers_schema,
    break_tie,
    describe,
    fill_answers,
    focus,
    mentions,
    variable_schema,
)
from codeforge.ai.provider import Provider
from codeforge.ai.recommend import Recommender

from .conftest import require_extras

require_extras()


@pytest.mark.parametrize(
    ("var", "schema"),
    [
        (
            VariableInfo("n", "int", validators=({"min": 1, "max": 9},)),
            {"type": "integer", "minimum": 1, "maximum": 9},
        ),
        (VariableInfo("b", "bool"), {"type": "boolean"}),
        (VariableInfo("c", "choice", choices=("a", "b")), {"enum": ["a", "b"]}),
        (
            VariableInfo("m", "multichoice", choices=("x", "y")),
            {"type": "array", "items": {"enum": ["x", "y"]}, "uniqueItems": True},
        ),
        (
            VariableInfo("s", "str", validators=({"regex": "^[a-z]+$"},)),
            {"type": "string", "pattern": "^[a-z]+$"},
        ),
        (VariableInfo("l", "list"), {"type": "array", "items": {"type": "string"}}),
    ],
)
def test_variable_schema(var: VariableInfo, schema: dict[str, object]) -> None:
    assert variable_schema(var) == schema


def test_secrets_and_derived_defaults_are_never_asked(catalog: list[CatalogEntry]) -> None:
    fastapi = next(bp for bp in catalog if bp.name == "python-fastapi")
    props = answers_schema(fastapi)["properties"]
    assert "db_password" not in props  # secret
    assert "package_name" not in props  # Jinja default
    assert set(props) == {"database", "use_docker", "ci", "port"}


def test_describe_picks_a_blueprint_and_valid_answers(
    qwen: Provider, catalog: list[CatalogEntry], ai_cache: Path
) -> None:
    result = describe(
        "a FastAPI service with PostgreSQL, Docker and GitHub CI on port 9000",
        catalog,
        qwen,
        Recommender(ai_cache),
    )
    assert result.blueprint == "python-fastapi"
    bp = next(b for b in catalog if b.name == result.blueprint)
    jsonschema.validate(result.answers, answers_schema(bp))
    assert set(result.answers) == {"database", "use_docker", "ci", "port"}
    assert result.answers["port"] == 9000


def test_describe_with_a_given_blueprint(
    qwen: Provider, catalog: list[CatalogEntry], ai_cache: Path
) -> None:
    result = describe(
        "spring service built with gradle",
        catalog,
        qwen,
        Recommender(ai_cache),
        blueprint="spring-boot",
    )
    assert result.blueprint == "spring-boot"
    assert result.answers["build_tool"] in {"maven", "gradle"}
    # Not mentioned, so not asked: the blueprint's default applies.
    assert "java_version" not in result.answers


def test_tie_break_is_constrained_to_the_candidates(
    smol: Provider, catalog: list[CatalogEntry]
) -> None:
    candidates = [bp for bp in catalog if bp.name in {"python-flask", "python-django"}]
    assert break_tie(smol, "a python website", candidates) in {"python-flask", "python-django"}


DATABASE = VariableInfo(
    "database", "choice", "Database engine", "sqlite", ("none", "sqlite", "postgresql")
)
DOCKER = VariableInfo("use_docker", "bool", "Add a Dockerfile and docker-compose", False)
PYTHON = VariableInfo(
    "python_version", "choice", "Minimum Python version", "3.11", ("3.11", "3.12")
)
AUTHOR = VariableInfo("author_name", "str", "Author name", "")


@pytest.mark.parametrize(
    ("text", "var", "clauses"),
    [
        ("a service on Postgres with Docker", DATABASE, ["Postgres"]),
        ("a service without a database", DATABASE, ["a service without a database"]),
        ("a FastAPI API, no Docker", DOCKER, ["no Docker"]),
        ("a REST API in Python", PYTHON, []),  # "python" alone is too common to count
        ("targets Python 3.12", PYTHON, ["targets Python 3.12"]),
        ("targets Python 3.1", PYTHON, []),  # digits match exactly
        ("a tool by Jane", AUTHOR, []),
    ],
)
def test_mentions(text: str, var: VariableInfo, clauses: list[str]) -> None:
    assert mentions(text, var) == clauses


def test_focus_asks_mentioned_variables_and_free_text() -> None:
    bp = CatalogEntry("x", variables=(DATABASE, DOCKER, PYTHON, AUTHOR))
    assert focus("an app on PostgreSQL", bp) == {"database": ["PostgreSQL"], "author_name": []}


def test_describe_fills_what_the_description_asks(
    qwen: Provider, catalog: list[CatalogEntry]
) -> None:
    fastapi = next(bp for bp in catalog if bp.name == "python-fastapi")
    answers = fill_answers(qwen, "a FastAPI service on PostgreSQL with GitLab CI", fastapi)
    jsonschema.validate(answers, {**answers_schema(fastapi), "required": []})
    assert set(answers) == {"database", "ci"}  # only what the description mentions
