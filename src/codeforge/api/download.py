"""Downloads over HTTP: the body in chunks and a safe ``Content-Disposition``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO, Final
from urllib.parse import quote

CHUNK: Final = 64 * 1024
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start : start + CHUNK])


def iter_file(stream: BinaryIO) -> Iterator[bytes]:
    """Read ``stream`` (an artifact) in chunks and close it at the end."""
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def content_disposition(name: str, suffix: str = ".zip") -> str:
    """``attachment`` with an ASCII-only ``filename`` and the exact name in ``filename*``.

    The ASCII form keeps only letters, digits, dot, dash and underscore, so no quote,
    separator, control character or header injection can get through.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_FILENAME.sub("_", ascii_name).strip("._") or "project"
    exact = quote(name + suffix, safe="")
    return f"attachment; filename=\"{ascii_name[:100]}{suffix}\"; filename*=UTF-8''{exact}"
