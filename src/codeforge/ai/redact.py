"""Redaction: nothing secret goes to a model.

Applied by the provider to every message it sends, and by the context builders
(which also skip ``.env`` files and similar entirely).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath

REDACTED = "[REDACTED]"

# Token shapes that are secret whatever their surroundings.
_TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bcf_[A-Za-z0-9]{32,}"),
)
# key = value / key: value where the key names a secret.
_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<key>\b[\w.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|
        access[_\-]?key|private[_\-]?key|credential|auth)[\w.\-]*)
    (?P<sep>["']?\s*[:=]\s*)
    (?P<value>"[^"\n]*"|'[^'\n]*'|[^\s,;\n]+)
    """
)
# user:password@ in URLs.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@", re.I)

_SECRET_FILE_NAMES = re.compile(
    r"""(?ix)^(
        \.env(\..*)? | .*\.env | \.netrc | \.npmrc | \.pypirc | id_(rsa|dsa|ecdsa|ed25519)(\.pub)?
        | .*\.(pem|key|p12|pfx|keystore|jks) | credentials(\.json)? | secrets?\.(ya?ml|json|toml)
        | \.codeforge-secrets.*
    )$"""
)


_CODE_WORDS = frozenset(
    [
        "None",
        "True",
        "False",
        "null",
        "true",
        "false",
        "str",
        "int",
        "bytes",
        "float",
        "bool",
        "dict",
        "list",
        "Any",
        "Optional",
        "SecretStr",
        "SecretBytes",
    ]
)
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def _looks_like_code(value: str) -> bool:
    """An unquoted value that is a reference or an expression, not a literal secret."""
    if value[0] in "\"'":
        return False
    return (
        value in _CODE_WORDS
        or value.startswith("=")
        or any(c in value for c in "()[]{}")
        or bool(_DOTTED_NAME.match(value))
    )


def is_secret_file(path: str | PurePath) -> bool:
    """True for files whose whole content is secret (``.env``, keys, credentials)."""
    name = PurePath(path).name
    return bool(_SECRET_FILE_NAMES.match(name))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and anything shaped like a secret with ``[REDACTED]``."""
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)

    def _assignment(m: re.Match[str]) -> str:
        value = m.group("value")
        if REDACTED in value or not value.strip("\"'") or _looks_like_code(value):
            return m.group(0)
        quote = value[0] if value[0] in "\"'" else ""
        return f"{m.group('key')}{m.group('sep')}{quote}{REDACTED}{quote}"

    return _ASSIGNMENT.sub(_assignment, text)
