"""Integrations with outside tools: git, git hosts, Docker."""
