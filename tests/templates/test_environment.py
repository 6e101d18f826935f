"""The environment: StrictUndefined errors with file and line, and the compiled-code cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.errors import TemplateError
from codeforge.settings import RenderLimits
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache

FILES = {
    "README.md": "# {{ project_name }}\n{% for i in range(3) %}{{ i }}{% endfor %}\n",
    "src/{{ project_name }}.py": "NAME = {{ project_name | to_json }}\n",
    "notes/{{ 'x' }}.txt": "{% if true %}yes{% endif %}\n",
}


def _spy_envs(engine: SDLCEngine, monkeypatch: pytest.MonkeyPatch) -> list[CodeForgeEnvironment]:
    """Every environment the engine's pool opens from now on."""
    made: list[CodeForgeEnvironment] = []
    pool = engine.parts.environments
    original = pool.open

    def open_(root: Path, cache_key: str, setup: object = None) -> CodeForgeEnvironment:
        env = original(root, cache_key, setup)  # type: ignore[arg-type]
        made.append(env)
        return env

    monkeypatch.setattr(pool, "open", open_)
    return made


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = CodeForgeEnvironment.compile

    def compile_(
        self: CodeForgeEnvironment, source: str, *args: object, **kwargs: object
    ) -> object:
        calls.append(source)
        return original(self, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CodeForgeEnvironment, "compile", compile_)
    return calls


def _packs(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "compiled").glob("*.pack"))


def test_second_run_uses_the_compiled_cache(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    codeforge_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bp = blueprint({}, FILES)
    compiles = _count_compiles(monkeypatch)
    engine.create_project(str(bp), "first", output_dir=out, git=False)
    assert compiles, "the first run compiles its templates"
    packs = _packs(codeforge_dirs["cache"])
    assert len(packs) == 1 and packs[0].read_bytes().startswith(CompiledCache.MAGIC)

    compiles.clear()
    envs = _spy_envs(engine, monkeypatch)
    result = engine.create_project(str(bp), "first", output_dir=out / "again", git=False)
    assert compiles == []
    assert sum(e.code_cache.hits for e in envs if e.code_cache) > 0
    assert all(e.code_cache.misses == 0 for e in envs if e.code_cache)
    assert (result.destination / "README.md").read_text() == "# first\n012\n"


def test_corrupted_pack_is_a_miss_not_an_error(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    codeforge_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bp = blueprint({}, FILES)
    engine.create_project(str(bp), "one", output_dir=out, git=False)
    (pack,) = _packs(codeforge_dirs["cache"])
    damages = (b"garbage", CompiledCache.MAGIC + b"\x00\x01broken", b"")
    for index, damage in enumerate(damages):
        pack.write_bytes(damage)
        with pytest.MonkeyPatch.context() as mp:
            compiles = _count_compiles(mp)
            result = engine.create_project(str(bp), "one", output_dir=out / str(index), git=False)
        assert (result.destination / "src/one.py").read_text() == 'NAME = "one"\n'
        assert compiles, "a damaged pack means compiling again"
        assert pack.read_bytes().startswith(CompiledCache.MAGIC), "and the pack is rewritten"


def test_changing_a_template_changes_the_output(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"a.txt": "one {{ project_name }}\n"})
    first = engine.create_project(str(bp), "p", output_dir=out / "1", git=False)
    assert (first.destination / "a.txt").read_text() == "one p\n"
    (bp / "template" / "a.txt").write_text("two {{ project_name }}\n")
    second = engine.create_project(str(bp), "p", output_dir=out / "2", git=False)
    assert (second.destination / "a.txt").read_text() == "two p\n"


def test_unwritable_cache_folder_does_not_fail_a_run(
    blueprint: Callable[..., Path], out: Path, codeforge_dirs: dict[str, Path]
) -> None:
    codeforge_dirs["cache"].parent.mkdir(parents=True, exist_ok=True)
    codeforge_dirs["cache"].write_text("a file where the cache folder should be")
    engine = local_engine()
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert (result.destination / "README.md").exists()


def test_cache_round_trip_and_merge(tmp_path: Path) -> None:
    path = tmp_path / "c.pack"
    cache = CompiledCache(path)
    env = CodeForgeEnvironment(None, RenderLimits(), cache)
    env.template_from_source("{{ a }}", "x")
    env.template_from_source("{{ b }}", "y")
    assert cache.misses == 2 and cache.hits == 0
    cache.save()
    again = CompiledCache(path)
    assert len(again.index) == 2
    env2 = CodeForgeEnvironment(None, RenderLimits(), again)
    assert env2.template_from_source("{{ a }}", "x").render(a=5) == "5"
    assert again.hits == 1
    # A new entry is merged with the old ones into a new pack.
    assert env2.template_from_source("{{ c }}", "z").render(c=1) == "1"
    again.save()
    merged = CompiledCache(path)
    assert len(merged.index) == 3
    env3 = CodeForgeEnvironment(None, RenderLimits(), merged)
    for source, name, value in (
        ("{{ a }}", "x", "1"),
        ("{{ b }}", "y", "2"),
        ("{{ c }}", "z", "3"),
    ):
        assert env3.template_from_source(source, name).render(a=1, b=2, c=3) == value
    assert merged.hits == 3 and merged.misses == 0


def test_same_source_under_two_names_keeps_each_name(tmp_path: Path) -> None:
    """The file name is compiled into the code, so it is part of the cache key."""
    cache = CompiledCache(tmp_path / "c.pack")
    env = CodeForgeEnvironment(None, RenderLimits(), cache)
    first = env.compile_cached("{{ x }}", "a.txt")
    second = env.compile_cached("{{ x }}", "b.txt")
    assert (first.co_filename, second.co_filename) == ("a.txt", "b.txt")


def test_undefined_variable_names_file_and_line(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"docs/guide.md": "line one\nline two\n{{ misspelt }}\n"})
    with pytest.raises(TemplateError) as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where == "docs/guide.md:3"
    assert "misspelt" in info.value.message
    assert list(out.iterdir()) == []


