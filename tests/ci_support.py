"""Skips that CI does not allow: a tool CI installs must be there, so its absence fails."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip the test with ``reason``; with ``CI`` set, fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so it must be there)", pytrace=False)
    pytest.skip(reason)
