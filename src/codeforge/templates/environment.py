"""The sandboxed Jinja environment every template renders in.

* ``SandboxedEnvironment`` with ``StrictUndefined``: no attribute tricks, and a
  misspelt variable is an error naming file and line.
* Budgets (threat model, surface 10): ``range`` is metered across a whole render,
  ``*``/``**``/``+`` refuse results past a size, and a deadline is checked as work
  proceeds; output per file is capped by the caller.
* Compiled template code is cached by content hash in a per-blueprint pack file,
  read entry by entry; a cold run compiles on two cores. With Redis configured a
  shared layer sits under the pack (``codeforge.cache.shared``): a local miss
  asks Redis, and new compilations are published, so a fleet compiles once.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import CodeType
from typing import Any, Literal, Protocol

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from codeforge import __version__
from codeforge.core.errors import ResourceLimitError, SecurityError, TemplateError
from codeforge.core.settings import RenderLimits
from codeforge.templates.filters import FILTERS


class Budget:
    """Time and work left for one render; shared by every template in it."""

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout
        self.iterations = 0

    def tick(self, count: int = 1) -> None:
        self.iterations += count
        if self.iterations > self.limits.max_iterations:
            raise ResourceLimitError(
                f"the render ran more than {self.limits.max_iterations} loop iterations"
            )
        if self.iterations & 0x3FF == 0 and time.monotonic() > self.deadline:
            self.expired()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            self.expired()

    def expired(self) -> None:
        raise ResourceLimitError(f"the render took longer than {self.limits.timeout:g} s")


class RootLoader(jinja2.BaseLoader):
    """Loads ``{% include %}``/``{% import %}`` targets from inside one folder only."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        parts = template.replace("\\", "/").split("/")
        if template.startswith("/") or any(p in ("..", "") for p in parts):
            raise SecurityError(f"include of {template!r} leaves the template folder")
        path = self.root.joinpath(*parts)
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise SecurityError(
                f"include of {template!r} follows a link out of the template folder"
            )
        try:
            source = resolved.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise jinja2.TemplateNotFound(template) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"cannot include {template!r}: {exc}") from exc
        mtime = resolved.stat().st_mtime
        return source, str(resolved), lambda: resolved.stat().st_mtime == mtime


class _MeteredRange:
    __slots__ = ("_budget", "_range")

    def __init__(self, budget: Budget, rng: range) -> None:
        self._budget = budget
        self._range = rng

    def __iter__(self) -> Iterator[int]:
        tick = self._budget.tick
        for value in self._range:
            tick()
            yield value

    def __len__(self) -> int:
        return len(self._range)

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]


# str methods and filters that allocate as much as their width argument asks for.
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = ("center", "indent")
_FORMAT_WIDTH_RE = re.compile(r"%[-+ #0]*(\d+)|\.(\d+)|\{[^{}]*?:[^{}]*?(\d+)")


