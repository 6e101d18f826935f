"""Find and load a blueprint folder (``blueprint.yaml`` or ``blueprint.toml``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from codeforge import __version__
from codeforge.core.errors import BlueprintError, NotFoundError
from codeforge.templates.definition import read_definition
from codeforge.templates.schema import SEMVER_RE, Blueprint, build_blueprint

DEFINITION_NAMES = ("blueprint.yaml", "blueprint.yml", "blueprint.toml")


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key for a semantic version; a pre-release sorts before its release."""
    match = SEMVER_RE.match(version)
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre, _ = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def _check_min_version(required: str) -> None:
    if semver_key(__version__) < semver_key(required):
        raise BlueprintError(
            f"needs CodeForge {required} or newer; this is {__version__}",
            hint="upgrade CodeForge",
        )


def find_definition(folder: Path) -> Path:
    found = [folder / name for name in DEFINITION_NAMES if (folder / name).is_file()]
    if not found:
        if not folder.is_dir():
            raise NotFoundError(f"no blueprint folder at {folder}")
        raise NotFoundError(
            f"{folder} holds no blueprint.yaml or blueprint.toml",
            hint="a blueprint is a folder with blueprint.yaml (or .toml) and a template/ folder",
        )
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise BlueprintError(f"{folder} holds both {names}; keep exactly one", where=str(folder))
    return found[0]


def load_blueprint(folder: Path) -> Blueprint:
    """Load and strictly validate the blueprint in ``folder``."""
    folder = folder.resolve()
    definition = find_definition(folder)
    data, locate = read_definition(definition)
    digest = hashlib.sha256(definition.read_bytes()).hexdigest()
    blueprint = build_blueprint(
        data,
        locate,
        root=folder,
        definition=definition,
        content_hash=digest,
        version_check=_check_min_version,
    )
    template_root = blueprint.template_root
    if not template_root.is_dir():
        raise BlueprintError(
            f"template folder '{blueprint.template_dir}' does not exist", where=definition.name
        )
    if not template_root.resolve().is_relative_to(folder):
        raise BlueprintError(
            f"template folder '{blueprint.template_dir}' leaves the blueprint",
            where=definition.name,
        )
    for component in blueprint.components.values():
        comp_root = (folder / component.template_dir).resolve()
        if not comp_root.is_relative_to(folder):
            raise BlueprintError(
                f"component '{component.name}' template folder leaves the blueprint",
                where=definition.name,
            )
        if not comp_root.is_dir():
            raise BlueprintError(
                f"component '{component.name}': folder '{component.template_dir}' does not exist",
                where=definition.name,
            )
    return blueprint