def test_syntax_error_names_file_and_line(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"a.txt": "ok\n{% if %}\n"})
    with pytest.raises(TemplateError, match="syntax error") as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where == "a.txt:2"
    assert list(out.iterdir()) == []


def _many(count: int) -> dict[str, str]:
    return {
        f"pkg/m{i:03}.py": f"# {i}\nNAME = {{{{ project_name | to_json }}}}\nN = {{{{ {i} * 2 }}}}\n"
        for i in range(count)
    }


def test_cold_batch_compile_on_two_cores_gives_the_same_bytes(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, codeforge_dirs: dict[str, Path]
) -> None:
    """A cold run of over 64 templates compiles half in a forked child; output is unaffected."""
    bp = blueprint({}, _many(150))
    cold = engine.create_project(str(bp), "p", output_dir=out / "cold", git=False)
    for i in (0, 74, 75, 149):
        text = (cold.destination / f"pkg/m{i:03}.py").read_text()
        assert text == f'# {i}\nNAME = "p"\nN = {i * 2}\n'
    (pack,) = _packs(codeforge_dirs["cache"])
    assert len(CompiledCache(pack).index) >= 150  # both halves reached the cache
    with pytest.MonkeyPatch.context() as mp:
        compiles = _count_compiles(mp)
        warm = engine.create_project(str(bp), "p", output_dir=out / "warm", git=False)
    assert compiles == []
    for i in range(150):
        rel = f"pkg/m{i:03}.py"
        assert (warm.destination / rel).read_bytes() == (cold.destination / rel).read_bytes()


# Run in a fresh process: the fork is only taken in a single-threaded one, and a test
# process may hold threads other tests left behind.
_COUNT_COMPILING_PIDS = """
import os, sys
from pathlib import Path
from codeforge.settings import load_settings
from codeforge.app.context import local_engine
from codeforge.templates.environment import CodeForgeEnvironment

original = CodeForgeEnvironment.compile

def compile_(self, source, *args, **kwargs):
    with open(sys.argv[3], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return original(self, source, *args, **kwargs)

CodeForgeEnvironment.compile = compile_
local_engine(load_settings()).create_project(sys.argv[1], "p", output_dir=Path(sys.argv[2]), git=False)
print(os.getpid())
"""


def test_the_forked_child_compiles_half_of_a_cold_batch(
    blueprint: Callable[..., Path], out: Path
) -> None:
    import os
    import subprocess
    import sys

    from ci_support import skip_unless_ci

    if (os.cpu_count() or 1) < 2:
        skip_unless_ci("one CPU: the batch compile does not fork")
    log = out / "compiles.log"
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_COMPILING_PIDS, str(blueprint({}, _many(150))),
         str(out / "made"), str(log)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    parent = proc.stdout.strip()
    counts: dict[str, int] = {}
    for pid in log.read_text().split():
        counts[pid] = counts.get(pid, 0) + 1
    # The child (another pid) compiled the second half, the parent the first.
    assert counts.pop(parent) == 75, counts
    assert list(counts.values()) == [75], counts
    assert (out / "made" / "p" / "pkg" / "m149.py").read_text() == '# 149\nNAME = "p"\nN = 298\n'


def test_syntax_error_in_the_forked_half_is_still_reported(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    files = _many(100)
    files["pkg/m099.py"] = "ok\n{% if %}\n"  # last file: compiled by the child
    with pytest.raises(TemplateError) as info:
        engine.create_project(str(blueprint({}, files)), "p", output_dir=out, git=False)
    assert info.value.where == "pkg/m099.py:2"
    assert list(out.iterdir()) == []


def test_includes_are_cached_through_jinjas_bytecode_cache(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Includes and imports load through Jinja's loader path and the same pack."""
    files = {
        "_partials/head.txt": "head {{ project_name }}\n",
        "_partials/m.txt": "{% macro hi(n) %}hi {{ n }}{% endmacro %}",
        "a.txt": "{% include '_partials/head.txt' %}{% from '_partials/m.txt' import hi %}{{ hi(1) }}\n",
    }
    bp = blueprint({}, files)
    engine.create_project(str(bp), "p", output_dir=out / "1", git=False)
    envs = _spy_envs(engine, monkeypatch)
    compiles = _count_compiles(monkeypatch)
    result = engine.create_project(str(bp), "p", output_dir=out / "2", git=False)
    assert (result.destination / "a.txt").read_text() == "head p\nhi 1\n"
    assert compiles == []  # the included and imported templates came from the pack too
    (env,) = envs
    assert env.bytecode_cache is env.code_cache and isinstance(env.code_cache, CompiledCache)
    assert env.code_cache.hits >= 3
