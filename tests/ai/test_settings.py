from __future__ import annotations

from pathlib import Path

import pytest

from codeforge.ai import local
from codeforge.ai.errors import AIUnavailableError
from codeforge.ai.provider import is_loopback_url, open_provider
from codeforge.ai.settings import load_ai_settings
from codeforge.errors import SecurityError, UsageError


def _config(tmp_path: Path, body: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(body, encoding="utf-8")
    return {"CODEFORGE_CONFIG_DIR": str(tmp_path)}


def test_config_file_is_read(tmp_path: Path) -> None:
    env = _config(tmp_path, '[ai]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n')
    s = load_ai_settings(env)
    assert (s.base_url, s.model, s.allow_remote) == ("http://127.0.0.1:9/v1", "m", True)


@pytest.mark.parametrize(
    ("extra_env", "expected_url", "expected_key"),
    [
        ({}, "http://file/v1", "file-key"),
        ({"OPENAI_BASE_URL": "http://openai/v1"}, "http://openai/v1", "file-key"),
        (
            {"OPENAI_BASE_URL": "http://openai/v1", "CODEFORGE_AI_BASE_URL": "http://cf/v1"},
            "http://cf/v1",
            "file-key",
        ),
        (
            {"OPENAI_API_KEY": "sk-openai", "CODEFORGE_AI_API_KEY": "sk-cf"},
            "http://file/v1",
            "sk-cf",
        ),
        ({"OPENAI_API_KEY": "sk-openai"}, "http://file/v1", "sk-openai"),
    ],
)
def test_environment_overrides_config(
    tmp_path: Path, extra_env: dict[str, str], expected_url: str, expected_key: str
) -> None:
    env = _config(tmp_path, '[ai]\nbase_url = "http://file/v1"\napi_key = "file-key"\n')
    s = load_ai_settings({**env, **extra_env})
    assert s.base_url == expected_url
    assert s.api_key is not None and s.api_key.get_secret_value() == expected_key
    assert expected_key not in repr(s)


def test_explicit_override_beats_environment(tmp_path: Path) -> None:
    s = load_ai_settings({"CODEFORGE_AI_MODEL": "env"}, config_file=tmp_path / "none", model="x")
    assert s.model == "x"


@pytest.mark.parametrize(
    "body", ["[ai\n", "[ai]\nunknown = 1\n", "[ai]\ntimeout = -1\n", 'ai = "x"\n']
)
def test_bad_config_names_the_file(tmp_path: Path, body: str) -> None:
    with pytest.raises(UsageError) as info:
        load_ai_settings(_config(tmp_path, body))
    assert str(tmp_path / "config.toml") in str(info.value)


def test_allow_remote_false_refuses_a_remote_endpoint(tmp_path: Path) -> None:
    env = {
        "CODEFORGE_CONFIG_DIR": str(tmp_path),
        "CODEFORGE_AI_BASE_URL": "https://api.example.com/v1",
        "CODEFORGE_AI_ALLOW_REMOTE": "false",
    }
    with pytest.raises(SecurityError, match=r"api\.example\.com"):
        open_provider(load_ai_settings(env))


def test_allow_remote_false_accepts_loopback(tmp_path: Path) -> None:
    env = {
        "CODEFORGE_CONFIG_DIR": str(tmp_path),
        "CODEFORGE_AI_BASE_URL": "http://127.0.0.1:1/v1",
        "CODEFORGE_AI_ALLOW_REMOTE": "no",
    }
    provider = open_provider(load_ai_settings(env))
    assert provider.server is None and provider.base_url == "http://127.0.0.1:1/v1"


def test_bad_boolean_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="CODEFORGE_AI_ALLOW_REMOTE"):
        load_ai_settings(
            {"CODEFORGE_CONFIG_DIR": str(tmp_path), "CODEFORGE_AI_ALLOW_REMOTE": "maybe"}
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8/v1", True),
        ("http://localhost/v1", True),
        ("http://[::1]:8/v1", True),
        ("http://10.0.0.1/v1", False),
        ("https://api.openai.com/v1", False),
    ],
)
def test_is_loopback_url(url: str, expected: bool) -> None:
    assert is_loopback_url(url) is expected


def test_ai_off_message_without_extras_or_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "xllamacpp_available", lambda: False)
    with pytest.raises(AIUnavailableError) as info:
        open_provider(load_ai_settings({"CODEFORGE_CONFIG_DIR": str(tmp_path)}))
    assert "AI is off" in str(info.value)
    assert info.value.hint is not None
    assert "codeforge[ai-local]" in info.value.hint
    assert "CODEFORGE_AI_BASE_URL" in info.value.hint


def test_api_local_is_off_by_default_and_set_by_file_or_env(tmp_path: Path) -> None:
    assert load_ai_settings({}, config_file=tmp_path / "none").api_local is False
    env = _config(tmp_path, "[ai]\napi_local = true\n")
    assert load_ai_settings(env).api_local is True
    assert load_ai_settings({**env, "CODEFORGE_AI_API_LOCAL": "no"}).api_local is False
