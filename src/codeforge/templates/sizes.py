"""Upper bounds, in bytes, on what a template operation is about to allocate.

The render's memory meter (:mod:`codeforge.templates.budget`) charges these
*before* the operation runs, so an amplification (a join of 300 references to
one big string, a doubling in a loop, a padding width) is refused without ever
being built. The bounds are deliberately generous, never tight: a string
counts 1 byte a character when it is ASCII and 4 otherwise (CPython's widest
storage), and text nested in a container counts as its escaped ``repr``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, MutableSequence
from typing import Any

from jinja2.utils import Namespace

WORD = 8  # one reference in a list, tuple or dict
_ITEM = 64  # a small object made per item (a tuple, a one-character string)
_UNKNOWN = 256  # str() of an object we cannot measure (a date, an Undefined)

# Type tuples for isinstance on the render hot path: ``str | bytes`` written in a
# call builds a new union object on every call (~20 ns an operand); a tuple is built once.
_TEXT = (str, bytes)
SEQUENCE = (list, tuple)
TEXT_OR_SEQUENCE = (str, bytes, list, tuple)
_CONTAINER = (list, tuple, dict, set, frozenset)
_SIZED = (*_CONTAINER, int, bytearray)
_COLLECTION = (list, tuple, set, frozenset)
_SCALAR = (bool, float)
_MEASURABLE = (str, bytes, list, tuple, Mapping, set, frozenset)


def text_bytes(text: str | bytes) -> int:
    """The bytes a string's characters take (bytes: their length)."""
    if isinstance(text, bytes):
        return len(text)
    return len(text) if text.isascii() else 4 * len(text)


def new_object_bytes(value: Any) -> int:
    """The size of a result that was just made (shallow: its items were charged before)."""
    if isinstance(value, _TEXT):
        return text_bytes(value)
    if isinstance(value, _SIZED):
        return sys.getsizeof(value)
    return 0


def container_bytes(value: Any) -> int:
    """The shallow size of a container (a literal list or dict made by the template)."""
    if isinstance(value, _CONTAINER):
        return sys.getsizeof(value)
    return 0


