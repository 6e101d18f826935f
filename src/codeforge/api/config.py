"""Constants of the HTTP interface (the server's settings are ``codeforge.app.config``)."""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "/api/v1"
