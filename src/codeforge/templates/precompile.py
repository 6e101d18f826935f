"""Compiling a blueprint's templates in one batch, on two cores when it is worth it.

Compiling is Jinja's slowest step and each template is independent, so a cold
render compiles everything the cache lacks up front: from the fleet's shared
layer first, then half in a forked child and half here.
"""

from __future__ import annotations

import marshal
import os
import tempfile
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from codeforge.templates.bytecode import CompiledCache, SharedBytes

if TYPE_CHECKING:
    from codeforge.templates.environment import CodeForgeEnvironment

# (key, UTF-8 source, name) of one template to compile.
Item = tuple[str, bytes, str]
Keep = Callable[[str, bytes], None]

_SHARED_BATCH = 200


def compile_many(env: CodeForgeEnvironment, items: list[Item]) -> None:
    """Compile ``items`` into ``env``'s cache, on two cores when worth it.

    Only in a single-threaded process (forking with threads running is unsafe);
    a template that fails to compile is left for the caller, which raises the error.
    """
    cache = env.code_cache
    if cache is None or not items:
        return
    shared = cache.shared if cache.shared is not None and cache.shared.worth(len(items)) else None
    if shared is not None:
        items = _take_shared(env, cache, shared, items)
        if not items:
            return
    publisher = _Publisher(env, shared)
    keep = publisher.keeper(cache)
    try:
        _compile_batch(env, items, keep)
    finally:
        publisher.flush()


def _take_shared(
    env: CodeForgeEnvironment, cache: CompiledCache, shared: SharedBytes, items: list[Item]
) -> list[Item]:
    """Fill the local cache from the shared layer; the items it did not have."""
    left: list[Item] = []
    for start in range(0, len(items), _SHARED_BATCH):
        chunk = {env.shared_key(item[0]): item for item in items[start : start + _SHARED_BATCH]}
        found = shared.get_many(chunk)
        for name, item in chunk.items():
            blob = found.get(name)
            if blob is None:
                left.append(item)
            else:
                cache.put_blob(item[0], blob)
    return left


class _Publisher:
    """Publishes new compilations to the shared layer in batches (memory stays flat)."""

    def __init__(self, env: CodeForgeEnvironment, shared: SharedBytes | None) -> None:
        self.env = env
        self.shared = shared
        self.pending: dict[str, bytes] = {}
        self.size = 0

    def keeper(self, cache: CompiledCache) -> Keep:
        if self.shared is None:
            return cache.put_blob

        def keep(key: str, blob: bytes) -> None:
            cache.put_blob(key, blob)
            self.pending[self.env.shared_key(key)] = blob
            self.size += len(blob)
            if len(self.pending) >= _SHARED_BATCH or self.size > 8 * 1024 * 1024:
                self.flush()

        return keep

    def flush(self) -> None:
        if self.shared is not None and self.pending:
            self.shared.put_many(self.pending)
        self.pending = {}
        self.size = 0


def _compile_batch(env: CodeForgeEnvironment, items: list[Item], keep: Keep) -> None:
    half = len(items) // 2
    use_fork = (
        len(items) >= 64
        and (os.cpu_count() or 1) > 1
        and hasattr(os, "fork")
        and threading.active_count() == 1
    )
    if not use_fork:
        _compile_into(env, items, keep)
        return
    # The child writes (key, blob) records to a scratch file the parent reads back
    # one at a time afterwards, so neither side ever holds all the compiled code.
    with tempfile.TemporaryFile(prefix="codeforge-compile-") as spool:
        pid = os.fork()
        if pid == 0:  # child: compile the second half, write the blobs, leave at once
            try:

                def write(key: str, blob: bytes) -> None:
                    spool.write(key.encode("ascii") + len(blob).to_bytes(8, "little") + blob)

                _compile_into(env, items[half:], write)
                spool.flush()
            finally:
                os._exit(0)
        try:
            _compile_into(env, items[:half], keep)
        finally:
            _, status = os.waitpid(pid, 0)
        if status == 0:
            _read_back(spool, len(items[0][0]), keep)
    # Whatever the child did not deliver is compiled (or reported) by the caller.


def _read_back(spool: IO[bytes], key_size: int, keep: Keep) -> None:
    spool.seek(0)
    while True:
        head = spool.read(key_size + 8)
        if len(head) < key_size + 8:
            return
        length = int.from_bytes(head[key_size:], "little")
        blob = spool.read(length)
        if len(blob) < length:
            return
        keep(head[:key_size].decode("ascii"), blob)


def _compile_into(env: CodeForgeEnvironment, items: list[Item], sink: Keep) -> None:
    for key, source, name in items:
        try:
            code = env.compile(source.decode("utf-8"), name=name, filename=name)
        except Exception:  # noqa: S112 - reported when the caller compiles it again
            continue
        sink(key, marshal.dumps(code))