def rendered_bytes(value: Any, limit: int, escape: int = 4) -> int:
    """An upper bound on the bytes of ``str(value)``; stops counting once past ``limit``.

    Strings inside containers count ``escape`` times (``repr`` quoting, JSON or URL
    escapes). Shared sub-containers count once per appearance, as ``repr`` writes
    them, but are measured once (memoised), so the walk costs one step per item of
    each distinct container however often it is referenced.
    """
    if isinstance(value, str):
        return text_bytes(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if value is None or isinstance(value, float):
        return 24
    flat = _flat_strings(value)
    if flat is not None:  # the common case (a list of names), counted in C
        count, chars = flat
        return 16 + 4 * count + escape * chars
    return _Walk(limit, escape).size(value)


def _flat_strings(value: Any) -> tuple[int, int] | None:
    """(items, bytes of their characters) of a list or tuple holding only strings."""
    if type(value) not in (list, tuple) or not set(map(type, value)) <= {str}:
        return None
    wide = 1 if all(map(str.isascii, value)) else 4
    return len(value), wide * sum(map(len, value))


class _Walk:
    def __init__(self, limit: int, escape: int) -> None:
        self.limit = limit
        self.escape = escape
        self.memo: dict[int, int] = {}
        self.active: set[int] = set()

    def size(self, value: Any) -> int:
        if isinstance(value, _TEXT):
            return self.escape * text_bytes(value) + 2
        if value is None or isinstance(value, _SCALAR):
            return 24
        if isinstance(value, int):
            return value.bit_length() // 3 + 2
        items = _items(value)
        if items is None:
            return _UNKNOWN
        key = id(value)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return 8  # a cycle: repr writes "[...]"
        self.active.add(key)
        total = 16
        for item in items:
            total += self.size(item) + 2
            if total > self.limit:
                break
        self.active.discard(key)
        self.memo[key] = total
        return total


def _items(value: Any) -> Any:
    if isinstance(value, Mapping):
        return (part for pair in value.items() for part in pair)
    if isinstance(value, _COLLECTION):
        return value
    if isinstance(value, Namespace):  # repr shows its attributes
        return _items(value._Namespace__attrs)
    return None


# -- operators ---------------------------------------------------------------------------


def binop_bytes(operator: str, left: Any, right: Any, limit: int) -> int:
    """The bytes ``left <operator> right`` may allocate."""
    if operator == "*":
        seq, times = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(times, int) and isinstance(seq, TEXT_OR_SEQUENCE):
            unit = WORD if isinstance(seq, SEQUENCE) else text_bytes(seq) // max(len(seq), 1)
            return max(times, 0) * len(seq) * max(unit, 1)
    elif operator == "+" and isinstance(left, _TEXT) and isinstance(right, _TEXT):
        return text_bytes(left) + text_bytes(right)
    elif operator == "+" and isinstance(left, SEQUENCE) and isinstance(right, SEQUENCE):
        return WORD * (len(left) + len(right)) + 64
    elif operator == "%" and isinstance(left, str):
        return format_bytes(left, right if isinstance(right, tuple) else (right,), {}, limit)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        return left.bit_length() * right // 8 + 32
    return _number_bytes(operator, left, right)


def _number_bytes(operator: str, left: Any, right: Any) -> int:
    if isinstance(left, int) and isinstance(right, int):
        if operator == "*":
            return (left.bit_length() + right.bit_length()) // 8 + 32
        return max(left.bit_length(), right.bit_length()) // 8 + 32
    return 32  # floats, and the TypeError Python raises for the rest


def concat_bytes(parts: list[Any], limit: int) -> int:
    """The bytes of ``"".join(map(str, parts))`` (the ``~`` operator)."""
    return sum(rendered_bytes(part, limit) for part in parts)


def format_bytes(fmt: str, args: Any, kwargs: Mapping[str, Any], limit: int) -> int:
    """``fmt % args`` or ``fmt.format(...)``: each field may hold the largest argument."""
    values = [*args, *kwargs.values()]
    if len(values) == 1 and isinstance(values[0], Mapping):
        values = list(values[0].values())
    largest = max((rendered_bytes(value, limit) for value in values), default=0)
    fields = fmt.count("%") + fmt.count("{")
    return text_bytes(fmt) + fields * largest


# -- filters and methods -------------------------------------------------------------------

Estimate = Callable[[MutableSequence[Any], dict[str, Any], int], int]


def _arg(args: MutableSequence[Any], kwargs: dict[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


def _materialised(args: MutableSequence[Any], index: int) -> Any:
    """The iterable at ``args[index]`` as a list (an iterator can be measured only once)."""
    value = args[index]
    if not isinstance(value, _MEASURABLE):
        value = list(value)
        args[index] = value
    return value


def _join(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    items = _materialised(args, 0)
    separator = _arg(args, kwargs, 1, "d") or ""
    total = WORD * len(items) + len(items) * text_bytes(str(separator))
    flat = _flat_strings(items)
    if flat is not None:
        return total + flat[1]
    for item in items:
        total += rendered_bytes(item, limit)
        if total > limit:
            break
    return total


def _str_join(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    # str.join(iterable): the separator is the method's owner, passed first here.
    return _join([_materialised(args, 1), args[0]], {}, limit)


def _replace(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    text, old, new = (
        str(_arg(args, kwargs, i, n) or "") for i, n in enumerate(("s", "old", "new"))
    )
    count = len(text) + 1 if old == "" else text.count(old)
    most = _arg(args, kwargs, 3, "count")
    if isinstance(most, int) and most >= 0:
        count = min(count, most)
    wide = 1 if text.isascii() and new.isascii() else 4
    return wide * (len(text) + count * max(len(new) - len(old), 0))


def _width(index: int, name: str, default: int) -> Estimate:
    def estimate(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
        width = _arg(args, kwargs, index, name)
        width = width if isinstance(width, int) else default
        return 4 * max(width, len(str(args[0])))

    return estimate


def _indent(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    text = str(args[0])
    width = _arg(args, kwargs, 1, "width")
    step = text_bytes(width) if isinstance(width, str) else width if isinstance(width, int) else 4
    return text_bytes(text) + (text.count("\n") + 1) * max(step, 0)


def _wordwrap(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    # textwrap splits the text into a list of small strings first: ~1 object a word.
    text = str(args[0])
    return text_bytes(text) * 2 + (text.count(" ") + text.count("\n") + 1) * (_ITEM + WORD)


def _escaped(factor: int) -> Estimate:
    def estimate(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
        # Serialisers also build a list of pieces before joining them: count twice.
        return 2 * factor * rendered_bytes(args[0], limit, escape=factor)

    return estimate


def _scaled(factor: int) -> Estimate:
    def estimate(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
        return factor * rendered_bytes(args[0], limit)

    return estimate


def _to_list(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    value = _materialised(args, 0)
    if isinstance(value, str):
        return len(value) * (WORD if value.isascii() else WORD + _ITEM)
    return (WORD + _ITEM) * len(value)


def _sequence(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    value = _materialised(args, 0)
    return (WORD + _ITEM) * len(value) + 64


def _regex_replace(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    # Matches do not overlap, so group references copy at most the text once each.
    text = str(args[0])
    replacement = str(_arg(args, kwargs, 2, "replacement") or "")
    return 4 * (len(text) + 1) * (len(replacement) + 1)


def _to_bytes(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    length = _arg(args, kwargs, 1, "length")
    return length if isinstance(length, int) else 8


def _translate(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    table = _arg(args, kwargs, 1, "table")
    longest = 1
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
    return 4 * len(str(args[0])) * max(longest, 1)


def _split(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    text = str(args[0])
    sep = _arg(args, kwargs, 1, "sep")
    parts = text.count(sep) + 1 if isinstance(sep, str) and sep else len(text) // 2 + 1
    return text_bytes(text) + parts * (_ITEM + WORD)


def _lines(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    text = str(args[0])
    return text_bytes(text) + (len(text) // 2 + 1) * (_ITEM + WORD)


def _str_format(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    return format_bytes(str(args[0]), args[1:], kwargs, limit)


def _dict_format(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    return format_bytes(str(args[0]), args[1:2], {}, limit)


def _padding(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    width = _arg(args, kwargs, 1, "width")
    return 4 * max(width if isinstance(width, int) else 0, len(str(args[0])))


def _tabs(args: MutableSequence[Any], kwargs: dict[str, Any], limit: int) -> int:
    text = str(args[0])
    size = _arg(args, kwargs, 1, "tabsize")
    return 4 * (len(text) + text.count("\t") * (size if isinstance(size, int) else 8))


# Jinja's built-in filters, CodeForge's and the compat ones that can make output
# larger than their input. Any other filter is charged for its result after it
# returns, which is sound because its output is at most a small multiple of what
# it was given (checked for every filter these environments register).
FILTER_ESTIMATES: dict[str, Estimate] = {
    "join": _join,
    "format": _str_format,
    "replace": _replace,
    "center": _width(1, "width", 80),
    "indent": _indent,
    "wordwrap": _wordwrap,
    "tojson": _escaped(12),
    "to_json": _escaped(12),
    "to_nice_json": _escaped(12),
    "jsonify": _escaped(12),
    "to_yaml": _escaped(12),
    "to_nice_yaml": _escaped(12),
    "urlencode": _escaped(12),
    "xmlattr": _escaped(6),
    "pprint": _escaped(4),
    "string": _scaled(1),
    "escape": _scaled(6),
    "e": _scaled(6),
    "forceescape": _scaled(6),
    "urlize": _scaled(12),
    "upper": _scaled(3),
    "lower": _scaled(3),
    "title": _scaled(3),
    "capitalize": _scaled(3),
    "b64encode": _scaled(6),
    "list": _to_list,
    "batch": _sequence,
    "slice": _sequence,
    "sort": _sequence,
    "dictsort": _sequence,
    "unique": _sequence,
    "groupby": _sequence,
    "flatten": _scaled(2),
    "regex_replace": _regex_replace,
    "regex_findall": _lines,
    "regex_escape": _scaled(2),
    "quote": _scaled(5),
    "strftime": _scaled(32),
    "from_json": _scaled(32),
    "from_yaml": _scaled(32),
}

# str methods that can return more than their owner holds (the owner comes first).
METHOD_ESTIMATES: dict[str, Estimate] = {
    "join": _str_join,
    "replace": _replace,  # the owner comes first, as the filter's text does
    "center": _padding,
    "ljust": _padding,
    "rjust": _padding,
    "zfill": _padding,
    "expandtabs": _tabs,
    "format": _str_format,
    "format_map": _dict_format,
    "split": _split,
    "rsplit": _split,
    "splitlines": _lines,
    "upper": _scaled(3),
    "lower": _scaled(3),
    "title": _scaled(3),
    "capitalize": _scaled(3),
    "swapcase": _scaled(3),
    "casefold": _scaled(3),
    "encode": _scaled(4),
    "translate": _translate,
    "to_bytes": _to_bytes,
}
