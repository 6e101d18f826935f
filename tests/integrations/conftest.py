"""Fixtures for the integration tests: the forge contract server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .forge_contract import ForgeContract, running_contract


@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeContract]:
    """The GitHub/GitLab contract server on 127.0.0.1 (never through a proxy)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with running_contract() as contract:
        yield contract
