"""Fixtures shared by the core test folders live in tests/blueprint_factory.py."""

from blueprint_factory import blueprint, codeforge_dirs, engine, out  # noqa: F401
