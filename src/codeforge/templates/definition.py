"""Read a blueprint definition (YAML or TOML) into plain data plus a line locator.

Safe YAML only, with limits on size, nesting depth and aliases; duplicate keys
are errors. Every error names the file and line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codeforge.errors import BlueprintError

MAX_DEFINITION_BYTES = 1024 * 1024
MAX_DEPTH = 40
MAX_ALIASES = 100
MAX_NODES = 100_000  # after expanding aliases (billion laughs)

_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column \d+\)$")

KeyPath = tuple[str | int, ...]
Locator = Callable[[KeyPath], int | None]


def where(path: Path, line: int | None) -> str:
    return f"{path.name}:{line}" if line else path.name


def read_definition(path: Path) -> tuple[dict[str, Any], Locator]:
    """Parse ``path`` and return its mapping and a function from key path to line."""
    try:
        size = path.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise BlueprintError(
                f"definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES}", where=path.name
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise BlueprintError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BlueprintError(f"not UTF-8 text (byte {exc.start})", where=path.name) from exc
    if path.suffix == ".toml":
        return _read_toml(path, text)
    return _read_yaml(path, text)


# -- TOML -----------------------------------------------------------------------------


def _read_toml(path: Path, text: str) -> tuple[dict[str, Any], Locator]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python < 3.14 keeps the position only in the text: "... (at line 3, column 4)".
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        found = _TOML_POSITION_RE.search(message)
        if found is not None:
            line = line or int(found.group(1))
            message = message[: found.start()].rstrip()
        raise BlueprintError(f"invalid TOML: {message}", where=where(path, line)) from exc
    lines = text.splitlines()

    def locate(keys: KeyPath) -> int | None:
        # tomllib keeps no positions: find the keys in order, each after the last.
        start = 0
        found: int | None = None
        for key in keys:
            if isinstance(key, int):
                continue
            pattern = re.compile(r"(^|[\s{,.\[\"'])" + re.escape(key) + r"[\"']?\s*(=|\]|\.)")
            for index in range(start, len(lines)):
                if pattern.search(lines[index]):
                    found, start = index + 1, index
                    break
        return found

    return data, locate


# -- YAML -----------------------------------------------------------------------------


def _read_yaml(path: Path, text: str) -> tuple[dict[str, Any], Locator]:
    """Parse YAML ``text`` safely into a mapping and a locator over its key lines."""
    positions: dict[KeyPath, int] = {}
    data = _parse_yaml(path, text, positions)
    if not isinstance(data, dict):
        raise BlueprintError("the definition must be a mapping at the top level", where=path.name)
    return data, _yaml_locator(positions)


def _parse_yaml(path: Path, text: str, positions: dict[KeyPath, int]) -> Any:
    """Compose ``text`` under the limits, record key lines into ``positions``, build the data."""
    import yaml

    try:
        loader = _limited_loader(path)(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise BlueprintError("the definition is empty", where=path.name)
            try:
                _expanded_size(path, node, {}, set())
            except RecursionError:
                raise BlueprintError("YAML aliases nest too deeply", where=path.name) from None
            _record_positions(path, node, (), positions)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise BlueprintError(
            f"invalid YAML: {exc.problem or exc}", where=where(path, line)
        ) from exc
    except yaml.YAMLError as exc:
        raise BlueprintError(f"invalid YAML: {exc}", where=path.name) from exc


def _limited_loader(path: Path) -> type[Any]:
    """Return a safe YAML loader class that caps aliases and nesting depth for ``path``."""
    import yaml

    class Loader(yaml.SafeLoader):
        aliases = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                Loader.aliases += 1
                if Loader.aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise BlueprintError(
                        f"more than {MAX_ALIASES} YAML aliases", where=where(path, mark.line + 1)
                    )
            self.depth += 1
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise BlueprintError(
                    f"nesting deeper than {MAX_DEPTH} levels", where=where(path, mark.line + 1)
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    Loader.aliases = 0
    return Loader


def _record_positions(
    path: Path, node: Any, prefix: KeyPath, positions: dict[KeyPath, int]
) -> None:
    """Store the line of every key and item under ``node``; a duplicate key is an error."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise BlueprintError(
                    f"duplicate key '{key}' (first at line {seen[key]})",
                    where=where(path, line),
                )
            seen[key] = line
            positions[(*prefix, key)] = line
            _record_positions(path, value_node, (*prefix, key), positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*prefix, index)] = item.start_mark.line + 1
            _record_positions(path, item, (*prefix, index), positions)


def _expanded_size(path: Path, node: Any, memo: dict[int, int], active: set[int]) -> int:
    """Count the values under ``node`` with aliases expanded; too many is an error."""
    import yaml

    # An alias is the same node object again: count it expanded, but work it out once.
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise BlueprintError(
            "a YAML alias refers to itself", where=where(path, node.start_mark.line + 1)
        )
    active.add(key)
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(path, key_node, memo, active)
            total += _expanded_size(path, value_node, memo, active)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(path, item, memo, active)
    active.discard(key)
    memo[key] = total
    if total > MAX_NODES:
        raise BlueprintError(
            f"the definition expands to more than {MAX_NODES} values through YAML aliases",
            where=where(path, node.start_mark.line + 1),
        )
    return total


def _yaml_locator(positions: dict[KeyPath, int]) -> Locator:
    """Return a locator giving the line of the deepest recorded prefix of a key path."""

    def locate(keys: KeyPath) -> int | None:
        for cut in range(len(keys), 0, -1):
            line = positions.get(keys[:cut])
            if line is not None:
                return line
        return None

    return locate
