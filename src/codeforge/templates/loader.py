"""Find and load a blueprint folder (``blueprint.yaml`` or ``blueprint.toml``)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from codeforge import __version__
from codeforge.errors import BlueprintError, NotFoundError
from codeforge.templates.definition import Locator, read_definition
from codeforge.templates.schema import SEMVER_RE, Blueprint
from codeforge.templates.validation import build_blueprint

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


def _cached_definition(cache_dir: Path | None, digest: str) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / "definitions" / f"{__version__}-{digest}.json"


class SharedDefinitions(Protocol):
    """A fleet-wide store of parsed definitions (``codeforge.cache.shared.SharedCache``)."""

    def worth(self, count: int) -> bool: ...

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


# Asked only on a local miss or a new parse: without Redis it answers None.
SharedLookup = Callable[[], SharedDefinitions | None]


def _no_shared() -> SharedDefinitions | None:
    return None


def _read_data(
    definition: Path,
    raw: bytes,
    cache_file: Path | None,
    digest: str = "",
    shared: SharedLookup = _no_shared,
) -> tuple[dict[str, Any], Locator]:
    """Parse the definition; reuse an earlier parse of the same bytes (saves loading PyYAML).

    With caching on, a local miss asks the shared cache (Redis, when configured).
    """
    if cache_file is not None:
        try:
            data = json.loads(cache_file.read_bytes())
        except (OSError, ValueError):
            data = _shared_data(shared(), digest)
        if isinstance(data, dict):
            # Only definitions that already validated are cached; positions are not needed.
            return data, _no_positions
    return read_definition(definition)


def _no_positions(keys: Any) -> int | None:
    return None


def _shared_data(shared: SharedDefinitions | None, digest: str) -> Any:
    if shared is None or not shared.worth(1):
        return None
    blob = shared.get(f"{__version__}:{digest}")
    try:
        return json.loads(blob) if blob is not None else None
    except ValueError:
        return None


def _publish_data(shared: SharedDefinitions | None, digest: str, data: dict[str, Any]) -> None:
    if shared is None or not shared.worth(1):
        return
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):
        return
    if json.loads(text) == data:  # plain JSON only, as on disk
        shared.put(f"{__version__}:{digest}", text.encode())


def _store_data(cache_file: Path | None, data: dict[str, Any]) -> None:
    if cache_file is None:
        return
    try:
        text = json.dumps(data)
        if json.loads(text) != data:
            return  # not plain JSON (dates, say): parse it each time instead
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cache_file)
    except (OSError, TypeError, ValueError):
        pass  # the cache is an optimisation only


def load_blueprint(
    folder: Path, *, cache_dir: Path | None = None, shared: SharedLookup = _no_shared
) -> Blueprint:
    """Load and strictly validate the native blueprint in ``folder``.

    Other formats load through their dialect (:func:`codeforge.core.blueprints.load_folder`).

    With ``cache_dir``, the parsed definition is cached by content hash, and
    ``shared`` gives the fleet's layer under that cache (Redis, when configured).
    """
    folder = folder.resolve()
    definition = find_definition(folder)
    try:
        raw = definition.read_bytes()
    except OSError as exc:
        raise BlueprintError(f"cannot read: {exc.strerror}", where=str(definition)) from exc
    digest = hashlib.sha256(raw).hexdigest()
    cache_file = _cached_definition(cache_dir, digest)
    shared_key = f"{definition.suffix}:{digest}"  # the same bytes as YAML and TOML differ
    data, locate = _read_data(definition, raw, cache_file, shared_key, shared)
    blueprint = build_blueprint(
        data,
        locate,
        root=folder,
        definition=definition,
        content_hash=digest,
        version_check=_check_min_version,
    )
    if cache_file is not None and not cache_file.exists():
        _store_data(cache_file, data)
        if locate is not _no_positions:  # parsed here, not taken from a cache
            _publish_data(shared(), shared_key, data)
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