class CodeForgeEnvironment(SandboxedEnvironment):
    """Sandbox plus resource budgets and a compiled-code cache."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(
        self, root: Path | None, limits: RenderLimits, cache: CompiledCache | None
    ) -> None:
        super().__init__(
            loader=RootLoader(root) if root is not None else None,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            auto_reload=False,
            cache_size=0 if root is None else 400,
        )
        self.limits = limits
        self.budget = Budget(limits)
        self.code_cache = cache
        self.filters.update(FILTERS)
        for name in _WIDTH_FILTERS:
            self.filters[name] = self._width_guarded(self.filters[name])
        self.globals["range"] = self._range
        self.globals.pop("lipsum", None)
        self.globals.pop("cycler", None)
        self.globals.pop("joiner", None)

    def reset_budget(self) -> None:
        self.budget = Budget(self.limits)

    # -- budgets ---------------------------------------------------------------------

    def _range(self, *args: int) -> _MeteredRange:
        rng = range(*args)
        if len(rng) > self.limits.max_range:
            raise ResourceLimitError(
                f"range() of {len(rng)} items; the limit is {self.limits.max_range}"
            )
        return _MeteredRange(self.budget, rng)

    def _check_width(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        limit = self.limits.max_string
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                raise ResourceLimitError(f"a width of {value} is past the limit of {limit}")

    def _check_format(self, text: str) -> None:
        for match in _FORMAT_WIDTH_RE.finditer(text):
            number = next(g for g in match.groups() if g is not None) if any(match.groups()) else ""
            if number and int(number) > self.limits.max_string:
                raise ResourceLimitError(f"a format width of {number} is past the limit")

    def _width_guarded(self, func: Any) -> Any:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check_width(args[1:], kwargs)
            return func(*args, **kwargs)

        return guarded

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        limit = self.limits.max_string
        if operator == "**":
            if (
                isinstance(right, int | float)
                and isinstance(left, int | float)
                and abs(right) > 64
                and abs(left) > 1
            ):
                raise ResourceLimitError(f"power {left!r} ** {right!r} is too large")
        elif operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(times, int)
                and len(seq) * times > limit
            ):
                raise ResourceLimitError(
                    f"repetition would make {len(seq) * times} items; the limit is {limit}"
                )
        elif operator == "%" and isinstance(left, str):
            self._check_format(left)
        elif (
            operator == "+"
            and isinstance(left, str | list | tuple)
            and isinstance(right, str | list | tuple)
            and len(left) + len(right) > limit
        ):
            raise ResourceLimitError(f"concatenation beyond {limit} items")
        self.budget.tick()
        return super().call_binop(context, operator, left, right)

    def call(
        __self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        __self.budget.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _PADDING_METHODS:
            __self._check_width(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        # The sandbox hands templates a wrapper for str.format; check the widths it would pad to.
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            self._check_format(owner)
        return super().wrap_str_format(value)

    # -- compiled-code cache ---------------------------------------------------------

    @property
    def code_signature(self) -> str:
        """Everything besides the template that changes compiled code: versions, the
        sandbox class and every environment option (delimiters, whitespace, ...)."""
        signature: str | None = self.__dict__.get("_code_signature")
        if signature is None:
            parts = [
                _signature(),
                f"{type(self).__module__}.{type(self).__qualname__}",
                ",".join(sorted(self.intercepted_binops)),
                ",".join(sorted(self.intercepted_unops)),
                *(_option_text(getattr(self, option, None)) for option in _ENV_OPTIONS),
                ",".join(sorted(self.extensions)),
                ",".join(sorted(self.filters)),
                ",".join(sorted(self.tests)),
            ]
            text = "\0".join(parts)
            signature = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
            self.__dict__["_code_signature"] = signature
        return signature

    def shared_key(self, key: str) -> str:
        """The key of compiled code in the shared cache: options, versions and content."""
        return f"{self.code_signature}:{key}"

    def compile_cached(self, source: str, name: str) -> CodeType:
        """Compile ``source`` or take its code from the cache, keyed by content hash."""
        cache = self.code_cache
        key = ""
        shared: SharedBytes | None = None
        if cache is not None:
            key = cache_key(source, name)
            code = cache.get(key)
            if code is not None:
                return code
            shared = cache.shared if cache.shared is not None and cache.shared.worth(1) else None
            code = self._shared_code(cache, shared, key)
            if code is not None:
                return code
        try:
            code = self.compile(source, name=name, filename=name)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"syntax error: {exc.message}", where=f"{name}:{exc.lineno}"
            ) from exc
        if cache is not None:
            cache.put(key, code)
            if shared is not None:
                shared.put_many({self.shared_key(key): marshal.dumps(code)})
        return code

    def _shared_code(
        self, cache: CompiledCache, shared: SharedBytes | None, key: str
    ) -> CodeType | None:
        """The code from the shared layer (kept in the local cache too), or None."""
        if shared is None:
            return None
        name = self.shared_key(key)
        blob = shared.get_many([name]).get(name)
        if blob is None:
            return None
        try:
            code = marshal.loads(blob)  # noqa: S302 - signed by this fleet's secret
        except (EOFError, ValueError, TypeError):
            return None
        if not isinstance(code, CodeType):
            return None
        cache.put(key, code)
        return code

    def template_from_source(self, source: str, name: str) -> jinja2.Template:
        code = self.compile_cached(source, name)
        return self.template_class.from_code(self, code, self.make_globals(None), None)

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        # Includes and imports: same cache, same confinement.
        if self.loader is None:
            raise TemplateError(f"include of {name!r}: no template folder")
        source, _filename, _ = self.loader.get_source(self, name)
        code = self.compile_cached(source, name)
        return self.template_class.from_code(self, code, self.make_globals(globals), None)


_ENV_OPTIONS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "autoescape",
    "finalize",
    "is_async",
)


def _option_text(value: Any) -> str:
    if callable(value):  # by name: an object's address differs from process to process
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return repr(value)


class SharedBytes(Protocol):
    """The shared layer under the local cache (``codeforge.cache.shared.SharedCache``)."""

    def worth(self, count: int) -> bool: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]: ...

    def put_many(self, items: Mapping[str, bytes]) -> None: ...


def default_shared_code() -> SharedBytes | None:
    """The process's shared compiled-code layer: Redis when configured, else None."""
    from codeforge.cache.shared import default_shared

    return default_shared("cc")


