"""Constants of the HTTP interface (the server's settings are ``codeforge.app.config``)."""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "/api/v1"
COOKIE_NAME: Final = "codeforge_session"  # the login session (HttpOnly, SameSite=Lax)
CSRF_HEADER: Final = "X-CSRF-Token"  # echoes the session's CSRF token on unsafe methods

# Free-text query values: no control characters (PostgreSQL refuses NUL in text: a 500).
PLAIN_TEXT = r"^[^\x00-\x1f]*$"
