"""Fixtures for the source tests: isolated CodeForge folders, git repositories in tmp_path."""

from blueprint_factory import blueprint, codeforge_dirs, engine, out  # noqa: F401