def _signature() -> str:
    """Everything besides the source that changes compiled code."""
    text = (
        f"{__version__}|{jinja2.__version__}|{sys.version_info[:2]}|{sys.implementation.cache_tag}"
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class CompiledCache:
    """Compiled template code, keyed by content hash, in one pack file per blueprint.

    Layout: ``MAGIC``, an 8-byte index length, a marshalled index
    ``{key: (offset, length)}``, then the marshalled code objects. Entries are
    read one at a time with ``pread`` and never all held at once, so memory
    stays flat however large the blueprint; new entries are spooled to a
    scratch file and merged into a new pack by :meth:`save`.
    """

    MAGIC = b"CFPK2"
    _HEADER = len(MAGIC) + 8

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.index: dict[str, tuple[int, int]] = {}
        self._fd: int | None = None
        self._blobs_at = 0
        self._new: dict[str, tuple[int, int]] = {}
        self._spool: Any = None
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
        shared: SharedBytes | Literal["default"] | None = "default",
    ) -> CompiledCache:
        """The pack for one blueprint; ``shared`` defaults to the configured Redis layer."""
        name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        cache = cls(cache_dir / "compiled" / f"{_signature()}-{name}.pack")
        cache.shared = default_shared_code() if shared == "default" else shared
        return cache

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
        if key in self._new:
            offset, length = self._new[key]
            self._spool.seek(offset)
            data: bytes = self._spool.read(length)
            return data
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
        blob = self._blob(key)
        code = None
        if blob is not None:
            try:
                code = marshal.loads(blob)  # noqa: S302 - our own cache file
            except (EOFError, ValueError, TypeError):
                code = None
        if isinstance(code, CodeType):
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
            import tempfile

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
            index = dict(self.index)
            # Old entries keep their order; compact them in case the old pack had gaps.
            position = 0
            with open(tmp, "wb") as out:
                for key, (_offset, length) in self.index.items():
                    index[key] = (position, length)
                    position += length
                for key, (_offset, length) in self._new.items():
                    index[key] = (position, length)
                    position += length
                packed = marshal.dumps(index)
                out.write(self.MAGIC + len(packed).to_bytes(8, "little") + packed)
                for key in self.index:
                    blob = self._blob(key)
                    if blob is None:
                        raise OSError("pack entry unreadable")
                    out.write(blob)
                self._spool.seek(0)
                for _key, (offset, length) in self._new.items():
                    self._spool.seek(offset)
                    out.write(self._spool.read(length))
            os.replace(tmp, self.path)
        except OSError:
            return  # caching is an optimisation; a read-only cache folder must not fail a run
        self.close()
        self._new = {}
        self._spool = None
        self._open()

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


