"""What the AI layer needs to know about a blueprint, and a standalone loader.

The commands rank the engine's blueprints (``codeforge.app.ai_catalog``);
:func:`load_catalog` reads definition files directly (YAML with the safe loader,
or TOML; size-capped), for tests and benchmarks that need no engine.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from codeforge.errors import BlueprintError

MAX_DEFINITION_BYTES = 256 * 1024
DEFINITION_NAMES = ("blueprint.yaml", "blueprint.yml", "blueprint.toml")


@dataclass(frozen=True)
class VariableInfo:
    """One question of a blueprint, as far as the AI layer cares."""

    name: str
    type: str = "str"
    help: str = ""
    default: Any = None
    choices: tuple[Any, ...] = ()
    validators: tuple[Mapping[str, Any], ...] = ()
    when: str | None = None

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@runtime_checkable
class BlueprintInfo(Protocol):
    """The slice of a blueprint that recommendation and describe use."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def variables(self) -> Sequence[VariableInfo]: ...


@dataclass(frozen=True)
class CatalogEntry:
    """A plain :class:`BlueprintInfo` read from a definition file."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    variables: tuple[VariableInfo, ...] = ()
    version: str = ""
    path: Path | None = field(default=None, compare=False)


def search_text(bp: BlueprintInfo) -> str:
    """The text a blueprint is ranked by: name, description, tags, variable helps."""
    name = bp.name.replace("-", " ").replace("_", " ")
    parts = [f"{name}.", bp.description.strip()]
    if bp.tags:
        parts.append("Tags: " + ", ".join(bp.tags) + ".")
    helps = [v.help.strip() for v in bp.variables if v.help.strip()]
    if helps:
        parts.append("Options: " + "; ".join(helps) + ".")
    return " ".join(p for p in parts if p)


def content_hash(bp: BlueprintInfo) -> str:
    """A stable hash of what ranking depends on (cache key for embeddings)."""
    return hashlib.sha256(search_text(bp).encode("utf-8")).hexdigest()


def _choices(raw: Any) -> tuple[Any, ...]:
    if isinstance(raw, Mapping):
        return tuple(raw.values())
    if isinstance(raw, list):
        return tuple(raw)
    return ()  # a Jinja string: only known after rendering


def variable_from_mapping(name: str, spec: Any) -> VariableInfo:
    """Build a :class:`VariableInfo` from one ``variables:`` entry."""
    if not isinstance(spec, Mapping):
        spec = {"default": spec}
    validators = spec.get("validators") or ()
    return VariableInfo(
        name=str(name),
        type=str(spec.get("type", "str")),
        help=str(spec.get("help", "") or ""),
        default=spec.get("default"),
        choices=_choices(spec.get("choices")),
        validators=tuple(v for v in validators if isinstance(v, Mapping)),
        when=str(spec["when"]) if spec.get("when") is not None else None,
    )


def entry_from_mapping(data: Mapping[str, Any], *, path: Path | None = None) -> CatalogEntry:
    """Build a :class:`CatalogEntry` from a parsed definition."""
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise BlueprintError("missing or invalid 'name'", where=str(path) if path else None)
    variables = data.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise BlueprintError("'variables' must be a mapping", where=str(path) if path else None)
    tags = data.get("tags") or ()
    return CatalogEntry(
        name=name,
        description=str(data.get("description", "") or ""),
        tags=tuple(str(t) for t in tags),
        variables=tuple(variable_from_mapping(k, v) for k, v in variables.items()),
        version=str(data.get("version", "")),
        path=path,
    )


def _definition(folder: Path) -> Path | None:
    for name in DEFINITION_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_blueprint(folder: Path) -> CatalogEntry:
    """Read ``folder/blueprint.yaml`` (safe loader) or ``folder/blueprint.toml``."""
    path = _definition(folder)
    if path is None:
        raise BlueprintError("no blueprint.yaml or blueprint.toml", where=str(folder))
    if path.stat().st_size > MAX_DEFINITION_BYTES:
        raise BlueprintError("definition file too large", where=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise BlueprintError(f"invalid TOML: {exc}", where=str(path)) from exc
    except yaml.YAMLError as exc:
        raise BlueprintError(f"invalid YAML: {exc}", where=str(path)) from exc
    if not isinstance(data, Mapping):
        raise BlueprintError("a blueprint definition must be a mapping", where=str(path))
    return entry_from_mapping(data, path=path)


def load_catalog(roots: Iterable[Path]) -> list[CatalogEntry]:
    """Every blueprint directly under each root (or the root itself), sorted by name."""
    entries: dict[str, CatalogEntry] = {}
    for root in roots:
        folders = [root] if _definition(root) else sorted(root.iterdir())
        for folder in folders:
            if folder.is_dir() and _definition(folder):
                entry = read_blueprint(folder)
                entries.setdefault(entry.name, entry)
    return [entries[k] for k in sorted(entries)]


def to_json(bp: BlueprintInfo) -> str:
    """A compact JSON view (for prompts and debugging)."""
    return json.dumps(
        {"name": bp.name, "description": bp.description, "tags": list(bp.tags)},
        ensure_ascii=False,
    )
