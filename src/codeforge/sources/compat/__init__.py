"""Foreign template formats (cookiecutter, copier) loaded as CodeForge blueprints.

An adapter maps the foreign definition onto the same :class:`Blueprint` the
native loader builds, adding what the model lacks through
:class:`~codeforge.templates.schema.CompatOptions` (answer rules, render
context, Jinja options, hooks). Rendering, the sandbox, path checks, budgets
and atomic writes are CodeForge's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.errors import BlueprintError
from codeforge.templates.schema import Blueprint

COOKIECUTTER = "cookiecutter.json"
COPIER = ("copier.yml", "copier.yaml")


def compat_definition(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The definition file of one tool (``names``) in ``folder``, if it holds exactly one.

    A folder may hold both tools' files (dual-format templates); which one is used
    is the engine's choice among the dialects that recognise the folder.
    """
    found = [folder / name for name in names if (folder / name).is_file()]
    if len(found) > 1:
        both = " and ".join(p.name for p in found)
        raise BlueprintError(f"{folder} holds both {both}; keep exactly one", where=str(folder))
    return found[0] if found else None


def template_name(folder: Path, fallback: str) -> str:
    """A blueprint name from the template's folder name (``fallback`` when nothing is left)."""
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in folder.name.lower())
    return name.strip("-._")[:100] or fallback


def public_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a project records: all but the ``_private`` names."""
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def load_compat_blueprint(folder: Path, definition: Path) -> Blueprint:
    """Load the cookiecutter or copier template in ``folder``."""
    try:
        digest = hashlib.sha256(definition.read_bytes()).hexdigest()
    except OSError as exc:
        raise BlueprintError(f"cannot read: {exc.strerror}", where=str(definition)) from exc
    if definition.name == COOKIECUTTER:
        from codeforge.sources.compat import cookiecutter

        return cookiecutter.load(folder, definition, digest)
    from codeforge.sources.compat import copier

    return copier.load(folder, definition, digest)
