"""One error tree for the whole library.

Every adapter translates these once: the CLI into a one-line message and an exit
code, the API into a 4xx JSON body. ``exit_code`` and ``http_status`` live on the
class so that adding an error never means touching the adapters.
"""

from __future__ import annotations


class CodeForgeError(Exception):
    """Base of every error CodeForge raises on purpose."""

    exit_code = 1
    http_status = 400
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return text

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.kind, "message": self.message, "where": self.where, "hint": self.hint}


class UsageError(CodeForgeError):
    """The command or request itself is malformed."""

    exit_code = 2
    kind = "usage"


class ValidationError(CodeForgeError):
    """An answer failed its type, choices or a validator."""

    exit_code = 3
    http_status = 422
    kind = "validation"

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        hint: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(
            message, hint=hint, where=where or (f"variable '{variable}'" if variable else None)
        )
        self.variable = variable


class ConflictError(CodeForgeError):
    """The destination is not in a state the operation can safely change."""

    exit_code = 4
    http_status = 409
    kind = "conflict"


class TemplateError(CodeForgeError):
    """A template failed to parse or render."""

    exit_code = 5
    http_status = 422
    kind = "template"


class SecurityError(CodeForgeError):
    """The blueprint, a path or a request tried something unsafe."""

    exit_code = 6
    http_status = 422
    kind = "security"


class ForbiddenError(CodeForgeError):
    """The caller's role does not allow what it asked (403 in the API)."""

    exit_code = 6
    http_status = 403
    kind = "forbidden"


class BlueprintError(CodeForgeError):
    """A blueprint definition is invalid (schema, syntax, missing files)."""

    exit_code = 7
    http_status = 422
    kind = "blueprint"


class NotFoundError(CodeForgeError):
    """A named blueprint, project, component or object does not exist."""

    exit_code = 8
    http_status = 404
    kind = "not_found"


class ResourceLimitError(TemplateError):
    """A render exceeded its time, size, iteration or file-count budget."""

    kind = "resource_limit"


class StoreError(CodeForgeError):
    """The project store (database) could not record or read something."""

    exit_code = 9
    http_status = 503
    kind = "store"


class ArtifactStoreError(StoreError):
    """The artifact store (an S3 bucket) could not be reached or refused a call.

    The same ``store`` error to callers; a class of its own so metrics count it apart."""


class GitError(CodeForgeError):
    """A git command failed (the hardened wrapper lives in integrations/git.py)."""

    kind = "git"
    exit_code = 10


class GitMissing(GitError):
    """git is not installed."""


class RedisUnavailable(CodeForgeError):
    """Redis is configured but cannot be reached (the breaker is open or a call failed)."""

    kind = "redis"
    exit_code = 9
    http_status = 503


class QueueUnavailable(CodeForgeError):
    """The job queue (Redis) cannot take the job now."""

    kind = "queue_unavailable"
    http_status = 503
    exit_code = 9


class PluginError(CodeForgeError):
    """An installed plugin failed to load or raised from a hook."""

    exit_code = 1
    http_status = 500
    kind = "plugin"


class Declined(CodeForgeError):
    """The user answered no to a confirmation; nothing was written."""

    exit_code = 14
    kind = "declined"


class CredentialError(CodeForgeError):
    """A credential is missing, was refused by its provider (401) or lacks a scope (403)."""

    exit_code = 15
    http_status = 422
    kind = "credentials"


class CredentialKeyError(CredentialError):
    """Stored credentials cannot be opened with the key at hand (a wrong or changed key)."""

    http_status = 500
    kind = "credentials_key"


class NetworkError(CodeForgeError):
    """A forge could not be reached (DNS, refused connection, timeout, TLS)."""

    exit_code = 10
    http_status = 502
    kind = "network"


EXIT_CODES: dict[str, int] = {
    cls.kind: cls.exit_code
    for cls in (
        CodeForgeError,
        UsageError,
        ValidationError,
        ConflictError,
        TemplateError,
        SecurityError,
        BlueprintError,
        NotFoundError,
        StoreError,
    )
}
