"""Per-template Jinja set-up for foreign formats: envops, extensions, their filters.

Everything still renders in CodeForge's sandbox with its budgets; this module only
adds what cookiecutter and copier templates expect to find (delimiters, the
``now`` tag, ``jsonify``, ``slugify``, the Ansible filters copier ships with).
Extensions that are not on the allow-list are code from the template: they are
imported only when the user trusts the source.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension

from codeforge.errors import BlueprintError, SecurityError
from codeforge.templates.environment import SYNTAX_OPTIONS

# Environment options a template may set (cookiecutter `_jinja2_env_vars`, copier `_envops`).
ENVOPS = (*SYNTAX_OPTIONS, "autoescape", "undefined")
_UNDEFINED = {
    "jinja2.Undefined": jinja2.Undefined,
    "jinja2.StrictUndefined": jinja2.StrictUndefined,
}


def check_envops(value: Any, where: str) -> dict[str, Any]:
    """Validate an envops mapping; unknown keys and unsafe values are errors."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BlueprintError("expected a mapping of Jinja options", where=where)
    for key, item in value.items():
        if key not in ENVOPS:
            raise BlueprintError(
                f"unsupported Jinja option {key!r} (supported: {', '.join(ENVOPS)})", where=where
            )
        if key == "undefined" and item not in _UNDEFINED:
            raise BlueprintError(
                f"undefined must be one of {', '.join(_UNDEFINED)}, not {item!r}", where=where
            )
        if key in ("trim_blocks", "lstrip_blocks", "keep_trailing_newline", "autoescape"):
            if not isinstance(item, bool):
                raise BlueprintError(f"{key} must be true or false", where=where)
        elif key == "newline_sequence":
            if item not in ("\n", "\r\n", "\r"):
                raise BlueprintError("newline_sequence must be \\n, \\r\\n or \\r", where=where)
        elif key != "undefined" and not (item is None or isinstance(item, str)):
            raise BlueprintError(f"{key} must be a string", where=where)
    return dict(value)


def apply_envops(env: jinja2.Environment, envops: Mapping[str, Any]) -> None:
    for key, value in envops.items():
        setattr(env, key, _UNDEFINED[value] if key == "undefined" else value)


def salt(*parts: Any) -> str:
    """A short digest of the options that change compiled code."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


# -- cookiecutter's default extensions, re-implemented without arrow ---------------------


def _jsonify(obj: Any, indent: int = 4) -> str:
    return json.dumps(obj, sort_keys=True, indent=indent)


def _random_ascii_string(length: int, punctuation: bool = False) -> str:
    if length > 10_000:
        raise SecurityError(f"random_ascii_string({length}) is past the limit of 10000")
    corpus = string.ascii_letters + (string.punctuation if punctuation else "")
    return "".join(secrets.choice(corpus) for _ in range(length))


def _uuid4() -> str:
    return str(uuid.uuid4())


def _slugify(value: Any, *args: Any, **kwargs: Any) -> str:
    try:
        from slugify import slugify
    except ImportError as exc:
        raise BlueprintError(
            "the template uses the slugify filter, which needs python-slugify",
            hint="pip install python-slugify (or codeforge[compat])",
        ) from exc
    return str(slugify(value, *args, **kwargs))


def _zone(name: str) -> Any:
    if name.lower() == "local":
        return datetime.now().astimezone().tzinfo
    if name.lower() == "utc":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise jinja2.TemplateRuntimeError(f"unknown time zone {name!r}") from exc


_SHIFTS = ("weeks", "days", "hours", "minutes", "seconds", "microseconds")


class TimeExtension(Extension):
    """``{% now 'utc' %}``, ``{% now 'local' + 'days=1', '%Y' %}`` (cookiecutter, jinja2-time)."""

    tags = {"now"}  # noqa: RUF012 - Jinja reads it as a class attribute

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(datetime_format="%Y-%m-%d")

    def _datetime(self, zone: str, operator: str, offset: str, fmt: str | None) -> str:
        moment = datetime.now(_zone(zone))
        shift: dict[str, float] = {}
        for param in offset.split(","):
            interval, _, value = param.partition("=")
            interval = interval.strip()
            if interval not in _SHIFTS:
                raise jinja2.TemplateRuntimeError(
                    f"now: unsupported shift {interval!r} (use {', '.join(_SHIFTS)})"
                )
            shift[interval] = float(operator + value.strip())
        moment = moment + timedelta(**shift)
        return moment.strftime(fmt or self.environment.datetime_format)  # type: ignore[attr-defined]

    def _now(self, zone: str, fmt: str | None) -> str:
        return datetime.now(_zone(zone)).strftime(fmt or self.environment.datetime_format)  # type: ignore[attr-defined]

    def parse(self, parser: Any) -> nodes.Output:
        lineno = next(parser.stream).lineno
        node = parser.parse_expression()
        fmt = parser.parse_expression() if parser.stream.skip_if("comma") else nodes.Const(None)
        if isinstance(node, nodes.Add | nodes.Sub):
            op = "+" if isinstance(node, nodes.Add) else "-"
            call = self.call_method(
                "_datetime", [node.left, nodes.Const(op), node.right, fmt], lineno=lineno
            )
        else:
            call = self.call_method("_now", [node, fmt], lineno=lineno)
        return nodes.Output([call], lineno=lineno)


def cookiecutter_defaults(env: jinja2.Environment) -> None:
    """What cookiecutter's StrictEnvironment always loads."""
    env.filters["jsonify"] = _jsonify
    env.filters["slugify"] = _slugify
    env.globals["random_ascii_string"] = _random_ascii_string
    env.globals["uuid4"] = _uuid4
    env.add_extension(TimeExtension)


