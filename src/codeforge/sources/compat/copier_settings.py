"""copier's ``_`` settings, checked in copier's order, with copier's defaults filled in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeforge.errors import BlueprintError
from codeforge.sources.compat.copier_migrations import map_migrations
from codeforge.sources.compat.jinja import check_envops
from codeforge.templates.sections import Migration

DEFAULT_EXCLUDE = (
    "copier.yaml",
    "copier.yml",
    "~*",
    "*.py[co]",
    "__pycache__",
    ".git",
    ".DS_Store",
    ".svn",
)
SETTINGS = (
    "_subdirectory",
    "_exclude",
    "_skip_if_exists",
    "_templates_suffix",
    "_answers_file",
    "_tasks",
    "_migrations",
    "_envops",
    "_jinja_extensions",
    "_secret_questions",
    "_min_copier_version",
    "_message_before_copy",
    "_message_after_copy",
    "_message_before_update",
    "_message_after_update",
    "_preserve_symlinks",
)
# Builds the error for a key (and sub-keys) at its line in the definition.
Fail = Callable[..., BlueprintError]


@dataclass(frozen=True)
class Settings:
    """copier's ``_`` settings, checked, with their defaults filled in."""

    preserve_symlinks: bool
    subdir: str
    suffix: str
    envops: dict[str, Any]
    exclude: tuple[str, ...]
    answers_file: str
    tasks: list[Any]
    mapped: tuple[Migration, ...]
    unmapped: tuple[Mapping[str, Any], ...]
    extensions: tuple[str, ...]
    skip_if_exists: tuple[str, ...]


def read_settings(settings: Mapping[str, Any], definition: Path, fail: Fail) -> Settings:
    """Check the ``_`` settings in copier's order and fill in copier's defaults."""
    preserve_symlinks = settings.get("_preserve_symlinks", False)
    if not isinstance(preserve_symlinks, bool):
        raise fail("_preserve_symlinks", "expected true or false")
    subdir = _subdirectory(settings, fail)
    suffix = settings.get("_templates_suffix", ".jinja")
    if not isinstance(suffix, str):
        raise fail("_templates_suffix", "expected a string")
    envops = check_envops(settings.get("_envops"), f"{definition.name}: _envops")
    envops.setdefault("keep_trailing_newline", True)
    envops.setdefault("undefined", "jinja2.Undefined")  # copier's default: missing names are ""
    exclude = (
        string_list(settings, "_exclude", fail)
        if "_exclude" in settings
        else (list(DEFAULT_EXCLUDE) if subdir.strip("/") in ("", ".") else [])
    )
    answers_file = settings.get("_answers_file", ".copier-answers.yml")
    if not isinstance(answers_file, str) or answers_file.startswith("/"):
        raise fail("_answers_file", "expected a relative path")
    tasks = settings.get("_tasks", [])
    if not isinstance(tasks, list):
        raise fail("_tasks", "expected a list")
    migrations = settings.get("_migrations", [])
    if not isinstance(migrations, list):
        raise fail("_migrations", "expected a list")
    mapped, unmapped = map_migrations(migrations)
    return Settings(
        preserve_symlinks=preserve_symlinks,
        subdir=subdir,
        suffix=suffix,
        envops=envops,
        exclude=tuple(exclude),
        answers_file=answers_file,
        tasks=tasks,
        mapped=mapped,
        unmapped=unmapped,
        extensions=tuple(string_list(settings, "_jinja_extensions", fail)),
        skip_if_exists=tuple(string_list(settings, "_skip_if_exists", fail)),
    )


def _subdirectory(settings: Mapping[str, Any], fail: Fail) -> str:
    """Return ``_subdirectory``: a plain relative path that stays inside the template."""
    subdir = settings.get("_subdirectory", "")
    if not isinstance(subdir, str) or "{" in subdir:
        raise fail(
            "_subdirectory", "expected a plain relative path (templated ones are not supported)"
        )
    parts = subdir.replace("\\", "/").split("/")
    if subdir.startswith(("/", "\\")) or ".." in parts:
        raise fail("_subdirectory", f"{subdir!r} must stay inside the template")
    return subdir


def string_list(settings: Mapping[str, Any], key: str, fail: Fail) -> list[str]:
    """Return the setting ``key`` (default empty), which must be a list of strings."""
    value = settings.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(key, "expected a list of strings")
    return list(value)
