"""The catalog's "describe what you want" box: hidden when AI is off; with the local AI on
(``CODEFORGE_AI_API_LOCAL=true`` and the AI extras installed), the real recommender's top 3,
each with its reason, as ``POST /api/v1/ai/recommend`` ranks them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Skips (fails under CI) without the AI extras, as the AI tests do.
from ai.conftest import require_extras

from codeforge.ai import local

from .conftest import Site, sign_in


@pytest.fixture
def ai_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEFORGE_AI_API_LOCAL", "false")


@pytest.fixture
def ai_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_extras()
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEFORGE_AI_API_LOCAL", "true")
    monkeypatch.setenv("CODEFORGE_CACHE_DIR", str(tmp_path / "ai-cache"))
    assert local.xllamacpp_available()


def test_the_box_is_hidden_when_ai_is_off(site: Site, ai_off: None) -> None:
    client = site.new_client()
    sign_in(client)
    assert 'action="/recommend"' not in client.get("/").text
    refused = client.get("/recommend", params={"describe": "a REST API"})
    assert refused.status_code == 503 and "AI is off on this server" in refused.text
    assert 'action="/recommend"' not in refused.text


def test_the_top_three_with_their_reasons(site: Site, ai_local: None) -> None:
    client = site.new_client()
    sign_in(client)
    assert 'action="/recommend"' in client.get("/").text
    shown = client.get("/recommend", params={"describe": "a REST API with FastAPI"})
    assert shown.status_code == 200, shown.text
    box = shown.text.split('id="recommended"')[1].split("</ol>")[0]
    names = re.findall(r'<li><a href="/blueprints/([^"]+)">', box)
    api = client.get("/api/v1/blueprints").json()
    assert len(names) == 3 and set(names) <= {b["name"] for b in api}
    assert names[0] == "web-fastapi"
    reasons = re.findall(r'<p class="help">([^<]+)</p>', box)
    assert len(reasons) == 3 and all(r.strip() for r in reasons)
    assert 'value="a REST API with FastAPI"' in shown.text  # the box keeps the text
    assert '<ul class="cards">' in shown.text  # the catalog stays below
    assert "<script>alert" not in shown.text


def test_a_blank_description_says_what_to_do(site: Site, ai_local: None) -> None:
    client = site.new_client()
    sign_in(client)
    blank = client.get("/recommend", params={"describe": "   "})
    assert blank.status_code == 422 and "describe what you want to build" in blank.text
    assert client.get("/recommend", params={"describe": "x" * 2001}).status_code == 422


def test_the_page_counts_against_the_ai_rate_limit() -> None:
    from codeforge.api.ratelimit import route_group

    assert route_group("GET", "/recommend") == "ai"
    assert route_group("GET", "/") == "read"
