"""What one render may spend: time, loop iterations and memory (threat model, surface 10).

Memory is bounded two ways, so that the bound holds by construction:

* **The meter.** Every way a sandboxed template can make something big goes
  through the environment: operators (``call_binop``/``call_unop``, and ``~``
  through the generated code), calls (``call``; ``str.format``), filters (each
  is wrapped when registered), slices (``getitem``), ``{{ output }}``
  (``finalize``), the joins of macro, block and include output (``concat``) and
  the file's own output stream. Each charges an upper bound of what it is about
  to allocate *before* allocating it; the charges add up over the whole render
  and are never given back except for the per-file scratch copies, so a
  template cannot get past ``render.max_memory`` by building in steps, in loops,
  in a ``namespace`` or in many files. This holds in any process, threads or not.
* **The operating system.** While a file renders in a single-threaded process
  (the CLI, a job's work process), the data segment is capped at what it was
  when the render started plus the remaining budget plus :data:`OVERHEAD`
  (``RLIMIT_DATA``; lowering a soft limit needs no privilege, and it is put
  back after the file). A path the meter misses then fails with ``MemoryError``,
  reported as the same limit, instead of growing. A threaded server cannot use
  a process-wide cap without failing its other requests, so there the meter
  alone bounds a render.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from codeforge.errors import ResourceLimitError
from codeforge.settings import RenderLimits

try:
    import resource
except ImportError:  # pragma: no cover - Windows: the meter alone
    resource = None  # type: ignore[assignment]

OVERHEAD = 48 * 1024 * 1024  # what a render may need beyond its budget (code, caches)
_MIB = 1024 * 1024


def memory_error(limit: int, where: str | None = None) -> ResourceLimitError:
    """The error for a render that would pass ``render.max_memory``."""
    return ResourceLimitError(
        f"the render would use more than {limit / _MIB:g} MiB of memory "
        f"(the limit render.max_memory is {limit} bytes)",
        where=where,
        hint="simplify the template, or raise render.max_memory in the config "
        "if you trust this blueprint",
    )


class Budget:
    """Time, work and memory left for one render; shared by every template in it."""

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout
        self.iterations = 0
        self.memory = 0  # bytes charged so far
        self._data_cap: int | None = -1  # -1: not measured yet
        self._saved: tuple[int, int] | None = None

    # -- time and iterations -----------------------------------------------------------

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

    # -- memory --------------------------------------------------------------------------

    def charge(self, size: int) -> None:
        """Count ``size`` bytes about to be allocated; refuse past ``render.max_memory``."""
        self.memory += size
        if self.memory > self.limits.max_memory:
            raise memory_error(self.limits.max_memory)

    @property
    def remaining(self) -> int:
        """Bytes left; estimates stop counting just past this."""
        return self.limits.max_memory - self.memory + 1

    def release(self, size: int) -> None:
        """Give back scratch memory the render has certainly let go of."""
        self.memory -= size

    def lower_data_limit(self) -> tuple[int, int] | None:
        """Cap the data segment while a file renders (single-threaded processes only).

        Returns the limits to put back with :meth:`restore_data_limit`, or None.
        """
        if self._data_cap == -1:
            # Measured once per render, at its first file: a render's own growth is
            # metered, the rest (compiled code, caches) fits in OVERHEAD.
            self._data_cap = _data_cap(self.limits.max_memory - self.memory)
            self._saved = resource.getrlimit(resource.RLIMIT_DATA) if self._data_cap else None
        if self._data_cap is None or self._saved is None:
            return None
        resource.setrlimit(resource.RLIMIT_DATA, (self._data_cap, self._saved[1]))
        return self._saved

    @staticmethod
    def restore_data_limit(saved: tuple[int, int] | None) -> None:
        if saved is not None:
            resource.setrlimit(resource.RLIMIT_DATA, saved)


def _data_cap(budget: int) -> int | None:
    if resource is None or threading.active_count() != 1:
        return None
    try:
        with open("/proc/self/statm", "rb") as handle:
            fields = handle.read().split()
        data = int(fields[5]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    except (OSError, IndexError, ValueError):
        return None
    cap = data + budget + OVERHEAD
    for limit in (soft, hard):
        if limit != resource.RLIM_INFINITY and limit < cap:
            return None  # already capped tighter by whoever started us
    return cap


# -- per-object limits (render.max_string), with messages naming what was asked ------------

_FORMAT_WIDTH_RE = re.compile(r"%[-+ #0]*(\d+)|\.(\d+)|\{[^{}]*?:[^{}]*?(\d+)")
_MAX_INT_BITS = 1 << 20
# Tuples, not ``int | float``: a union in a call is built anew on every operator.
_NUMBER = (int, float)
_REPEATABLE = (str, list, tuple)


def check_width(limits: RenderLimits, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """Refuse a padding width (``center``, ``ljust``...) past ``max_string``."""
    limit = limits.max_string
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            raise ResourceLimitError(f"a width of {value} is past the limit of {limit}")


def check_format(limits: RenderLimits, text: str) -> None:
    """Refuse a ``%`` or ``format`` field width or precision past ``max_string``."""
    for match in _FORMAT_WIDTH_RE.finditer(text):
        number = next((g for g in match.groups() if g is not None), "")
        if number and int(number) > limits.max_string:
            raise ResourceLimitError(f"a format width of {number} is past the limit")


def check_operands(limits: RenderLimits, operator: str, left: Any, right: Any) -> None:
    """The per-object limits of an operator (``max_string``, integer size)."""
    limit = limits.max_string
    if operator in ("*", "**") and isinstance(left, int) and isinstance(right, int):
        # Huge integers cost time before they cost memory (multiplying is superlinear).
        bits = (
            (left.bit_length() * right if abs(left) > 1 else 0)
            if operator == "**"
            else left.bit_length() + right.bit_length()
        )
        if bits > _MAX_INT_BITS:
            raise ResourceLimitError(
                f"{left.bit_length()}-bit {operator} {right.bit_length()}-bit: "
                f"an integer of more than {_MAX_INT_BITS} bits is too large"
            )
    if operator == "**":
        if (
            isinstance(right, _NUMBER)
            and isinstance(left, _NUMBER)
            and abs(right) > 64
            and abs(left) > 1
        ):
            raise ResourceLimitError(f"power {left!r} ** {right!r} is too large")
    elif operator == "*":
        seq, times = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(seq, _REPEATABLE) and isinstance(times, int) and len(seq) * times > limit:
            raise ResourceLimitError(
                f"repetition would make {len(seq) * times} items; the limit is {limit}"
            )
    elif operator == "%" and isinstance(left, str):
        check_format(limits, left)
    elif (
        operator == "+"
        and isinstance(left, _REPEATABLE)
        and isinstance(right, _REPEATABLE)
        and len(left) + len(right) > limit
    ):
        raise ResourceLimitError(f"concatenation beyond {limit} items")


class MeteredRange:
    """``range()`` for templates: each step ticks the budget's iteration count."""

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
        value = self._range[index]
        # A slice of a range is a range: it stays metered.
        return MeteredRange(self._budget, value) if isinstance(value, range) else value
