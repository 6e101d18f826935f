"""The sandboxed Jinja environment every template renders in, native or foreign.

* ``SandboxedEnvironment`` with ``StrictUndefined``: no attribute tricks, and a
  misspelt variable is an error naming file and line.
* Budgets (threat model, surface 10; :mod:`codeforge.templates.budget`): ``range``
  and loops are metered, and so is memory: every operator, call, filter, slice,
  ``{{ output }}`` and join charges what it is about to allocate against
  ``render.max_memory`` before allocating it (:mod:`codeforge.templates.sizes`).
  cookiecutter and copier templates render in this same class, so the same
  bounds hold for them.
* Compiled code is cached by content hash through Jinja's own ``bytecode_cache``
  interface (:mod:`codeforge.templates.bytecode`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import BuiltinMethodType, CodeType, MethodType
from typing import Any

import jinja2
from jinja2.runtime import markup_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

from codeforge.errors import ResourceLimitError, SecurityError, TemplateError
from codeforge.settings import RenderLimits
from codeforge.templates.budget import (
    Budget,
    MeteredRange,
    check_format,
    check_operands,
    check_width,
)
from codeforge.templates.bytecode import CompiledCache, cache_key, versions_signature
from codeforge.templates.codegen import MeteredCodeGenerator
from codeforge.templates.filters import FILTERS
from codeforge.templates.precompile import compile_many
from codeforge.templates.render_errors import render_error
from codeforge.templates.sizes import (
    FILTER_ESTIMATES,
    METHOD_ESTIMATES,
    SEQUENCE,
    TEXT_OR_SEQUENCE,
    WORD,
    binop_bytes,
    concat_bytes,
    container_bytes,
    format_bytes,
    new_object_bytes,
    rendered_bytes,
    text_bytes,
)

__all__ = [
    "SYNTAX_OPTIONS",
    "CodeForgeEnvironment",
    "CompiledCache",
    "RootLoader",
    "cache_key",
    "compile_many",
    "render_error",
]

# The Jinja options that change how a template is parsed: the ones a foreign template
# may set (cookiecutter ``_jinja2_env_vars``, copier ``_envops``), and part of the key
# of compiled code. Written once, here.
SYNTAX_OPTIONS = (
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
)
_CODE_OPTIONS = (*SYNTAX_OPTIONS, "optimized", "autoescape", "finalize", "is_async")

# str methods and filters that allocate as much as their width argument asks for.
# isinstance tuples, built once: a ``str | int`` union in a call is built on every call.
_METHOD_OWNERS = (str, bytes, int)
_MUTABLE = (list, dict, set)
_METHODS = (MethodType, BuiltinMethodType)
_PLAIN = (str, int)
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = frozenset({"center", "indent"})
# Methods that grow the list, dict or set they belong to.
_GROWERS = frozenset({"append", "extend", "insert", "update", "setdefault", "add", "__setitem__"})
# Methods and filters that hand back something that already exists (not charged again).
_ACCESSORS = frozenset({"get", "pop", "popitem", "index", "count", "keys", "values", "items"})
_PASSING_FILTERS = frozenset(
    {"first", "last", "default", "d", "attr", "min", "max", "random", "mandatory", "ternary"}
)


class RootLoader(jinja2.BaseLoader):
    """Loads ``{% include %}``/``{% import %}`` targets from inside one folder only."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else None

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        if self.root is None:
            raise TemplateError(f"include of {template!r}: no template folder")
        parts = template.replace("\\", "/").split("/")
        if template.startswith("/") or any(p in ("..", "") for p in parts):
            raise SecurityError(f"include of {template!r} leaves the template folder")
        resolved = self.root.joinpath(*parts).resolve()
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
        # The template's own name as its file name: compiled code (and its cache key)
        # then does not depend on where the blueprint happens to be checked out.
        return source, template, lambda: resolved.stat().st_mtime == mtime


