"""Container registry logins for the adapters: the ``docker`` provider of ``codeforge
credentials`` (see ``integrations/containers/registry.py``)."""

from __future__ import annotations

from typing import Final

from codeforge.integrations.containers.registry import RegistryProvider, check_secret

__all__ = ["REGISTRY", "check_secret"]

REGISTRY: Final = RegistryProvider()
