"""Jinja filters for names: slug and case conversions, JSON and YAML output."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Words break at case changes and punctuation, not at digits: ``app2`` and
# ``oauth2client`` are one word each (a package ``app2``, not ``app_2``).
_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+[0-9]*")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")


def words(text: Any) -> list[str]:
    """Split ``text`` into words at case changes and punctuation (digits stay in their word)."""
    return _WORD_RE.findall(_ascii(text))


def slug(text: Any, separator: str = "-") -> str:
    return separator.join(w.lower() for w in words(text))


def snake(text: Any) -> str:
    return slug(text, "_")


def kebab(text: Any) -> str:
    return slug(text, "-")


def pascal(text: Any) -> str:
    return "".join(w[:1].upper() + w[1:].lower() for w in words(text))


def camel(text: Any) -> str:
    value = pascal(text)
    return value[:1].lower() + value[1:]


def title_words(text: Any) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words(text))


def to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=False)


def to_yaml(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False))


FILTERS: dict[str, Callable[..., Any]] = {
    "slug": slug,
    "snake": snake,
    "kebab": kebab,
    "camel": camel,
    "pascal": pascal,
    "title_words": title_words,
    "to_json": to_json,
    "to_yaml": to_yaml,
}
