"""Errors of the AI layer, all in the one CodeForge error tree."""

from __future__ import annotations

from codeforge.errors import CodeForgeError, SecurityError

ENABLE_HINT = (
    "install codeforge[ai-local] for the local model, "
    "or set CODEFORGE_AI_BASE_URL to an OpenAI-compatible endpoint"
)


class AIUnavailableError(CodeForgeError):
    """No model is available: neither the local extra nor a configured endpoint."""

    exit_code = 12
    http_status = 503
    kind = "ai_unavailable"

    def __init__(
        self,
        message: str = "AI is off: install codeforge[ai-local] or set CODEFORGE_AI_BASE_URL",
        *,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint or ENABLE_HINT)


class AIProviderError(CodeForgeError):
    """The model endpoint failed, timed out or answered something unusable."""

    exit_code = 13
    http_status = 502
    kind = "ai_provider"


class AITimeoutError(AIProviderError):
    """The model did not answer within the time allowed."""

    kind = "ai_timeout"


class AIAnswerError(AIProviderError):
    """The model answered, but not in the shape asked for (cut off, or off the schema)."""

    kind = "ai_answer"


class AIServerLostError(AIProviderError):
    """The model server stopped answering midway through a review: what was done is
    reported, the files left are listed as not reviewed (exit 13, like every provider
    failure)."""

    kind = "ai_server_lost"


class ModelIntegrityError(SecurityError):
    """A model file does not match its pinned checksum."""

    kind = "model_integrity"
