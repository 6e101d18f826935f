"""AI settings: one typed object, built by :func:`load_ai_settings`, never at import.

Precedence, highest first: explicit overrides > environment
(``CODEFORGE_AI_*``, then ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``) >
``[ai]`` in ``$CODEFORGE_CONFIG_DIR/config.toml`` > defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from codeforge.errors import UsageError

DEFAULT_LOCAL_MODEL = "qwen2.5-coder-0.5b"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class AISettings(BaseModel):
    """Where the model lives and how CodeForge talks to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    allow_remote: bool = True
    local_model: str = DEFAULT_LOCAL_MODEL
    # The web API starts the local model only when asked to (a model child per server
    # process); otherwise it uses base_url, or answers 503.
    api_local: bool = False
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # The bound on the model's time for one file in `ai review` (no retry within it).
    review_timeout: float = Field(default=60.0, gt=0)


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user config folder: ``$CODEFORGE_CONFIG_DIR`` or the platform default."""
    env = os.environ if env is None else env
    if env.get("CODEFORGE_CONFIG_DIR"):
        return Path(env["CODEFORGE_CONFIG_DIR"])
    import platformdirs

    return Path(platformdirs.user_config_dir("codeforge"))


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The cache folder: ``$CODEFORGE_CACHE_DIR`` or the platform default."""
    env = os.environ if env is None else env
    if env.get("CODEFORGE_CACHE_DIR"):
        return Path(env["CODEFORGE_CACHE_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("codeforge"))


def _read_config_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"invalid TOML: {exc}", where=str(path)) from exc
    table = data.get("ai", {})
    if not isinstance(table, dict):
        raise UsageError("[ai] must be a table", where=str(path))
    return dict(table)


def _parse_bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise UsageError(f"{name} must be true or false, not {value!r}")


def load_ai_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    **overrides: Any,
) -> AISettings:
    """Build the settings from config file, environment and explicit overrides."""
    env = os.environ if env is None else env
    path = config_file or config_dir(env) / "config.toml"
    values: dict[str, Any] = _read_config_table(path)

    for key, names in (
        ("base_url", ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL")),
        ("api_key", ("CODEFORGE_AI_API_KEY", "OPENAI_API_KEY")),
        ("model", ("CODEFORGE_AI_MODEL",)),
        ("local_model", ("CODEFORGE_AI_LOCAL_MODEL",)),
    ):
        for name in names:
            if env.get(name):
                values[key] = env[name]
                break
    if env.get("CODEFORGE_AI_ALLOW_REMOTE"):
        values["allow_remote"] = _parse_bool(
            "CODEFORGE_AI_ALLOW_REMOTE", env["CODEFORGE_AI_ALLOW_REMOTE"]
        )
    if env.get("CODEFORGE_AI_API_LOCAL"):
        values["api_local"] = _parse_bool("CODEFORGE_AI_API_LOCAL", env["CODEFORGE_AI_API_LOCAL"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return AISettings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"ai.{loc}: {first['msg']}", where=str(path)) from exc
