"""Surface 10: time, size, iteration, recursion and file-count budgets fail fast and clearly."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.errors import ResourceLimitError, TemplateError
from codeforge.settings import RenderLimits, load_settings

BOMBS = {
    "huge-string": ("{{ 'x' * 10**9 }}", "repetition would make"),
    "huge-list": ("{{ [0] * 10**9 }}", "repetition would make"),
    "huge-power": ("{{ 9 ** 999999 }}", "too large"),
    "power-tower": ("{{ (9 ** 9) ** (9 ** 9) }}", "too large"),
    "huge-concat": ("{% set a = 'x' * 10**7 %}{{ a + a }}", "concatenation beyond"),
    "huge-range": ("{% for i in range(10**9) %}{% endfor %}", "range() of 1000000000 items"),
    "nested-ranges": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    "recursive-macro": (
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "recursion too deep",
    ),
    "big-output": (
        "{% set a = 'x' * 10**7 %}{% for i in range(20) %}{{ a }}{% endfor %}",
        "renders to more than",
    ),
    "center": ("{{ 'x' | center(10**9) }}", "width"),
    "ljust": ("{{ 'x'.ljust(10**9) }}", "width"),
    "percent-format": ("{{ '%1000000000s' % 'x' }}", "width"),
    "str-format": ("{{ '{:>1000000000}'.format('x') }}", "width"),
}


def small_engine(**limits: float) -> SDLCEngine:
    settings = load_settings()
    return local_engine(dataclasses.replace(settings, limits=RenderLimits(**limits)))  # type: ignore[arg-type]


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_template_bombs_fail_fast_with_nothing_written(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, case: str
) -> None:
    source, fragment = BOMBS[case]
    bp = blueprint({}, {"a.txt": "fine", "bomb.txt": source})
    started = time.monotonic()
    with pytest.raises(
        TemplateError, match=fragment.replace("(", r"\(").replace(")", r"\)")
    ) as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert time.monotonic() - started < 5
    assert isinstance(info.value, ResourceLimitError)
    assert info.value.where is not None and info.value.where.startswith("bomb.txt")
    assert list(out.iterdir()) == []


def test_bomb_in_a_default_is_bounded_too(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint({"variables": {"v": "{{ 'x' * 10**9 }}"}})
    with pytest.raises(ResourceLimitError) as info:
        engine.render_plan(str(bp), "p")
    assert info.value.where == "variables.v.default"


def test_render_timeout(blueprint: Callable[..., Path], out: Path) -> None:
    engine = small_engine(timeout=0.3, max_iterations=10**12)
    bp = blueprint(
        {},
        {
            "slow.txt": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        },
    )
    started = time.monotonic()
    with pytest.raises(ResourceLimitError, match=r"longer than 0\.3 s"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert time.monotonic() - started < 3
    assert list(out.iterdir()) == []


def test_million_item_loop_hits_the_file_cap(blueprint: Callable[..., Path], out: Path) -> None:
    engine = small_engine(max_files=100)
    bp = blueprint(
        {
            "variables": {"items": {"type": "list", "default": []}},
            "files": {"loops": [{"path": "f/{{ i }}.txt", "over": "items", "as": "i"}]},
        },
        {"f/{{ i }}.txt": "{{ i }}"},
    )
    started = time.monotonic()
    with pytest.raises(ResourceLimitError, match="more than 100 files"):
        engine.create_project(
            str(bp), "p", output_dir=out, data={"items": list(range(1_000_000))}, git=False
        )
    assert time.monotonic() - started < 5
    assert list(out.iterdir()) == []


def test_byte_cap(blueprint: Callable[..., Path], out: Path) -> None:
    engine = small_engine(max_bytes=1000)
    bp = blueprint({}, {"a.txt": "x" * 600, "b.txt": "y" * 600})
    with pytest.raises(ResourceLimitError, match="exceed 1000 bytes"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


def test_template_file_count_cap(blueprint: Callable[..., Path], out: Path) -> None:
    engine = small_engine(max_files=5)
    bp = blueprint({}, {f"f{i}.txt": "x" for i in range(10)})
    with pytest.raises(ResourceLimitError, match="more than 5 files"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)