def cache_key(source: str | bytes, name: str) -> str:
    """The cache key of a template: its name (compiled into its code) and its source."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(name.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def compile_many(env: CodeForgeEnvironment, items: list[tuple[str, bytes, str]]) -> None:
    """Compile ``(key, UTF-8 source, name)`` items into ``env``'s cache, on two cores when worth it.

    Compiling is Jinja's slowest step and each template is independent, so a
    forked child compiles half while this process compiles the other half. Only
    in a single-threaded process (forking with threads running is unsafe); a
    template that fails to compile is left for the caller, which raises the error.
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
        _compile_batch(env, cache, items, keep)
    finally:
        publisher.flush()


def _take_shared(
    env: CodeForgeEnvironment,
    cache: CompiledCache,
    shared: SharedBytes,
    items: list[tuple[str, bytes, str]],
) -> list[tuple[str, bytes, str]]:
    """Fill the local cache from the shared layer; the items it did not have."""
    left: list[tuple[str, bytes, str]] = []
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


_SHARED_BATCH = 200


class _Publisher:
    """Publishes new compilations to the shared layer in batches (memory stays flat)."""

    def __init__(self, env: CodeForgeEnvironment, shared: SharedBytes | None) -> None:
        self.env = env
        self.shared = shared
        self.pending: dict[str, bytes] = {}
        self.size = 0

    def keeper(self, cache: CompiledCache) -> Any:
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


def _compile_batch(
    env: CodeForgeEnvironment,
    cache: CompiledCache,
    items: list[tuple[str, bytes, str]],
    keep: Any,
) -> None:
    import threading

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
    import tempfile

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
        spool.seek(0)
        key_size = len(items[0][0])
        while status == 0:
            head = spool.read(key_size + 8)
            if len(head) < key_size + 8:
                break
            length = int.from_bytes(head[key_size:], "little")
            blob = spool.read(length)
            if len(blob) < length:
                break
            keep(head[:key_size].decode("ascii"), blob)
    # Whatever the child did not deliver is compiled (or reported) by the caller.


def _compile_into(
    env: CodeForgeEnvironment, items: list[tuple[str, bytes, str]], sink: Any
) -> None:
    for key, source, name in items:
        try:
            code = env.compile(source.decode("utf-8"), name=name, filename=name)
        except Exception:  # noqa: S112 - reported when the caller compiles it again
            continue
        sink(key, marshal.dumps(code))


def render_error(exc: BaseException, name: str) -> TemplateError:
    """Turn a Jinja or Python error raised while rendering ``name`` into a TemplateError."""
    if isinstance(exc, TemplateError | SecurityError):
        if exc.where is None:
            exc.where = name
        return exc if isinstance(exc, TemplateError) else TemplateError(str(exc), where=name)
    line = _template_line(exc, name)
    location = f"{name}:{line}" if line else name
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"undefined variable: {exc.message}", where=location)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(f"blocked by the sandbox: {exc}", where=location)
    if isinstance(exc, RecursionError):
        return ResourceLimitError("recursion too deep", where=location)
    if isinstance(exc, MemoryError | OverflowError):
        return ResourceLimitError(
            f"the render ran out of bounds: {type(exc).__name__}", where=location
        )
    if isinstance(exc, jinja2.TemplateError):
        return TemplateError(str(exc.message or exc), where=location)
    return TemplateError(f"{type(exc).__name__}: {exc}", where=location)


def _template_line(exc: BaseException, name: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int) and getattr(exc, "name", None) in (name, None):
        return lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename == name and "__jinja_template__" in frame.f_globals:
            template = frame.f_globals.get("__jinja_template__")
            if template is not None:
                line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line
