"""The AI catalog on the engine's blueprints; answers through the engine's validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke

from codeforge.ai.bridge import check_answers, engine_catalog, entry_from_blueprint
from codeforge.ai.describe import answers_schema
from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.errors import ValidationError
from codeforge.settings import load_settings
from codeforge.templates.schema import Blueprint

from .conftest import require_extras


@pytest.fixture
def engine() -> SDLCEngine:
    return local_engine(load_settings())


@pytest.fixture
def fastapi(engine: SDLCEngine) -> Blueprint:
    return next(bp for bp in engine.load_blueprints() if bp.name == "web-fastapi")


def test_engine_catalog_is_the_builtins(engine: SDLCEngine) -> None:
    entries = engine_catalog(engine)
    assert [e.name for e in entries] == sorted(bp.name for bp in engine.load_blueprints())
    web = next(e for e in entries if e.name == "web-fastapi")
    database = next(v for v in web.variables if v.name == "database")
    assert database.choices == ("none", "sqlite", "postgresql")
    assert database.default == "sqlite"
    email = next(v for v in web.variables if v.name == "author_email")
    assert email.validators and "regex" in email.validators[0]


def test_answers_schema_of_a_builtin(fastapi: Blueprint) -> None:
    props = answers_schema(entry_from_blueprint(fastapi))["properties"]
    # Jinja defaults (package_name, description) are derived, never asked.
    assert "package_name" not in props and "description" not in props
    assert {"database", "use_docker", "ci", "license", "python_version"} <= set(props)


def test_valid_answers_are_kept_and_converted(engine: SDLCEngine, fastapi: Blueprint) -> None:
    checked = check_answers(engine, fastapi, {"database": "postgresql", "use_docker": "no"})
    assert checked.answers == {"database": "postgresql", "use_docker": False}
    assert checked.dropped == {}


def test_invalid_answers_are_dropped_with_the_engine_reason(
    engine: SDLCEngine, fastapi: Blueprint
) -> None:
    checked = check_answers(
        engine,
        fastapi,
        {"database": "mongodb", "author_email": "not an e-mail", "ci": "gitlab", "nope": 1},
    )
    assert checked.answers == {"ci": "gitlab"}
    assert set(checked.dropped) == {"database", "author_email", "nope"}
    assert "e-mail" in checked.dropped["author_email"]


def test_explicit_data_wins_and_its_errors_are_raised(
    engine: SDLCEngine, fastapi: Blueprint
) -> None:
    checked = check_answers(engine, fastapi, {"ci": "gitlab"}, explicit={"ci": "none"})
    assert checked.answers == {}
    with pytest.raises(ValidationError) as info:
        check_answers(engine, fastapi, {"ci": "gitlab"}, explicit={"database": "oracle"})
    assert info.value.variable == "database"


def test_cli_recommend_uses_the_engine_blueprints() -> None:
    require_extras()
    code, out, err = invoke(
        "ai", "recommend", "a REST API with FastAPI and PostgreSQL", "--json", "--top", "3"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data[0]["name"] == "web-fastapi"
    assert {d["name"] for d in data} <= {"web-fastapi", "cli-click", "lib-python"}


def test_cli_describe_on_the_builtins(
    qwen_server: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require_extras()
    from codeforge.ai.local import LocalServer

    assert isinstance(qwen_server, LocalServer)
    monkeypatch.setenv("CODEFORGE_AI_BASE_URL", qwen_server.base_url)
    monkeypatch.setenv("CODEFORGE_AI_API_KEY", qwen_server.api_key)
    monkeypatch.setenv("CODEFORGE_AI_MODEL", qwen_server.model)
    code, out, err = invoke("ai", "describe", "a FastAPI web service with PostgreSQL")
    assert code == 0, err
    data = json.loads(out)
    assert data["blueprint"] == "web-fastapi"
    assert set(data) == {"blueprint", "version", "use", "answers", "dropped"}
    assert data["use"] == "web-fastapi"
    engine = local_engine(load_settings())
    bp = next(b for b in engine.load_blueprints() if b.name == "web-fastapi")
    # What comes back passes the engine's validation as it is.
    assert check_answers(engine, bp, data["answers"]).dropped == {}