def copier_defaults(env: jinja2.Environment) -> None:
    """What copier's environment always has: the Ansible core filters, ``pathjoin``."""
    from codeforge.sources.compat.filters import ANSIBLE_FILTERS

    # copier's to_json/to_yaml are Ansible's; they replace CodeForge's filters of those names.
    env.filters.update(ANSIBLE_FILTERS)
    env.globals["pathjoin"] = _pathjoin


def _pathjoin(*path: str, mode: str = "posix") -> str:
    from pathlib import PurePath, PurePosixPath, PureWindowsPath

    kinds: dict[str, type[PurePath]] = {
        "posix": PurePosixPath,
        "windows": PureWindowsPath,
        "native": PurePath,
    }
    if mode not in kinds:
        raise jinja2.TemplateRuntimeError(f"pathjoin: unknown mode {mode!r}")
    return str(kinds[mode](*path))


# Extensions a template may name without being trusted: they add no code of its own.
SAFE_EXTENSIONS: dict[str, Any] = {
    "cookiecutter.extensions.JsonifyExtension": None,
    "cookiecutter.extensions.RandomStringExtension": None,
    "cookiecutter.extensions.SlugifyExtension": None,
    "cookiecutter.extensions.UUIDExtension": None,
    "cookiecutter.extensions.TimeExtension": TimeExtension,
    "jinja2_time.TimeExtension": TimeExtension,
    "jinja2.ext.do": "jinja2.ext.do",
    "jinja2.ext.loopcontrols": "jinja2.ext.loopcontrols",
    "jinja2_ansible_filters.AnsibleCoreFiltersExtension": None,
}


def load_extensions(
    env: jinja2.Environment,
    names: Sequence[str],
    *,
    trusted: bool,
    template_root: Path,
    setting: str,
) -> None:
    """Add the template's extensions; anything off the allow-list needs trust."""
    foreign = [name for name in names if name not in SAFE_EXTENSIONS]
    if foreign and not trusted:
        raise SecurityError(
            f"the template loads the Jinja extension{'s' if len(foreign) > 1 else ''} "
            f"{', '.join(foreign)} ({setting}), which run{'' if len(foreign) > 1 else 's'} "
            "code on your machine",
            hint="pass --trust if you trust this template's source, "
            "or add it to trusted_sources in the config",
        )
    for name in names:
        known = SAFE_EXTENSIONS.get(name, name)
        if known is None or (known is TimeExtension and "now" in _extensions_tags(env)):
            continue
        _add_extension(env, known, template_root, setting)


def _extensions_tags(env: jinja2.Environment) -> set[str]:
    return {tag for ext in env.extensions.values() for tag in ext.tags}


def _add_extension(env: jinja2.Environment, ext: Any, root: Path, setting: str) -> None:
    if not isinstance(ext, str):
        env.add_extension(ext)
        return
    # Like cookiecutter, a trusted template may ship its extension beside cookiecutter.json.
    added = str(root) not in sys.path
    if added:
        sys.path.append(str(root))
    try:
        env.add_extension(ext)
    except (ImportError, AttributeError, ValueError) as exc:
        raise BlueprintError(
            f"cannot load the Jinja extension {ext!r}: {exc}",
            where=setting,
            hint="install it in the same environment as CodeForge",
        ) from exc
    finally:
        if added:
            sys.path.remove(str(root))


def to_plain(value: Any) -> Any:
    """JSON-shaped copy (tuples to lists, keys to text)."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def flatten(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out