class _MeteredFilters(dict[str, Callable[..., Any]]):
    """The filter table: any filter put in it (now, by a dialect or a plugin) is metered."""

    def __init__(self, env: CodeForgeEnvironment, filters: Mapping[str, Callable[..., Any]]):
        super().__init__()
        self.env = env
        self.update(filters)

    def __setitem__(self, name: str, func: Callable[..., Any]) -> None:
        super().__setitem__(name, self.env.metered_filter(name, func))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, func in dict(*args, **kwargs).items():
            self[name] = func

    def setdefault(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        if name not in self:
            self[name] = func
        return self[name]


class CodeForgeEnvironment(SandboxedEnvironment):
    """Sandbox plus resource budgets and a compiled-code cache."""

    code_generator_class = MeteredCodeGenerator
    intercepted_binops = frozenset(["*", "**", "+", "-", "//", "%"])
    intercepted_unops = frozenset(["-"])

    def __init__(
        self, root: Path | None, limits: RenderLimits, cache: CompiledCache | None
    ) -> None:
        super().__init__(
            loader=RootLoader(root),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            auto_reload=True,  # a cached include is checked against its file (one stat)
            cache_size=0 if root is None else 400,
            bytecode_cache=cache,
            finalize=self._finalize,
        )
        self.limits = limits
        self.budget = Budget(limits)
        self.code_cache = cache
        self.filters = _MeteredFilters(self, {**self.filters, **FILTERS})
        self.globals["range"] = self._range
        self.globals["namespace"] = _metered_namespace(self)
        self.globals.pop("lipsum", None)
        self.globals.pop("cycler", None)
        self.globals.pop("joiner", None)

    def reset_budget(self) -> None:
        self.budget = Budget(self.limits)

    # -- budgets ---------------------------------------------------------------------

    def _range(self, *args: int) -> MeteredRange:
        rng = range(*args)
        if len(rng) > self.limits.max_range:
            raise ResourceLimitError(
                f"range() of {len(rng)} items; the limit is {self.limits.max_range}"
            )
        return MeteredRange(self.budget, rng)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        check_operands(self.limits, operator, left, right)
        budget = self.budget
        budget.tick()
        budget.charge(binop_bytes(operator, left, right, budget.remaining))
        return self.binop_table[operator](left, right)

    def call_unop(self, context: jinja2.runtime.Context, operator: str, arg: Any) -> Any:
        if isinstance(arg, int):
            self.budget.charge(new_object_bytes(arg))
        return self.unop_table[operator](arg)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, slice) and isinstance(obj, TEXT_OR_SEQUENCE):
            count = len(range(len(obj))[argument])
            wide = isinstance(obj, SEQUENCE) or not (isinstance(obj, bytes) or obj.isascii())
            self.budget.charge(count * (WORD if wide else 1))
        return super().getitem(obj, argument)

    def call(
        __self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        budget = __self.budget
        budget.tick()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and name in _PADDING_METHODS:
            check_width(__self.limits, args, kwargs)
        estimate = METHOD_ESTIMATES.get(name) if isinstance(owner, _METHOD_OWNERS) else None
        if estimate is not None:
            values = [owner, *args]
            budget.charge(estimate(values, kwargs, budget.remaining))
            return super().call(__context, __obj, *values[1:], **kwargs)
        if isinstance(owner, _MUTABLE):
            if name in _ACCESSORS:
                return super().call(__context, __obj, *args, **kwargs)
            if name in _GROWERS:
                before = owner.__sizeof__()
                budget.charge(sum(map(container_bytes, (*args, *kwargs.values()))))
                result = super().call(__context, __obj, *args, **kwargs)
                budget.charge(max(owner.__sizeof__() - before, 0))
                return result
        result = super().call(__context, __obj, *args, **kwargs)
        budget.charge(new_object_bytes(result))
        return result

    def wrap_str_format(self, value: Any) -> Any:
        # The sandbox hands templates a wrapper for str.format; check the widths it
        # would pad to, and charge what it would make, before it runs.
        if not isinstance(value, _METHODS) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None  # every attribute a template reads passes here: stay cheap
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return wrapper
        check_format(self.limits, owner)
        mapped = value.__name__ == "format_map"

        @functools.wraps(wrapper)
        def metered(*args: Any, **kwargs: Any) -> Any:
            given = (args[0],) if mapped and args else args
            self.budget.charge(format_bytes(owner, given, kwargs, self.budget.remaining))
            return wrapper(*args, **kwargs)

        return metered

    def metered_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` charging the meter: an estimate first where it can amplify, else its result."""
        if getattr(func, "codeforge_metered", False) or name in _PASSING_FILTERS:
            return func
        estimate = FILTER_ESTIMATES.get(name)
        skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # context, eval context or env
        widths = name in _WIDTH_FILTERS

        def metered(*args: Any, **kwargs: Any) -> Any:
            budget = self.budget
            if widths:
                check_width(self.limits, args[skip + 1 :], kwargs)
            if estimate is None:
                result = func(*args, **kwargs)
                budget.charge(new_object_bytes(result))
                return result
            values = list(args[skip:])
            budget.charge(estimate(values, kwargs, budget.remaining))
            return func(*args[:skip], *values, **kwargs)

        functools.update_wrapper(metered, func)  # keeps jinja_pass_arg
        metered.codeforge_metered = True  # type: ignore[attr-defined]
        return metered

    def _finalize(self, value: Any) -> Any:
        """``{{ value }}``: charge the text ``str()`` is about to make of a non-string.

        Also two references: a macro's or block's output list holds this value and
        the literal text beside it until it is joined (then ``concat`` charges the
        text), so only literal-only output goes uncounted, 8 bytes a loop step.
        """
        budget = self.budget
        if isinstance(value, _PLAIN):  # inline: this runs for every {{ }} written
            budget.memory += 2 * WORD + (
                0 if isinstance(value, str) else value.bit_length() // 3 + 2
            )
            if budget.memory > budget.limits.max_memory:
                budget.charge(0)  # raises, naming the limit
            return value
        size = rendered_bytes(value, budget.remaining)
        budget.charge((6 * size if self.autoescape else size) + 2 * WORD)
        return value

    def str_join(self, parts: Iterable[Any]) -> str:
        """The ``~`` operator, metered."""
        items = list(parts)
        self.budget.charge(concat_bytes(items, self.budget.remaining))
        return "".join(map(str, items))

    def markup_join(self, parts: Iterable[Any]) -> str:
        """The ``~`` operator with autoescaping, metered (escaping may grow text 6 times)."""
        items = list(parts)
        self.budget.charge(6 * concat_bytes(items, self.budget.remaining))
        return markup_join(items)

    def concat(self, parts: Iterable[str]) -> str:
        """Joins of macro, call-block, set-block and filter-block output, and ``render()``."""
        if not isinstance(parts, list):
            parts = self._collect(parts, None)
        self.budget.charge(_joined_bytes(parts))
        return "".join(parts)

    # -- rendering ---------------------------------------------------------------------

    @contextlib.contextmanager
    def data_limit(self) -> Iterator[None]:
        """While the files of a plan render: the operating system's cap on the data
        segment (single-threaded processes; see :mod:`codeforge.templates.budget`)."""
        budget = self.budget
        saved = budget.lower_data_limit()
        try:
            yield
        finally:
            budget.restore_data_limit(saved)

    def render_bytes(
        self, template: jinja2.Template, context: Mapping[str, Any], origin: str, *, crlf: bool
    ) -> bytes:
        """One file's text as UTF-8, streamed under the per-file cap and the memory meter.

        ``crlf``: write Windows line ends. The scratch copies (the joined text, its
        CRLF and UTF-8 forms) are charged while they exist; the bytes returned stay
        charged, since the plan keeps them for the rest of the render.
        """
        budget = self.budget
        start = budget.memory
        try:
            text = self._stream_text(template, context, origin)  # charged twice: text, UTF-8
            if crlf:
                budget.charge(2 * text_bytes(text))
                text = text.replace("\r\n", "\n").replace("\n", "\r\n")
                budget.charge(text_bytes(text))
            data = text.encode("utf-8")
        except (TemplateError, SecurityError) as exc:
            if exc.where is None:
                exc.where = origin
            raise
        except Exception as exc:
            raise render_error(exc, origin) from exc
        # The scratch copies are gone; the plan keeps the bytes.
        budget.release(budget.memory - start - len(data))
        return data

    def _stream_text(
        self, template: jinja2.Template, context: Mapping[str, Any], origin: str
    ) -> str:
        stream = template.root_render_func(template.new_context(dict(context)))
        chunks = self._collect(stream, origin)
        self.budget.charge(2 * _joined_bytes(chunks))
        return "".join(chunks)

    def _collect(self, stream: Iterable[str], origin: str | None) -> list[str]:
        """The chunks of a render, under the per-file cap and the memory meter.

        Hot path: a chunk costs an addition and a comparison. Below ``cap`` the
        chunks fit the budget whatever their width (4 bytes a character, plus the
        list's reference); past it, _stream_cap counts exactly and moves the cap.
        """
        chunks: list[str] = []
        append = chunks.append
        size = 0  # characters, plus a reference's bytes per chunk
        cap = min(self.limits.max_file_bytes, self.budget.remaining // 4)
        for chunk in stream:
            size += len(chunk) + WORD
            append(chunk)
            if size > cap:
                cap = self._stream_cap(chunks, origin)
        return chunks

    def _stream_cap(self, chunks: list[str], origin: str | None) -> int:
        """Check the stream so far exactly; the size up to which it may grow unchecked."""
        limit = self.limits.max_file_bytes
        chars = sum(map(len, chunks))
        if chars > limit:
            raise ResourceLimitError(
                f"the file renders to more than {limit} characters", where=origin
            )
        used = _joined_bytes(chunks)
        left = self.budget.remaining - used
        if left <= 0:
            self.budget.charge(used)  # raises, naming the limit
        return chars + WORD * len(chunks) + min(limit - chars, left // 4)

    # -- compiled code -----------------------------------------------------------------

    @property
    def code_signature(self) -> str:
        """Everything besides the template that changes compiled code: versions, the
        sandbox class, the code generator and every environment option."""
        signature: str | None = self.__dict__.get("_code_signature")
        if signature is None:
            parts = [
                versions_signature(),
                f"{type(self).__module__}.{type(self).__qualname__}",
                _option_text(self.code_generator_class),
                ",".join(sorted(self.intercepted_binops)),
                ",".join(sorted(self.intercepted_unops)),
                *(_option_text(getattr(self, option, None)) for option in _CODE_OPTIONS),
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
        """Compile ``source`` or take its code from the bytecode cache, keyed by content."""
        cache = self.bytecode_cache
        bucket = cache.get_bucket(self, name, name, source) if cache is not None else None
        if bucket is not None and bucket.code is not None:
            return bucket.code
        try:
            code: CodeType = self.compile(source, name=name, filename=name)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"syntax error: {exc.message}", where=f"{name}:{exc.lineno}"
            ) from exc
        if cache is not None and bucket is not None:
            bucket.code = code
            cache.set_bucket(bucket)
        return code

    def template_from_source(self, source: str, name: str) -> jinja2.Template:
        code = self.compile_cached(source, name)
        return self.template_class.from_code(self, code, self.make_globals(None), None)


def _joined_bytes(parts: list[str]) -> int:
    """What joining ``parts`` makes, and the list holding them."""
    width = 1 if all(map(str.isascii, parts)) else 4
    return width * sum(map(len, parts)) + WORD * len(parts)


def _metered_namespace(env: CodeForgeEnvironment) -> type[Namespace]:
    class MeteredNamespace(Namespace):
        """``namespace()``: a container assigned to an attribute is charged (loops retain it)."""

        def __setitem__(self, name: str, value: Any) -> None:
            env.budget.charge(container_bytes(value))
            super().__setitem__(name, value)

    return MeteredNamespace


def _option_text(value: Any) -> str:
    if callable(value):  # by name: an object's address differs from process to process
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return repr(value)
