"""The sandboxed Jinja environment every template renders in.

* ``SandboxedEnvironment`` with ``StrictUndefined``: no attribute tricks, and a
  misspelt variable is an error naming file and line.
* Budgets (threat model, surface 10): ``range`` is metered across a whole render,
  ``*``/``**``/``+`` refuse results past a size, and a deadline is checked as work
  proceeds; output per file is capped by the caller.
* Compiled template code is cached by content hash in a per-blueprint pack file
  (one ``marshal`` read on a warm run instead of a compile per file).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

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

    def compile_cached(self, source: str, name: str) -> CodeType:
        """Compile ``source`` or take its code from the cache, keyed by content hash."""
        cache = self.code_cache
        key = ""
        if cache is not None:
            key = hashlib.blake2b(
                source.encode("utf-8", "surrogatepass"), digest_size=16
            ).hexdigest()
            code = cache.get(key)
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


def _signature() -> str:
    """Everything besides the source that changes compiled code."""
    text = (
        f"{__version__}|{jinja2.__version__}|{sys.version_info[:2]}|{sys.implementation.cache_tag}"
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class CompiledCache:
    """A pack of compiled template code objects, keyed by source hash, in one file."""

    MAGIC = b"CFPK1"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = {}
        self.dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None:
            self._read()

    @classmethod
    def for_blueprint(cls, cache_dir: Path, key: str) -> CompiledCache:
        name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        return cls(cache_dir / "compiled" / f"{_signature()}-{name}.pack")

    def _read(self) -> None:
        assert self.path is not None
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        if not data.startswith(self.MAGIC):
            return
        try:
            loaded = marshal.loads(data[len(self.MAGIC) :])  # noqa: S302 - our own cache file
        except (EOFError, ValueError, TypeError):
            return  # a damaged cache is a miss, never an error
        if isinstance(loaded, dict):
            self.codes = loaded

    def get(self, key: str) -> CodeType | None:
        code = self.codes.get(key)
        if code is None:
            self.misses += 1
        else:
            self.hits += 1
        return code

    def put(self, key: str, code: CodeType) -> None:
        self.codes[key] = code
        self.dirty = True

    def save(self, keep: set[str] | None = None) -> None:
        """Write the pack atomically; ``keep`` drops entries no longer used."""
        if self.path is None or not self.dirty:
            return
        codes = self.codes if keep is None else {k: v for k, v in self.codes.items() if k in keep}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(self.MAGIC + marshal.dumps(codes))
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass  # caching is an optimisation; a read-only cache folder must not fail a run


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
