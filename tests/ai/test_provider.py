from __future__ import annotations

import pytest

from codeforge.ai.errors import AIProviderError
from codeforge.ai.provider import Provider

from .conftest import require_extras

require_extras()


def test_complete_returns_text_and_usage(smol: Provider) -> None:
    result = smol.complete([{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert result.text
    assert 0 < result.completion_tokens <= 8
    assert result.prompt_tokens > 0


def test_streaming_delivers_the_same_text(smol: Provider) -> None:
    pieces: list[str] = []
    result = smol.complete(
        [{"role": "user", "content": "Count to five."}], max_tokens=12, on_token=pieces.append
    )
    assert len(pieces) > 1
    assert "".join(pieces) == result.text


def test_json_is_constrained_by_the_schema(smol: Provider) -> None:
    schema = {
        "type": "object",
        "properties": {"color": {"enum": ["red", "green", "blue"]}, "n": {"type": "integer"}},
        "required": ["color", "n"],
        "additionalProperties": False,
    }
    data, _ = smol.complete_json(
        [{"role": "user", "content": "Pick a color."}], schema, max_tokens=30
    )
    assert data["color"] in {"red", "green", "blue"}
    assert isinstance(data["n"], int)


def test_truncated_json_is_a_provider_error(smol: Provider) -> None:
    schema = {
        "type": "object",
        "properties": {"story": {"type": "string"}},
        "required": ["story"],
        "additionalProperties": False,
    }
    with pytest.raises(AIProviderError, match="schema"):
        smol.complete_json(
            [{"role": "user", "content": "Write a long story."}], schema, max_tokens=3
        )


def test_unreachable_endpoint_is_a_provider_error() -> None:
    provider = Provider(base_url="http://127.0.0.1:9/v1", model="m", timeout=2, max_retries=0)
    with pytest.raises(AIProviderError, match="cannot reach"):
        provider.complete([{"role": "user", "content": "hi"}], max_tokens=1)
