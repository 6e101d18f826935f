"""Constants of the HTTP interface (the server's settings are ``codeforge.app.config``)."""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "/api/v1"

# Free-text query values: no control characters (PostgreSQL refuses NUL in text: a 500).
PLAIN_TEXT = r"^[^\x00-\x1f]*$"
