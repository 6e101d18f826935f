"""``codeforge config get|set|unset|list|path``: edits the TOML config file atomically."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click

from codeforge.cli.common import echo_json
from codeforge.errors import UsageError
from codeforge.settings import (
    CONFIG_FILE,
    KNOWN_KEYS,
    OPEN_PREFIXES,
    SECRET_KEYS,
    _dir_from_env,
    get_dotted,
    read_config_file,
)


def _config_path() -> Path:
    return _dir_from_env(os.environ, "config") / CONFIG_FILE


def _check_key(key: str) -> None:
    if key in KNOWN_KEYS or any(key.startswith(p) and len(key) > len(p) for p in OPEN_PREFIXES):
        return
    raise UsageError(
        f"unknown config key {key!r}",
        hint="known keys: " + ", ".join([*KNOWN_KEYS, "defaults.<variable>"]),
    )


def _parse_value(key: str, text: str) -> Any:
    expected = KNOWN_KEYS.get(key)
    if expected is str:
        return text
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    if expected is list and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if expected is not None and not isinstance(value, expected):
        raise UsageError(f"{key} expects a {expected.__name__}, got {text!r}")
    if expected is int and isinstance(value, bool):
        raise UsageError(f"{key} expects an integer, got {text!r}")
    return value


def _write(path: Path, data: dict[str, Any]) -> None:
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.chmod(tmp, 0o600)  # the file may hold an API key
    os.replace(tmp, path)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _shown(key: str, value: Any) -> Any:
    return "********" if key in SECRET_KEYS and value else value


@click.group()
def config() -> None:
    """Read and edit the user configuration.

    \b
    Precedence: command-line flags > CODEFORGE_* environment variables
    > this config file > built-in defaults.
    """


@config.command()
def path() -> None:
    """Print the config file's path."""
    click.echo(str(_config_path()))


@config.command("get")
@click.argument("key")
def get_(key: str) -> None:
    """Print KEY's value."""
    _check_key(key)
    try:
        value = get_dotted(read_config_file(_config_path()), key)
    except KeyError:
        raise UsageError(f"{key} is not set", where=str(_config_path())) from None
    click.echo(value if isinstance(value, str) else repr(value))


@config.command("set")
@click.argument("key")
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Set KEY to VALUE (TOML literal, or text)."""
    _check_key(key)
    file = _config_path()
    data = read_config_file(file)
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{part} is a value, not a table", where=str(file))
        node = child
    node[parts[-1]] = _parse_value(key, value)
    _write(file, data)


@config.command()
@click.argument("key")
def unset(key: str) -> None:
    """Remove KEY."""
    _check_key(key)
    file = _config_path()
    data = read_config_file(file)
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.get(part, {})
    if not isinstance(node, dict) or parts[-1] not in node:
        raise UsageError(f"{key} is not set", where=str(file))
    del node[parts[-1]]
    _write(file, data)


@config.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """Print every key set in the config file."""
    flat = {k: _shown(k, v) for k, v in _flatten(read_config_file(_config_path())).items()}
    if as_json:
        echo_json(flat)
        return
    for key, value in flat.items():
        click.echo(f"{key} = {value!r}" if not isinstance(value, str) else f"{key} = {value}")
