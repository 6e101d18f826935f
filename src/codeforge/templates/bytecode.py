"""Compiled template code, cached by content hash, through Jinja's ``bytecode_cache`` interface.

:class:`CompiledCache` is a :class:`jinja2.BytecodeCache`: the environment hands
it to Jinja (``bytecode_cache=``), so ``{% include %}``/``{% import %}`` targets
go through Jinja's own loader path (``BaseLoader.load``) and the files a plan
renders go through the same buckets (:meth:`CodeForgeEnvironment.template_from_source`).
Behind that interface it keeps what CodeForge needs:

* one pack file per blueprint, read entry by entry (memory stays flat however
  large the blueprint), new entries spooled to a scratch file and merged by
  :meth:`CompiledCache.save`;
* the fleet's shared layer under the pack (a :class:`SharedBytes`; the composition
  root hands in Redis with HMAC-signed entries, ``codeforge.cache.shared``): a
  local miss asks it and new compilations are published;
* buckets keyed by content (template name, file name and source), not by name
  as Jinja's default key is, so one pack serves every version of a file and an
  edited template can never load stale code.

Entries are plain ``marshal`` dumps of code objects, not Jinja's bucket format,
which adds a pickled checksum the content key makes redundant.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import CodeType
from typing import IO, Protocol

import jinja2
from jinja2.bccache import Bucket

from codeforge import __version__

# Changes whenever CodeForge's code generator or sandbox hooks change what a
# template compiles to: code compiled before must not be loaded after.
CODEGEN = "metered-1"


class SharedBytes(Protocol):
    """The shared layer under the local cache: bytes by key, shared by a fleet.

    This package imports no implementation: the composition root (``codeforge.app``)
    passes the Redis-backed one (``codeforge.cache.shared.SharedCache``) or None.
    """

    def worth(self, count: int) -> bool: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]: ...

    def put_many(self, items: Mapping[str, bytes]) -> None: ...


class SharedKeyed(Protocol):
    """What the cache asks of an environment: the shared-cache key of a content key."""

    def shared_key(self, key: str) -> str: ...


def versions_signature() -> str:
    """Everything besides the source and the options that changes compiled code."""
    text = f"{__version__}|{CODEGEN}|{jinja2.__version__}|{sys.version_info[:2]}|{sys.implementation.cache_tag}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def cache_key(source: str | bytes, name: str) -> str:
    """The cache key of a template: its name (compiled into its code) and its source."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(name.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class CompiledCache(jinja2.BytecodeCache):
    """Compiled template code, keyed by content hash, in one pack file per blueprint.

    Layout: ``MAGIC``, an 8-byte index length, a marshalled index
    ``{key: (offset, length)}``, then the marshalled code objects.
    """

    MAGIC = b"CFPK2"
    _HEADER = len(MAGIC) + 8

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.index: dict[str, tuple[int, int]] = {}
        self._fd: int | None = None
        self._blobs_at = 0
        self._new: dict[str, tuple[int, int]] = {}
        self._spool: IO[bytes] | None = None
        self.hits = 0
        self.misses = 0
        # Under the pack: the fleet's shared cache (Redis), or None.
        self.shared: SharedBytes | None = None
        if path is not None:
            self._open()

    @classmethod
    def for_blueprint(
        cls,
        cache_dir: Path,
        key: str,
        *,
        shared: SharedBytes | None = None,
    ) -> CompiledCache:
        """The pack for one blueprint, over the ``shared`` layer (None: the pack alone)."""
        name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        cache = cls(cache_dir / "compiled" / f"{versions_signature()}-{name}.pack")
        cache.shared = shared
        return cache

    # -- jinja2.BytecodeCache --------------------------------------------------------------

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        """A bucket keyed by content; its code is filled from the pack or the shared layer."""
        compiled_name = name if filename in (None, name) else f"{name}\0{filename}"
        bucket = Bucket(environment, cache_key(source, compiled_name), "")
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.get(bucket.key)
        if code is None:
            code = self._shared_code(bucket.environment, bucket.key)
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is None:
            return
        self.put(bucket.key, bucket.code)
        shared = self.shared
        if shared is not None and shared.worth(1) and hasattr(bucket.environment, "shared_key"):
            name = bucket.environment.shared_key(bucket.key)
            shared.put_many({name: marshal.dumps(bucket.code)})

    def clear(self) -> None:
        """Forget every entry, saved and new."""
        self.close()
        self.index = {}
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _shared_code(self, environment: jinja2.Environment, key: str) -> CodeType | None:
        """The code from the shared layer (kept in the pack too), or None."""
        shared = self.shared
        if shared is None or not shared.worth(1) or not hasattr(environment, "shared_key"):
            return None
        name = environment.shared_key(key)
        blob = shared.get_many([name]).get(name)
        code = _loads(blob)
        if code is not None:
            self.put_blob(key, blob)  # type: ignore[arg-type]
        return code

    # -- the pack ----------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return bool(self._new)

    def _open(self) -> None:
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            head = os.pread(fd, self._HEADER, 0)
            if len(head) != self._HEADER or not head.startswith(self.MAGIC):
                raise ValueError("not a pack")
            size = int.from_bytes(head[len(self.MAGIC) :], "little")
            if size > os.fstat(fd).st_size - self._HEADER:
                raise ValueError("index past the end of the pack")
            index = marshal.loads(os.pread(fd, size, self._HEADER))  # noqa: S302 - our own file
            if not isinstance(index, dict):
                raise ValueError("bad index")
        except (OSError, EOFError, ValueError, TypeError):
            os.close(fd)
            return  # a damaged cache is a miss, never an error
        self.index = index
        self._fd = fd
        self._blobs_at = self._HEADER + size

    def __contains__(self, key: str) -> bool:
        return key in self.index or key in self._new

    def _blob(self, key: str) -> bytes | None:
        if key in self._new and self._spool is not None:
            offset, length = self._new[key]
            self._spool.seek(offset)
            return self._spool.read(length)
        entry = self.index.get(key)
        if entry is None or self._fd is None:
            return None
        offset, length = entry
        try:
            data = os.pread(self._fd, length, self._blobs_at + offset)
        except OSError:
            return None
        return data if len(data) == length else None

    def get(self, key: str) -> CodeType | None:
        """The code stored under ``key``, or None (counted as a hit or a miss)."""
        code = _loads(self._blob(key))
        if code is not None:
            self.hits += 1
            return code
        self.misses += 1
        return None

    def put(self, key: str, code: CodeType) -> None:
        self.put_blob(key, marshal.dumps(code))

    def put_blob(self, key: str, blob: bytes) -> None:
        if self.path is None or key in self:
            return
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="codeforge-pack-")  # noqa: SIM115 - lives until save()
        self._spool.seek(0, os.SEEK_END)
        offset = self._spool.tell()
        self._spool.write(blob)
        self._new[key] = (offset, len(blob))

    def save(self) -> None:
        """Write old and new entries to a new pack atomically, if anything was added."""
        if self.path is None or not self._new:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as out:
                self._write_pack(out)
            os.replace(tmp, self.path)
        except OSError:
            return  # caching is an optimisation; a read-only cache folder must not fail a run
        self.close()
        self._open()

    def _write_pack(self, out: IO[bytes]) -> None:
        # Old entries keep their order, compacted in case the old pack had gaps.
        index: dict[str, tuple[int, int]] = {}
        position = 0
        for key, (_offset, length) in (*self.index.items(), *self._new.items()):
            index[key] = (position, length)
            position += length
        packed = marshal.dumps(index)
        out.write(self.MAGIC + len(packed).to_bytes(8, "little") + packed)
        for key in (*self.index, *self._new):
            blob = self._blob(key)
            if blob is None:
                raise OSError("pack entry unreadable")
            out.write(blob)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._new = {}  # their bytes were in the spool: unsaved entries are dropped

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 - best effort at interpreter exit
            pass


def _loads(blob: bytes | None) -> CodeType | None:
    if blob is None:
        return None
    try:
        code = marshal.loads(blob)  # noqa: S302 - our own pack, or signed by this fleet's secret
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None
