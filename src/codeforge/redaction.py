"""Credentials out of messages: ``user:token@`` hidden in every URL of a text.

Part of the kernel beside :mod:`codeforge.errors`: the git wrapper
(``codeforge.integrations.git``) and the Redis connection (``codeforge.cache``)
both redact what they raise, so this module sits below every package and
imports none of them (contract ``kernel``).
"""

from __future__ import annotations

import re
from typing import Final

_CREDENTIALS_RE: Final = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/@\s]+)@")
_SSH_SCHEMES: Final = frozenset({"ssh://", "git+ssh://", "ssh+git://"})


def _redact_match(match: re.Match[str]) -> str:
    scheme, info = match.group("scheme"), match.group("info")
    if scheme.lower() in _SSH_SCHEMES:
        # An ssh login name is not a secret (and is needed to read the URL); a password is.
        user, sep, _ = info.partition(":")
        return f"{scheme}{user}:***@" if sep else match.group(0)
    return f"{scheme}***@"


def redact(text: str) -> str:
    """Hide ``user:password@`` (and any ``token@``) in every URL inside ``text``."""
    return _CREDENTIALS_RE.sub(_redact_match, text)
