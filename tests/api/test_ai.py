"""``/api/v1/ai``: recommend, describe, review (SQLite; the model-backed cases on the real Qwen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

# The AI tests' fixtures: the session's local model servers and the model cache.
from ai.conftest import ai_cache, qwen_server, require_extras  # noqa: F401

from codeforge.ai import local
from codeforge.ai.review import findings_json_schema
from codeforge.app.context import local_engine

from .conftest import Api, reset_engines

AI = "/api/v1/ai"


@pytest.fixture
def api_db_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: these endpoints do not touch the data layer beyond sign-in."""
    yield f"sqlite:///{tmp_path / 'api' / 'codeforge.db'}"
    reset_engines()


@pytest.fixture
def ai_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEFORGE_AI_API_LOCAL", "true")
    monkeypatch.setattr(local, "xllamacpp_available", lambda: False)


@pytest.fixture
def on_qwen(qwen_server: object, monkeypatch: pytest.MonkeyPatch, ai_cache: Path) -> None:  # noqa: F811
    require_extras()
    assert isinstance(qwen_server, local.LocalServer)
    monkeypatch.setenv("CODEFORGE_AI_BASE_URL", qwen_server.base_url)
    monkeypatch.setenv("CODEFORGE_AI_API_KEY", qwen_server.api_key)
    monkeypatch.setenv("CODEFORGE_AI_MODEL", qwen_server.model)
    monkeypatch.setenv("CODEFORGE_CACHE_DIR", str(ai_cache))


BUGGY = "import os\n\n\ndef run(cmd):\n    return eval(cmd)\n"


@pytest.mark.parametrize("path", ["recommend", "describe", "review"])
def test_sign_in_is_required(api: Api, path: str) -> None:
    response = api.client.post(f"{AI}/{path}", json={"description": "x"})
    assert response.status_code == 401


def test_recommend_ranks_the_catalog(api: Api) -> None:
    response = api.as_(
        api.alice, "POST", f"{AI}/recommend", json={"description": "a REST API with FastAPI"}
    )
    assert response.status_code == 200, response.text
    ranked = response.json()
    assert ranked[0]["name"] == "web-fastapi"
    assert all(set(r) == {"name", "score", "reason"} for r in ranked)
    names = {b["name"] for b in api.as_(api.alice, "GET", "/api/v1/blueprints").json()}
    assert {r["name"] for r in ranked} <= names
    top1 = api.as_(api.bob, "POST", f"{AI}/recommend", json={"description": "cli", "top": 1})
    assert len(top1.json()) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"description": ""},
        {"description": "   "},
        {"description": "x", "top": 0},
        {"description": "x" * 2001},
        {"description": "x", "extra": 1},
    ],
)
def test_recommend_bad_input_is_422(api: Api, body: dict[str, object]) -> None:
    response = api.as_(api.alice, "POST", f"{AI}/recommend", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation"


def test_describe_with_the_ai_off_is_503(api: Api, ai_off: None) -> None:
    response = api.as_(api.alice, "POST", f"{AI}/describe", json={"description": "a web API"})
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "ai_unavailable"
    assert "AI is off" in body["message"] and "codeforge[ai-local]" in body["message"]


def test_the_api_does_not_start_a_local_model_unless_asked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL", "CODEFORGE_AI_API_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(local, "xllamacpp_available", lambda: True)
    started: list[str] = []
    monkeypatch.setattr(local.LocalServer, "start", lambda *a, **k: started.append("x"))
    response = api.as_(api.alice, "POST", f"{AI}/describe", json={"description": "a web API"})
    assert response.status_code == 503
    assert "CODEFORGE_AI_API_LOCAL" in response.json()["hint"]
    review = api.as_(api.alice, "POST", f"{AI}/review", json={"files": {"a.py": BUGGY}})
    assert review.status_code == 200 and review.json()["model"] is False
    assert started == []


def test_describe_unknown_blueprint_is_404(api: Api, ai_off: None) -> None:
    response = api.as_(
        api.alice, "POST", f"{AI}/describe", json={"description": "x", "blueprint": "nope"}
    )
    assert response.status_code == 404


def test_describe_bad_blueprint_name_is_422(api: Api) -> None:
    response = api.as_(
        api.alice, "POST", f"{AI}/describe", json={"description": "x", "blueprint": "../etc"}
    )
    assert response.status_code == 422


def test_review_with_the_ai_off_is_static_only(api: Api, ai_off: None) -> None:
    files = {"app/run.py": BUGGY, ".env": "TOKEN=abc", "README.md": "# hi"}
    response = api.as_(api.maya, "POST", f"{AI}/review", json={"files": files})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] is False
    assert sorted(body["skipped"]) == [".env", "README.md"]
    jsonschema.validate({"findings": body["findings"]}, findings_json_schema())
    assert {f["file"] for f in body["findings"]} == {"app/run.py"}
    assert {"F401", "S307"} <= {f["rule"] for f in body["findings"]}
    # Static findings carry their CWE (the model's are grounded on it).
    assert {(f["rule"], f["cwe"]) for f in body["findings"]} >= {("S307", "CWE-94")}


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"../escape.py": "x = 1\n"},
        {"/etc/passwd.py": "x = 1\n"},
        {"a/./b.py": "x = 1\n"},
        {"big.py": "x" * (64 * 1024 + 1)},
        {f"f{i}.py": "x = 1\n" for i in range(21)},
        {f"f{i}.py": "x" * 60_000 for i in range(5)},
    ],
)
def test_review_bad_input_is_422(api: Api, files: dict[str, str]) -> None:
    response = api.as_(api.alice, "POST", f"{AI}/review", json={"files": files})
    assert response.status_code in (413, 422), response.text


def test_describe_on_the_model(api: Api, on_qwen: None) -> None:
    from codeforge.ai.bridge import check_answers
    from codeforge.settings import load_settings

    response = api.as_(
        api.alice,
        "POST",
        f"{AI}/describe",
        json={"description": "a FastAPI service with PostgreSQL, Docker and GitHub CI"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["blueprint"] == "web-fastapi"
    assert set(body) == {"blueprint", "version", "answers", "dropped", "candidates"}
    engine = local_engine(load_settings())
    bp = next(b for b in engine.load_blueprints() if b.name == "web-fastapi")
    assert check_answers(engine, bp, body["answers"]).dropped == {}
    # The answers are usable as they are to generate.
    preview = api.as_(
        api.alice,
        "POST",
        "/api/v1/projects/preview",
        json={"name": "shop", "template": "web-fastapi", "answers": body["answers"]},
    )
    assert preview.status_code == 200, preview.text


def test_review_on_the_model(api: Api, on_qwen: None) -> None:
    response = api.as_(api.alice, "POST", f"{AI}/review", json={"files": {"run.py": BUGGY}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] is True
    jsonschema.validate({"findings": body["findings"]}, findings_json_schema())
    assert {f["file"] for f in body["findings"]} == {"run.py"}
    assert all(1 <= f["line"] <= 5 for f in body["findings"])
