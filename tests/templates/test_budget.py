"""The render memory budget (issue 11 §1): every amplification path is refused, RSS stays bounded."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.errors import ResourceLimitError
from codeforge.settings import RenderLimits, load_settings

# The console script of the environment running the tests (CI has no venv on PATH).
CODEFORGE = str(Path(sys.executable).with_name("codeforge"))

MIB = 1024 * 1024
BUDGET = 32 * MIB
_BIG = "{% set big = 'x' * 1000000 %}"
_KEEP = "{% set ns = namespace(keep=[]) %}"
_LOOP = _BIG + _KEEP + "{% for i in range(400) %}{% set _ = ns.keep.append(EXPR) %}{% endfor %}"

# Each builds far more than the budget, in a way the per-object limits allow.
CORPUS: dict[str, str] = {
    # The two from the issue.
    "issue-join": "{{ (['x' * 1000000] * 300) | join | length }}",
    "issue-namespace-doubling": (
        "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(8) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    # Operators.
    "tilde": _LOOP.replace("EXPR", "big ~ i"),
    "plus": _LOOP.replace("EXPR", "big + 'y'"),
    "times": _LOOP.replace("EXPR", "'y' * 1000000"),
    "percent": _BIG + "{{ ('%s' * 300) % ((big,) * 300) }}",
    # Filters.
    "join": _BIG + "{{ ([big] * 300) | join(',') }}",
    "format": _BIG + "{{ ('%s' * 300) | format(*([big] * 300)) }}",
    "replace": _BIG + "{{ big | replace('x', 'y' * 100) }}",
    "center": _LOOP.replace("EXPR", "'x' | center(1000000 + i)"),
    "indent": "{{ ('\n' * 1000000) | indent(200) }}",
    "wordwrap": "{{ ('x ' * 3000000) | wordwrap(1) }}",
    "tojson": _BIG + "{{ ([big] * 300) | tojson }}",
    "urlencode": _BIG + "{{ ([big] * 300) | urlencode }}",
    # String methods.
    "str-join": _BIG + "{{ ''.join([big] * 300) }}",
    "str-replace": _BIG + "{{ big.replace('x', 'y' * 100) }}",
    "str-format": _BIG + "{{ ('{0}' * 300).format(big) }}",
    "str-ljust": _LOOP.replace("EXPR", "'x'.ljust(1000000 + i)"),
    "str-split": "{{ ('x ' * 4000000).split() | length }}",
    "str-upper": _LOOP.replace("EXPR", "big.upper()"),
    "slice": _LOOP.replace("EXPR", "big[i:]"),
    # Containers growing in loops, and namespace accumulation.
    "list-growth": (
        "{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append([i, i, i, i]) %}"
        "{% endfor %}{% for j in range(20) %}{% set _ = l.extend(l[:100000]) %}{% endfor %}"
    ),
    "dict-growth": _BIG
    + "{% set d = {} %}{% for i in range(400) %}{% set _ = d.update({i: big ~ i}) %}{% endfor %}",
    "namespace-list": _BIG
    + "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
    + "{% set ns.l = ns.l + [big] * 1000 %}{% endfor %}",
    "stringified-list": _BIG + "{{ [big] * 300 }}",
    # Output that is joined in memory: macros, blocks, includes.
    "macro-output": (
        "{% macro m() %}{% for i in range(100) %}"
        + "z" * 10000
        + "{% endfor %}{% endmacro %}"
        + _KEEP
        + "{% for i in range(100) %}{% set _ = ns.keep.append(m()) %}{% endfor %}"
    ),
    "set-block": (
        _KEEP
        + "{% for i in range(100) %}{% set b %}{% for j in range(100) %}"
        + "z" * 10000
        + "{% endfor %}{% endset %}{% set _ = ns.keep.append(b) %}{% endfor %}"
    ),
    "include-in-macro": (
        "{% macro m() %}{% for i in range(100) %}{% include '_big.txt' %}{% endfor %}"
        "{% endmacro %}" + _KEEP + "{% for i in range(100) %}{% set _ = ns.keep.append(m()) %}"
        "{% endfor %}"
    ),
    "macro-buffer": (
        "{% set c = 'a' %}{% macro m() %}{% for i in range(100000) %}"
        + "{{ c }}" * 100
        + "{% endfor %}{% endmacro %}{{ m() | length }}"
    ),
    "integer-growth": "{% set ns = namespace(n=7) %}{% for i in range(40) %}"
    "{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "to-bytes": "{{ (1).to_bytes(1000000000, 'big') | length }}",
}
FILES = {"_big.txt": "z" * 10000}


def small_engine(budget: int = BUDGET) -> SDLCEngine:
    limits = RenderLimits(max_memory=budget, max_iterations=10**8)
    return local_engine(dataclasses.replace(load_settings(), limits=limits))


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_amplification_is_refused_naming_the_limit(
    blueprint: Callable[..., Path], out: Path, case: str
) -> None:
    bp = blueprint({}, {**FILES, "a.txt": "fine", "bomb.txt": CORPUS[case]})
    with pytest.raises(ResourceLimitError) as info:
        small_engine().create_project(str(bp), "p", output_dir=out, git=False)
    error = info.value
    assert "render.max_memory" in error.message or "bits is too large" in error.message
    assert error.where is not None and error.where.startswith("bomb.txt")
    assert (error.exit_code, error.http_status) == (5, 422)
    assert list(out.iterdir()) == []


def test_the_same_bounds_hold_for_a_copier_template(tmp_path: Path, out: Path) -> None:
    template = tmp_path / "cp"
    (template / "{{ project_name }}").mkdir(parents=True)
    (template / "copier.yml").write_text("project_name:\n  type: str\n  default: demo\n")
    (template / "{{ project_name }}" / "bomb.txt.jinja").write_text(CORPUS["issue-join"])
    with pytest.raises(ResourceLimitError, match=r"render\.max_memory"):
        small_engine().create_project(str(template), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


def test_the_same_bounds_hold_for_a_cookiecutter_template(tmp_path: Path, out: Path) -> None:
    template = tmp_path / "cc"
    (template / "{{cookiecutter.project_name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"project_name": "demo"}')
    bomb = "{% set big = 'x' * 1000000 %}{{ ([big] * 300) | jsonify }}"
    (template / "{{cookiecutter.project_name}}" / "bomb.txt").write_text(bomb)
    with pytest.raises(ResourceLimitError, match=r"render\.max_memory"):
        small_engine().create_project(str(template), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


def test_the_budget_is_a_setting(tmp_path: Path, codeforge_dirs: dict[str, Path]) -> None:
    codeforge_dirs["config"].mkdir(parents=True, exist_ok=True)
    (codeforge_dirs["config"] / "config.toml").write_text("[render]\nmax_memory = 12345678\n")
    assert load_settings().limits.max_memory == 12345678
    assert RenderLimits().max_memory == 256 * MIB


def test_normal_templates_spend_little(blueprint: Callable[..., Path], out: Path) -> None:
    """Ordinary work fits a small budget: output and small intermediates only."""
    source = (
        "{% set ns = namespace(items=[]) %}{% for i in range(2000) %}"
        "{% set ns.items = ns.items + [i ~ '-' ~ (i * 3)] %}{% endfor %}"
        "{{ ns.items | join(', ') | wordwrap(60) }}\n{{ {'a': ns.items[:3]} | tojson }}\n"
        "{{ '%-10s|' % 'x' }}{{ 'x'.center(12) }}{{ project_name | upper | replace('P', 'Q') }}\n"
    )
    bp = blueprint({}, {"a.txt": source})
    result = small_engine(64 * MIB).create_project(str(bp), "p", output_dir=out, git=False)
    text = (result.destination / "a.txt").read_text()
    assert text.startswith("0-0, 1-3, 2-6")
    assert '{"a": ["0-0", "1-3", "2-6"]}' in text and text.endswith("x         |     x      Q\n")


# -- the real console script: exit 5 and the limit named, with the default budget ----------


@pytest.mark.parametrize("case", ["issue-join", "issue-namespace-doubling", "tojson", "str-join"])
def test_the_cli_exits_5_naming_the_limit(
    blueprint: Callable[..., Path], tmp_path: Path, case: str
) -> None:
    bp = blueprint({}, {"bomb.txt": CORPUS[case].replace("300", "3000")})
    dest = tmp_path / "dest"
    run = subprocess.run(
        [CODEFORGE, "init", "p", "-t", str(bp), "-o", str(dest), "--defaults", "--no-git"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert run.returncode == 5, run.stderr
    assert "render.max_memory" in run.stderr and "bomb.txt" in run.stderr
    assert not (dest / "p").exists()


# -- peak RSS: a fresh process renders the worst cases ---------------------------------------

_PEAK = """
import json, sys, threading, dataclasses
from pathlib import Path
from codeforge.app.context import local_engine
from codeforge.errors import ResourceLimitError
from codeforge.settings import RenderLimits, load_settings
root, out, budget, threaded = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
if threaded:  # as in a server: a second thread turns the operating-system cap off
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
limits = RenderLimits(max_memory=budget, max_iterations=10**8)
engine = local_engine(dataclasses.replace(load_settings(), limits=limits))
refused = {}
for case in json.loads(sys.argv[5]):
    try:
        engine.create_project(f"{root}/{case}", "p", output_dir=Path(out) / case, git=False)
        refused[case] = "rendered"
    except ResourceLimitError as exc:
        refused[case] = exc.message
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps({"peak": peak, "refused": refused}))
"""


def _bomb_blueprint(root: Path, case: str) -> None:
    (root / "template").mkdir(parents=True)
    (root / "blueprint.yaml").write_text(f"name: {case}\nversion: 1.0.0\n")
    for name, text in {**FILES, "bomb.txt": CORPUS[case]}.items():
        (root / "template" / name).write_text(text)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize("threaded", [False, True], ids=["single-threaded", "threaded"])
def test_peak_rss_stays_under_the_budget_plus_64_mib(tmp_path: Path, threaded: bool) -> None:
    budget = BUDGET
    for case in CORPUS:
        _bomb_blueprint(tmp_path / "bps" / case, case)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_PEAK),
            str(tmp_path / "bps"),
            str(tmp_path / "out"),
            str(budget),
            "1" if threaded else "0",
            json.dumps(sorted(CORPUS)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [case for case, message in report["refused"].items() if message == "rendered"] == []
    print(f"peak {report['peak'] / MIB:.1f} MiB")
    assert report["peak"] < budget + 64 * MIB, f"peak RSS {report['peak'] / MIB:.0f} MiB"
