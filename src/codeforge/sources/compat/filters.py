"""The Ansible-style filters copier templates use, re-implemented for the sandbox.

copier loads ``jinja2-ansible-filters`` (GPL-3.0) into every environment. CodeForge
(MIT) provides the host-independent part of that set itself, with the same output
for plain data: YAML/JSON, base64, hashes, paths as text, regexes, ``ternary``,
``combine``... Filters that read the host (``fileglob``, ``expanduser``,
``expandvars``, ``realpath``, ``relpath``) are left out on purpose: a template
must not read files or environment variables (threat model, surface 1). Regexes
run with a time limit so a pattern cannot hang the render.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ntpath
import os.path
import shlex
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import FilterArgumentError

from codeforge.errors import ResourceLimitError

REGEX_TIMEOUT = 1.0
_UUID_NAMESPACE = uuid.UUID("20851c88-ac15-449f-9ee7-74829105da86")  # Ansible's, for to_uuid


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def to_yaml(value: Any, *args: Any, **kwargs: Any) -> str:
    flow = kwargs.pop("default_flow_style", None)
    return str(yaml.safe_dump(value, allow_unicode=True, default_flow_style=flow, **kwargs))


def to_nice_yaml(value: Any, indent: int = 4, *args: Any, **kwargs: Any) -> str:
    return str(
        yaml.safe_dump(value, indent=indent, allow_unicode=True, default_flow_style=False, **kwargs)
    )


def from_yaml(data: Any) -> Any:
    return yaml.safe_load(data) if isinstance(data, str) else data


def to_json(value: Any, *args: Any, **kwargs: Any) -> str:
    return json.dumps(value, *args, **kwargs)


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **kwargs: Any) -> str:
    try:
        return json.dumps(value, indent=indent, sort_keys=sort_keys, separators=(",", ": "))
    except (TypeError, ValueError):
        return to_json(value, **kwargs)


def to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.lower()
    return value in ("yes", "on", "1", "true", 1)


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(_text(value).encode(encoding, "surrogateescape")).decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64decode(_text(value).encode("utf-8")).decode(encoding)


def to_uuid(value: Any) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, str(value)))


def get_hash(data: Any, hashtype: str = "sha1") -> str | None:
    try:
        digest = hashlib.new(hashtype)
    except ValueError:
        return None
    digest.update(_text(data).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def strftime(fmt: str, second: Any = None) -> str:
    if second is not None:
        try:
            second = int(second)
        except (TypeError, ValueError) as exc:
            raise FilterArgumentError(f"Invalid value for epoch value ({second})") from exc
    return time.strftime(fmt, time.localtime(second))


def to_datetime(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> datetime:
    return datetime.strptime(text, fmt)


def quote(value: Any) -> str:
    return shlex.quote(_text(value))


def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined):
        if msg is not None:
            raise FilterArgumentError(msg)
        name = getattr(value, "_undefined_name", None)
        label = f'"{name}" ' if name is not None else ""
        raise FilterArgumentError(f"Mandatory variable {label}not defined.")
    return value


def _merge(a: Mapping[str, Any], b: Mapping[str, Any], recursive: bool) -> dict[str, Any]:
    result = dict(a)
    for key, value in b.items():
        if recursive and isinstance(result.get(key), Mapping) and isinstance(value, Mapping):
            result[key] = _merge(result[key], value, recursive)
        else:
            result[key] = value
    return result


def combine(*terms: Any, recursive: bool = False) -> dict[str, Any]:
    dicts: list[Mapping[str, Any]] = []
    for term in terms:
        dicts.extend(term if isinstance(term, list | tuple) else [term])
    result: dict[str, Any] = {}
    for item in dicts:
        if not isinstance(item, Mapping):
            raise FilterArgumentError(f"combine expects dictionaries, got {item!r}")
        result = _merge(result, item, recursive)
    return result


def _regex(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, timeout=REGEX_TIMEOUT, **kwargs)
    except TimeoutError:
        raise ResourceLimitError(
            f"a regular expression took longer than {REGEX_TIMEOUT:g} s"
        ) from None


def regex_replace(
    value: Any = "", pattern: str = "", replacement: str = "", ignorecase: bool = False
) -> str:
    import regex

    flags = regex.IGNORECASE if ignorecase else 0
    return str(
        _regex(regex.compile(pattern, flags=flags | regex.VERSION0).sub, replacement, _text(value))
    )


def regex_findall(
    value: Any, pattern: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    import regex

    flags = (regex.IGNORECASE if ignorecase else 0) | (regex.MULTILINE if multiline else 0)
    result: list[Any] = _regex(regex.findall, pattern, _text(value), flags | regex.VERSION0)
    return result


def regex_search(value: Any, pattern: str, *args: str, **kwargs: Any) -> Any:
    import regex

    groups: list[int | str] = []
    for arg in args:
        named = regex.match(r"\\g<(\S+)>", arg)
        numbered = regex.match(r"\\(\d+)", arg)
        if named:
            groups.append(named.group(1))
        elif numbered:
            groups.append(int(numbered.group(1)))
        else:
            raise FilterArgumentError("Unknown argument")
    flags = regex.VERSION0
    if kwargs.get("ignorecase"):
        flags |= regex.IGNORECASE
    if kwargs.get("multiline"):
        flags |= regex.MULTILINE
    match = _regex(regex.search, pattern, _text(value), flags)
    if not match:
        return None
    if not groups:
        return match.group()
    return [match.group(g) for g in groups]


def regex_escape(value: str, re_type: str = "python") -> str:
    import re

    if re_type == "python":
        return re.escape(value)
    if re_type == "posix_basic":
        return regex_replace(value, r"([].[^$*\\])", r"\\\1")
    raise FilterArgumentError(f"regex type {re_type!r} is not supported")


def flatten(items: Any, levels: int | None = None) -> list[Any]:
    result: list[Any] = []
    for element in items:
        if element in (None, "None", "null"):
            break
        if isinstance(element, list | tuple):
            if levels is None:
                result.extend(flatten(element))
            elif levels >= 1:
                result.extend(flatten(element, levels=int(levels) - 1))
            else:
                result.append(element)
        else:
            result.append(element)
    return result


def _path(func: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: func(_text(value))


ANSIBLE_FILTERS: dict[str, Callable[..., Any]] = {
    "b64decode": b64decode,
    "b64encode": b64encode,
    "to_uuid": to_uuid,
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": json.loads,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "basename": _path(os.path.basename),
    "dirname": _path(os.path.dirname),
    "splitext": _path(os.path.splitext),
    "win_basename": _path(ntpath.basename),
    "win_dirname": _path(ntpath.dirname),
    "win_splitdrive": _path(ntpath.splitdrive),
    "bool": to_bool,
    "to_datetime": to_datetime,
    "strftime": strftime,
    "quote": quote,
    "md5": lambda data: get_hash(data, "md5"),
    "sha1": lambda data: get_hash(data, "sha1"),
    "checksum": lambda data: get_hash(data, "sha1"),
    "hash": get_hash,
    "regex_replace": regex_replace,
    "regex_escape": regex_escape,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "ternary": ternary,
    "mandatory": mandatory,
    "type_debug": lambda value: type(value).__name__,
    "combine": combine,
    "flatten": flatten,
}
